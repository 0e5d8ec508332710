"""A patient's other medicines, kept by staff, and the clinic's list of medicines to review before an infusion
(CLINICAL.md §7). A current medicine on the list is shown as one to review before the infusion: never advice to
change it. Every read and change of a patient's list is in the audit log.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa

from tracker import clock, medicine_review
from tracker.errors import FieldProblem, Invalid, NotFound
from tracker.extensions import db
from tracker.local_time import in_zone, zone_of
from tracker.medicine_review import Entry, Match
from tracker.models import Clinic, Patient, PatientMedicine, User
from tracker.models.medicine import DOSE_MAX, NAME_MAX
from tracker.plain_text import one_line_problem
from tracker.services import scope
from tracker.services.accounts import users as accounts
from tracker.services.audit import trail as audit

EARLIEST = date(1900, 1, 1)
LATEST = date(2100, 12, 31)
UNSET = object()  # a PATCH field left out, as against one set to null


@dataclass(frozen=True)
class MedicineRow:
    medicine: PatientMedicine
    current: bool
    review: Match | None  # a current medicine on the clinic's list (CLINICAL.md §7)


@dataclass(frozen=True)
class MedicineList:
    rows: tuple[MedicineRow, ...]  # current first, then ended; each by name

    @property
    def current(self) -> tuple[MedicineRow, ...]:
        return tuple(r for r in self.rows if r.current)

    @property
    def past(self) -> tuple[MedicineRow, ...]:
        return tuple(r for r in self.rows if not r.current)

    @property
    def to_review(self) -> tuple[MedicineRow, ...]:
        return tuple(r for r in self.rows if r.review is not None)


def today_at(clinic: Clinic) -> date:
    """The clinic's date now: a medicine ends on the clinic's calendar."""
    return in_zone(clock.now(), zone_of(clinic.timezone)).date()


def review_entries(clinic: Clinic) -> tuple[Entry, ...]:
    return medicine_review.from_stored(clinic.review_medicines)


def _listed(patient: Patient, clinic: Clinic) -> MedicineList:
    medicines = db.session.scalars(
        sa.select(PatientMedicine)
        .where(PatientMedicine.patient_id == patient.id)
        .order_by(sa.func.lower(PatientMedicine.name), PatientMedicine.added_at, PatientMedicine.id)
    ).all()
    rows = [row_of(medicine, clinic) for medicine in medicines]
    return MedicineList(tuple(sorted(rows, key=lambda r: not r.current)))


def row_of(medicine: PatientMedicine, clinic: Clinic) -> MedicineRow:
    """One medicine as a list shows it, after a change."""
    current = medicine.is_current(today_at(clinic))
    review = medicine_review.match(medicine.name, review_entries(clinic)) if current else None
    return MedicineRow(medicine, current, review)


def of_patient(patient: Patient, clinic: Clinic) -> MedicineList:
    """The list for a page that has already audited its read of the patient's record (the patient's page)."""
    return _listed(patient, clinic)


def list_for_staff(staff: User, patient_id: str | uuid.UUID) -> MedicineList:
    """The patient's medicines for staff of their clinic (NotFound otherwise); audited as medicine.list."""
    patient = scope.get_patient_for_staff(staff, patient_id)
    audit.record(staff, "medicine.list", patient=patient, target_type="patient", target_id=patient.id)
    return _listed(patient, patient.clinic)


def to_review_for(patient: Patient) -> tuple[MedicineRow, ...]:
    """The patient's current medicines on the clinic's list: what the visit form asks to review (CLINICAL.md §7)."""
    return _listed(patient, patient.clinic).to_review


def get_for_staff(staff: User, medicine_id: str | uuid.UUID) -> tuple[PatientMedicine, Patient]:
    scope.require_staff(staff)
    medicine = db.session.get(PatientMedicine, scope.parse_id(medicine_id))
    if medicine is None or medicine.clinic_id != staff.clinic_id:
        raise NotFound("No such medicine.")
    patient = db.session.get(Patient, medicine.patient_id)
    assert patient is not None  # foreign key
    return medicine, patient


def _line(field: str, text: str | None, most: int, problems: list[FieldProblem], required: bool) -> str | None:
    if text is not None and (problem := one_line_problem(text)):
        problems.append(FieldProblem(field, problem))
        return None
    text = " ".join((text or "").split()) or None
    if not text:
        if required:
            problems.append(FieldProblem(field, "required"))
        return None
    if len(text) > most:
        problems.append(FieldProblem(field, f"at most {most} characters"))
    return text


def _dates(since: date | None, until: date | None, problems: list[FieldProblem]) -> None:
    for field, value in (("since", since), ("until", until)):
        if value is not None and not EARLIEST <= value <= LATEST:
            problems.append(FieldProblem(field, f"a date from {EARLIEST.year} to {LATEST.year}"))
    if since is not None and until is not None and since > until and not problems:
        problems.append(FieldProblem("until", "must be on or after the date it was started"))


def _already_current(
    patient: Patient,
    name: str,
    since: date | None,
    until: date | None,
    problems: list[FieldProblem],
    but: object = None,
) -> None:
    """A current medicine the patient's current list already names (whatever the case): one entry each, so the
    list and its review marks (CLINICAL.md §7) say it once. An ended one may be entered again."""
    today = today_at(patient.clinic)
    if not ((since is None or since <= today) and (until is None or until > today)):
        return
    # Compared in Python: SQLite's lower() folds ASCII only. A patient's list is short.
    listed = db.session.scalars(sa.select(PatientMedicine).where(PatientMedicine.patient_id == patient.id)).all()
    if any(m is not but and m.name.casefold() == name.casefold() and m.is_current(today) for m in listed):
        problems.append(FieldProblem("name", f"{name} is already on the current medicines"))


def _shown(medicine: PatientMedicine) -> dict[str, str | None]:
    """What the audit keeps of a medicine: staff-only, as the record itself is."""
    return {
        "name": medicine.name,
        "dose": medicine.dose,
        "since": medicine.since.isoformat() if medicine.since else None,
        "until": medicine.until.isoformat() if medicine.until else None,
    }


def add(
    staff: User,
    patient: Patient,
    name: str | None,
    dose: str | None = None,
    since: date | None = None,
    until: date | None = None,
) -> PatientMedicine:
    """Add a medicine to the patient's list (the patient is already scoped to the staff member's clinic)."""
    scope.require_staff(staff)
    problems: list[FieldProblem] = []
    name = _line("name", name, NAME_MAX, problems, required=True)
    dose = _line("dose", dose, DOSE_MAX, problems, required=False)
    _dates(since, until, problems)
    if name is not None and not problems:
        _already_current(patient, name, since, until, problems)
    if problems:
        raise Invalid(problems)
    assert name is not None  # required: checked above
    medicine = PatientMedicine(
        patient_id=patient.id,
        clinic_id=patient.clinic_id,
        name=name,
        dose=dose,
        since=since,
        until=until,
        added_by_id=staff.id,
        added_at=clock.now(),
    )
    db.session.add(medicine)
    db.session.flush()
    audit.record(
        staff, "medicine.add", patient=patient, target_type="medicine", target_id=medicine.id, detail=_shown(medicine)
    )
    return medicine


def update(staff: User, medicine: PatientMedicine, patient: Patient, **changes: object) -> PatientMedicine:
    """Change a medicine's name, dose or dates (fields left out stay as they are); audited with the old values."""
    scope.require_staff(staff)
    before = _shown(medicine)
    problems: list[FieldProblem] = []
    name, dose = medicine.name, medicine.dose
    if "name" in changes:
        name = _line("name", changes["name"], NAME_MAX, problems, required=True) or name  # type: ignore[arg-type]
    if "dose" in changes:
        dose = _line("dose", changes["dose"], DOSE_MAX, problems, required=False)  # type: ignore[arg-type]
    since = changes.get("since", medicine.since)
    until = changes.get("until", medicine.until)
    if not isinstance(since, date | None) or not isinstance(until, date | None):
        raise TypeError("since and until are dates")
    _dates(since, until, problems)
    if not problems:
        _already_current(patient, name, since, until, problems, but=medicine)
    if problems:
        raise Invalid(problems)
    medicine.name, medicine.dose, medicine.since, medicine.until = name, dose, since, until
    db.session.flush()
    audit.record(
        staff,
        "medicine.update",
        patient=patient,
        target_type="medicine",
        target_id=medicine.id,
        detail={"before": before, "after": _shown(medicine)},
    )
    return medicine


def end(staff: User, medicine: PatientMedicine, patient: Patient, until: date | None = None) -> PatientMedicine:
    """The patient stopped taking it: until the date given, or today (the clinic's date)."""
    return update(staff, medicine, patient, until=until or today_at(patient.clinic))


def remove(staff: User, medicine: PatientMedicine, patient: Patient) -> None:
    """Take an entry made in error off the list; the audit log keeps what it said."""
    scope.require_staff(staff)
    audit.record(
        staff,
        "medicine.remove",
        patient=patient,
        target_type="medicine",
        target_id=medicine.id,
        detail=_shown(medicine),
    )
    db.session.delete(medicine)
    db.session.flush()


def set_review_list(admin: User, clinic: Clinic, text: str) -> tuple[Entry, ...]:
    """An admin replaces the clinic's list of medicines to review, typed one entry a line (medicine_review)."""
    accounts.require_admin_of(admin, clinic.id)
    entries, problems = medicine_review.parse_lines(text)
    if problems:
        raise Invalid(problems)
    clinic.review_medicines = [entry.as_dict() for entry in entries]
    db.session.flush()
    audit.record(
        admin, "clinic.review_medicines", target_type="clinic", target_id=clinic.id, detail={"count": len(entries)}
    )
    return entries


def review_text(entries: Sequence[Entry]) -> str:
    """The list as the admin's form shows it, one entry a line."""
    return "\n".join(entry.line for entry in entries)
