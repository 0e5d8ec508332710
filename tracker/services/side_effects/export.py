"""The clinic's side-effect reports as CSV (CLINICAL.md §7), a row per report, beside the infusion CSV.

A file of its own: a report has none of a check-in's columns. It joins the infusion CSV on `infusion_id`. Each item
is its level's word (none, mild, moderate, severe), and there is no total column: the checklist is never summed.
Written like the other exports (services/clinic/exports.py): streamed in batches, formulas neutralised, audited.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa

from tracker import side_effects as rules
from tracker.extensions import db
from tracker.local_time import in_zone, zone_of
from tracker.models import Infusion, Patient, SideEffectReport, User
from tracker.services import scope
from tracker.services.audit import trail as audit
from tracker.services.clinic.exports import BATCH, CsvExport, csv_lines, neutralise

COLUMNS = ["patient_id", "display_name", "infusion_id", "timing", "source", "reported_at", *rules.ITEM_KEYS]


def _query(staff: User) -> sa.Select[Any]:
    query = (
        sa.select(Patient.id, Patient.display_name, Patient.timezone, SideEffectReport)
        .join(SideEffectReport, SideEffectReport.patient_id == Patient.id)
        .join(Infusion, Infusion.id == SideEffectReport.infusion_id)
    )
    return scope.scoped_to_clinic(staff, query, Patient.clinic_id)


def row_of(row: sa.Row[Any]) -> list[str]:
    report: SideEffectReport = row.SideEffectReport
    reported_at = in_zone(report.reported_at, zone_of(row.timezone)).isoformat(timespec="seconds")
    values: list[Any] = [row.id, row.display_name, report.infusion_id, report.timing, report.source, reported_at]
    values += [rules.LEVELS[level] for level in report.levels.values()]
    return [neutralise(value) for value in values]


def _stream(query: sa.Select[Any]) -> Iterator[str]:
    result = db.session.execute(query)
    try:
        yield from csv_lines(COLUMNS, (row_of(row) for row in result))
    finally:
        result.close()  # an abandoned download must not leave PostgreSQL's server-side cursor open


def export_for_staff(staff: User) -> CsvExport:
    """Every side-effect report of the clinic's patients, by patient then visit; audited (export.side_effects_csv)
    with its count before any row is sent."""
    count = db.session.scalar(_query(staff).with_only_columns(sa.func.count(SideEffectReport.id)).order_by(None)) or 0
    detail = {"format": "csv", "count": count}
    audit.record(staff, "export.side_effects_csv", target_type="clinic", target_id=staff.clinic_id, detail=detail)
    query = _query(staff).order_by(
        Patient.display_name, Patient.id, Infusion.given_at, Infusion.id, SideEffectReport.timing
    )
    return CsvExport(None, count, _stream(query.execution_options(yield_per=BATCH)))
