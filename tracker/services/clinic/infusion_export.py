"""CSV exports of infusions for staff: one patient's, or the whole clinic's, one row per infusion.

A file of its own rather than rows in the check-in CSV: an infusion has none of a check-in's columns (and a
check-in none of a dose's), so a mixed file would be mostly blank cells, and an analyst's existing reading of
the check-in CSV would break. The two files share `patient_id` to join on. Every status is kept (given,
booked, cancelled) with its own column: cancellations and visits still to come are figures a clinic counts.
Clinical notes are left out: free text is for the chart, not for a spreadsheet passed around.
Written like the check-in CSV (services/clinic/exports.py): streamed in batches, formulas neutralised.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from tracker.extensions import db
from tracker.local_time import in_zone, zone_of
from tracker.models import Infusion, Patient, User
from tracker.services import scope
from tracker.services.audit import trail as audit
from tracker.services.clinic.exports import BATCH, CsvExport, csv_lines, neutralise
from tracker.vitals import BP_FIELDS
from tracker.vitals import COLUMNS as VITAL_COLUMNS

COLUMNS = [
    "patient_id",
    "display_name",
    "infusion_id",
    "kind",
    "status",
    "scheduled_for",
    "given_at",
    "dose_mg_per_kg",
    "weight_kg",
    "total_mg",
    "duration_min",
    # CLINICAL.md §7: each moment's readings (before the dose, about 40 minutes in, before discharge).
    *VITAL_COLUMNS,
    "bp_hold_confirmed",
    "observed_min",
    "ride_home_confirmed",
    "booster_request_id",
    # The caution or hold mark of each blood pressure, as the patient's page shows it (tracker/vitals.py).
    *(f"{name}_level" for name in BP_FIELDS),
]
_INFUSION_COLUMNS = COLUMNS[5 : -len(BP_FIELDS)]


def _query(staff: User, patient: Patient | None) -> sa.Select[Any]:
    query = sa.select(Patient.id, Patient.display_name, Patient.timezone, Infusion).join(
        Infusion, Infusion.patient_id == Patient.id
    )
    query = scope.scoped_to_clinic(staff, query, Patient.clinic_id)
    if patient is not None:
        query = query.where(Patient.id == patient.id)
    return query


def count(staff: User, patient: Patient | None = None) -> int:
    """How many infusions an export will hold (recorded in the audit log before the rows are sent)."""
    counted = _query(staff, patient).with_only_columns(sa.func.count(Infusion.id)).order_by(None)
    return db.session.scalar(counted) or 0


def _cell(value: Any, timezone: str) -> Any:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        # Moments in the patient's time zone with their offset, as in the check-in CSV.
        return in_zone(value, zone_of(timezone)).isoformat(timespec="seconds")
    return value


def row_of(row: sa.Row[Any]) -> list[str]:
    """One infusion as the CSV row of `COLUMNS`."""
    infusion: Infusion = row.Infusion
    values: list[Any] = [row.id, row.display_name, infusion.id, infusion.kind, infusion.status]
    values += [_cell(getattr(infusion, name), row.timezone) for name in _INFUSION_COLUMNS]
    levels = {check.field: check.level for check in infusion.vital_checks}
    values += [levels.get(name, "") for name in BP_FIELDS]
    return [neutralise(value) for value in values]


def _stream(query: sa.Select[Any]) -> Iterator[str]:
    result = db.session.execute(query)
    try:
        yield from csv_lines(COLUMNS, (row_of(row) for row in result))
    finally:
        result.close()  # an abandoned download must not leave PostgreSQL's server-side cursor open


def infusion_csv(staff: User, patient: Patient | None = None) -> Iterator[str]:
    """The infusions of one patient of the staff member's clinic, or of all its patients, as CSV chunks.

    Patients by name, each one's infusions oldest first (given, else booked, time). Built now, run when the
    first chunk is asked for, as the check-in CSV is.
    """
    when = sa.func.coalesce(Infusion.given_at, Infusion.scheduled_for)
    query = _query(staff, patient).order_by(Patient.display_name, Patient.id, when, Infusion.created_at, Infusion.id)
    return _stream(query.execution_options(yield_per=BATCH))


def export_for_staff(staff: User, patient_id: str | uuid.UUID | None = None) -> CsvExport:
    """One patient's infusions (NotFound for another clinic's patient) or, without an id, the whole clinic's.

    Written to the audit log (export.infusions_csv) with its count before any row is sent.
    """
    patient = scope.get_patient_for_staff(staff, patient_id) if patient_id is not None else None
    rows = count(staff, patient)
    detail = {"format": "csv", "count": rows}
    if patient is not None:
        audit.record(
            staff, "export.infusions_csv", patient=patient, target_type="patient", target_id=patient.id, detail=detail
        )
    else:
        audit.record(staff, "export.infusions_csv", target_type="clinic", target_id=staff.clinic_id, detail=detail)
    return CsvExport(patient, rows, infusion_csv(staff, patient))
