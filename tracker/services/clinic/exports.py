"""CSV exports of check-ins for staff: one patient's, or the whole clinic's, one row per check-in of every
instrument (PHQ-9, GAD-7), named in its own column.

Rows are read in batches and written as they come, so a clinic's years of check-ins never sit in memory.
Every cell that a spreadsheet would read as a formula is neutralised (OWASP, "CSV injection").
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from tracker.extensions import db
from tracker.instruments import INSTRUMENTS
from tracker.local_time import in_zone, zone_of
from tracker.models import CheckIn, Patient, User
from tracker.services import scope
from tracker.services.audit import trail as audit
from tracker.services.checkins.queries import OLDEST_FIRST

# As many item columns as the longest instrument has items; a shorter one leaves the rest empty.
ITEM_COLUMNS = [f"item{n}" for n in range(1, max(len(i.items) for i in INSTRUMENTS.values()) + 1)]
COLUMNS = [
    "patient_id",
    "display_name",
    "taken_at",
    "source",
    "instrument",
    *ITEM_COLUMNS,
    "difficulty",
    "total",
    "severity",
    "diagnosis",
    "item9_flag",
]
# A spreadsheet runs a cell starting with one of these as a formula; tab and CR start one in some too.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
BATCH = 500
# Excel reads a CSV as UTF-8 (names with accents) only when it starts with a byte-order mark.
BOM = "\ufeff"


def neutralise(value: Any) -> str:
    """The cell as text, with a leading apostrophe when it would otherwise start a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _query(staff: User, patient: Patient | None) -> sa.Select[Any]:
    # Every instrument's check-ins: the page says the export has them all.
    query = sa.select(
        Patient.id,
        Patient.display_name,
        Patient.timezone,
        CheckIn.taken_at,
        CheckIn.source,
        CheckIn.instrument,
        CheckIn.answers,
        CheckIn.difficulty,
        CheckIn.total,
        CheckIn.severity,
        CheckIn.diagnosis,
        CheckIn.item9_positive,
    ).join(CheckIn, CheckIn.patient_id == Patient.id)
    query = scope.scoped_to_clinic(staff, query, Patient.clinic_id)
    if patient is not None:
        query = query.where(Patient.id == patient.id)
    return query


def count(staff: User, patient: Patient | None = None) -> int:
    """How many check-ins an export will hold (the audit log records it before the rows are sent)."""
    counted = _query(staff, patient).with_only_columns(sa.func.count(CheckIn.id)).order_by(None)
    return db.session.scalar(counted) or 0


def row_of(row: sa.Row[Any]) -> list[str]:
    """One check-in as the CSV row of `COLUMNS`; taken_at in the patient's time zone, with its offset.

    The instrument's title names it ("GAD-7"); items it does not have are empty, and so is the item-9 flag of an
    instrument without a safety item (CLINICAL.md §3 reads PHQ-9 item 9).
    """
    taken_at = in_zone(row.taken_at, zone_of(row.timezone)).isoformat(timespec="seconds")
    instrument = INSTRUMENTS.get(row.instrument)
    answers = list(row.answers or [])[: len(ITEM_COLUMNS)]
    items = [*answers, *[None] * (len(ITEM_COLUMNS) - len(answers))]
    flagged = instrument is None or instrument.safety_item is not None
    flag = ("yes" if row.item9_positive else "no") if flagged else None
    values: list[Any] = [
        row.id,
        row.display_name,
        taken_at,
        row.source,
        instrument.title if instrument is not None else row.instrument,
        *items,
        row.difficulty,
        row.total,
        row.severity,
        row.diagnosis,
        flag,
    ]
    return [neutralise(value) for value in values]


def csv_lines(columns: list[str], rows: Iterable[list[str]]) -> Iterator[str]:
    """CSV text (RFC 4180: CRLF, quotes where needed), one chunk per row, the header of `columns` first."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns)
    yield BOM + buffer.getvalue()
    for row in rows:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(row)
        yield buffer.getvalue()


def checkin_csv(staff: User, patient: Patient | None = None) -> Iterator[str]:
    """The check-ins of one patient of the staff member's clinic, or of all its patients, as CSV chunks.

    Oldest first per patient, patients by name. The query is built (and scoped) now but runs only when the
    first chunk is asked for: a streamed response is sent after the view's own session has closed.
    """
    query = _query(staff, patient).order_by(Patient.display_name, Patient.id, *OLDEST_FIRST)
    return _stream(query.execution_options(yield_per=BATCH))


@dataclass(frozen=True)
class CsvExport:
    """An export about to be sent: whose check-ins (None: the whole clinic's), how many, and the CSV chunks."""

    patient: Patient | None
    count: int
    chunks: Iterator[str]


def export_for_staff(staff: User, patient_id: str | uuid.UUID | None = None) -> CsvExport:
    """One patient's check-ins (NotFound for another clinic's patient) or, without an id, the whole clinic's.

    The export is written to the audit log (export.checkins_csv) with its count before any row is sent.
    """
    patient = scope.get_patient_for_staff(staff, patient_id) if patient_id is not None else None
    rows = count(staff, patient)
    detail = {"format": "csv", "count": rows}
    if patient is not None:
        audit.record(
            staff, "export.checkins_csv", patient=patient, target_type="patient", target_id=patient.id, detail=detail
        )
    else:
        audit.record(staff, "export.checkins_csv", target_type="clinic", target_id=staff.clinic_id, detail=detail)
    return CsvExport(patient, rows, checkin_csv(staff, patient))


def _stream(query: sa.Select[Any]) -> Iterator[str]:
    result = db.session.execute(query)
    try:
        yield from csv_lines(COLUMNS, (row_of(row) for row in result))
    finally:
        result.close()  # an abandoned download must not leave PostgreSQL's server-side cursor open


def slug(text: str, fallback: str) -> str:
    """Lower-case ASCII letters, digits and hyphens only: safe in a file name and a header."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    cleaned = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:40].strip("-")
    return cleaned or fallback


def filename(*parts: str, day: date | datetime, extension: str) -> str:
    """e.g. `hayden-p-checkins-2026-11-21.csv`: words and a date, never ids, so a clinician finds it in their
    downloads; every part slugged, so nothing can break the header."""
    stem = "-".join(slug(part, "export") for part in parts)
    return f"{stem}-{day:%Y-%m-%d}.{extension}"
