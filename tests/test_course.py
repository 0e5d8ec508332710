"""The course service: phases and their history, infusions (limits, warnings, transitions), outcomes."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from factories import Factory

from tracker.clock import FrozenClock
from tracker.errors import Conflict, Forbidden, Invalid, NotFound
from tracker.extensions import db
from tracker.infusions import BloodPressure
from tracker.models import AuditEvent, BoosterRequest, Clinic, Infusion, OutboundMessage, Patient, PhaseChange, User
from tracker.outcomes import Outcome
from tracker.services.boosters import booking
from tracker.services.boosters import queries as booster_queries
from tracker.services.boosters import requests as boosters
from tracker.services.course import queries as course_queries
from tracker.services.course import writes as course

GIVEN: dict[str, Any] = {"kind": "maintenance", "status": "given", "weight_kg": 70}

pytestmark = pytest.mark.in_app_context  # conftest's clinic, clinician and patient are made in `ctx`


@pytest.fixture
def patient(factory: Factory, clinic: Clinic) -> Patient:
    return factory.patient(clinic, phase="induction")


def history(patient: Patient) -> list[PhaseChange]:
    query = sa.select(PhaseChange).where(PhaseChange.patient_id == patient.id)
    return list(db.session.scalars(query.order_by(PhaseChange.changed_at, PhaseChange.from_phase.is_not(None))))


def infusion_count(patient: Patient) -> int:
    return db.session.scalar(sa.select(sa.func.count(Infusion.id)).where(Infusion.patient_id == patient.id)) or 0


def audited(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action)))


# Phases


def test_change_phase_keeps_the_history_and_audits_it(clock: FrozenClock, clinician: User, patient: Patient) -> None:
    moment = clock.advance(days=20)
    row = course.change_phase(patient, "maintenance", clinician, reason="  Weekly boosters agreed.  ")
    assert row is not None
    assert (row.from_phase, row.to_phase, row.changed_by_id) == ("induction", "maintenance", clinician.id)
    assert (row.changed_at, row.reason) == (moment, "Weekly boosters agreed.")
    assert (patient.phase, patient.changed_at) == ("maintenance", moment)
    assert [r.to_phase for r in history(patient)] == ["induction", "maintenance"]
    (event,) = audited("patient.phase_change")
    assert event.actor_id == clinician.id and event.detail == {"from": "induction", "to": "maintenance"}


def test_an_unknown_phase_is_refused(clinician: User, patient: Patient) -> None:
    with pytest.raises(Invalid) as refused:
        course.change_phase(patient, "remission", clinician)
    assert [p.field for p in refused.value.problems] == ["phase"]
    assert patient.phase == "induction" and len(history(patient)) == 1


def test_moving_to_the_current_phase_is_ignored(clinician: User, patient: Patient) -> None:
    assert course.change_phase(patient, "induction", clinician) is None
    assert len(history(patient)) == 1
    assert audited("patient.phase_change") == []


def test_only_staff_of_the_clinic_change_a_phase(factory: Factory, patient: Patient) -> None:
    with pytest.raises(NotFound):
        course.change_phase(patient, "discharged", factory.user(factory.clinic()))
    with pytest.raises(Forbidden):
        course.change_phase(patient, "discharged", patient.user)
    assert patient.phase == "induction"


def test_discharge_needs_a_reason_and_keeps_the_request_until_given_one(
    factory: Factory, clinician: User, patient: Patient
) -> None:
    """CLINICAL.md §5: discharge cancels the open request ("discharged") and stops reminders and scans."""
    request = BoosterRequest(patient_id=patient.id, clinic_id=patient.clinic_id, raised_by="scan", urgency="routine")
    db.session.add(request)
    db.session.flush()
    for blank in (None, "   "):
        with pytest.raises(Invalid) as refused:
            course.change_phase(patient, "discharged", clinician, blank)
        assert [p.field for p in refused.value.problems] == ["reason"]
        assert patient.phase == "induction" and request.status == "open"
    move = course.change_phase(patient, "discharged", clinician, "Course complete, follow-up with GP.")
    assert move is not None and move.reason == "Course complete, follow-up with GP."
    assert (request.status, request.reason) == ("cancelled", "discharged")
    assert course.change_phase(patient, "discharged", clinician) is None  # already discharged: nothing to say


# Recording infusions


def test_record_a_given_infusion_with_the_defaults(clock: FrozenClock, clinician: User, patient: Patient) -> None:
    result = course.record_infusion(patient, kind="induction", status="given", weight_kg="75.3", by=clinician)
    infusion = result.infusion
    assert infusion.dose_mg_per_kg == Decimal("0.5")  # CLINICAL.md §1: typically 0.5 mg/kg
    assert infusion.duration_min == 40  # over 40 minutes
    assert infusion.total_mg == Decimal("37.7")  # 0.5 x 75.3 = 37.65, rounded half up to 0.1
    assert infusion.given_at == clock() and infusion.created_by_id == clinician.id
    assert result.warnings == [] and result.phase_change is None and result.completed_request is None
    assert patient.changed_at == clock()
    (event,) = audited("infusion.record")
    assert event.target_id == str(infusion.id) and event.patient_id == patient.id


@pytest.mark.parametrize(
    ("dose", "weight", "total"),
    [
        ("0.5", "75.3", "37.7"),
        ("0.35", "81", "28.4"),  # 28.35
        (0.75, 100, "75.0"),
        ("0.4", "62.44", "25.0"),  # the weight is kept to 0.1 kg first: 62.4 x 0.4 = 24.96
        ("0.5", None, None),
    ],
)
def test_total_mg_is_dose_times_weight_to_a_tenth(
    dose: object, weight: object, total: str | None, clinician: User, patient: Patient
) -> None:
    infusion = course.record_infusion(
        patient, kind="maintenance", status="given", dose_mg_per_kg=dose, weight_kg=weight, by=clinician
    ).infusion
    assert infusion.total_mg == (Decimal(total) if total else None)
    db.session.expire(infusion)
    assert infusion.total_mg == (Decimal(total) if total else None)  # as stored


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"dose_mg_per_kg": "0.009"}, "dose_mg_per_kg"),
        ({"dose_mg_per_kg": "2.01"}, "dose_mg_per_kg"),
        ({"dose_mg_per_kg": "half"}, "dose_mg_per_kg"),
        ({"dose_mg_per_kg": True}, "dose_mg_per_kg"),
        ({"weight_kg": 19.9}, "weight_kg"),
        ({"weight_kg": 350.1}, "weight_kg"),
        ({"duration_min": 0}, "duration_min"),
        ({"duration_min": 241}, "duration_min"),
        ({"duration_min": 40.5}, "duration_min"),
        ({"observed_min": -1}, "observed_min"),
        ({"observed_min": 1441}, "observed_min"),
        ({"bp_before": "49/40"}, "bp_before"),
        ({"bp_before": "261/80"}, "bp_before"),
        ({"bp_before": (120, 29)}, "bp_before"),
        ({"bp_before": {"systolic": 120, "diastolic": 161}}, "bp_before"),
        ({"bp_before": "80/90"}, "bp_before"),  # systolic below diastolic
        ({"bp_after": "high"}, "bp_after"),
        ({"bp_after": (120,)}, "bp_after"),
        ({"given_at": "future"}, "given_at"),
        ({"given_at": datetime(2026, 11, 21, 9, 0)}, "given_at"),
        ({"ride_home_confirmed": "yes"}, "ride_home_confirmed"),
        ({"kind": "rescue"}, "kind"),
        ({"status": "cancelled"}, "status"),
        ({"status": "scheduled"}, "scheduled_for"),
    ],
)
def test_values_past_the_hard_limits_are_refused_and_nothing_is_stored(
    fields: dict[str, Any], field: str, clock: FrozenClock, clinician: User, patient: Patient
) -> None:
    if fields.get("given_at") == "future":
        fields = {"given_at": clock() + timedelta(minutes=1)}
    args = {**GIVEN, **fields}
    with pytest.raises(Invalid) as refused:
        course.record_infusion(patient, by=clinician, **args)
    assert field in [p.field for p in refused.value.problems]
    assert refused.value.status == 422
    assert infusion_count(patient) == 0 and audited("infusion.record") == []


def test_every_refusal_is_reported_at_once(clinician: User, patient: Patient) -> None:
    with pytest.raises(Invalid) as refused:
        course.record_infusion(patient, kind="x", status="given", weight_kg=5, duration_min=999, by=clinician)
    assert {p.field for p in refused.value.problems} == {"kind", "weight_kg", "duration_min"}


def test_the_hard_limits_themselves_are_accepted(clinician: User, patient: Patient) -> None:
    for dose, weight, duration, observed, before, after in (
        ("0.01", 20, 1, 0, "50/30", "260/160"),
        ("2.0", 350, 240, 1440, (260, 159), {"systolic": 51, "diastolic": 30}),
    ):
        course.record_infusion(
            patient,
            kind="maintenance",
            status="given",
            dose_mg_per_kg=dose,
            weight_kg=weight,
            duration_min=duration,
            observed_min=observed,
            bp_before=before,
            bp_after=after,
            hold_confirmed=True,  # CLINICAL.md §7: the highest readings are at the hold level
            by=clinician,
        )
    assert infusion_count(patient) == 2


@pytest.mark.parametrize(
    ("dose", "observed", "warned"),
    [
        ("0.5", 120, []),
        ("0.1", 240, []),
        ("0.75", 120, []),
        ("0.09", 120, ["dose_mg_per_kg"]),
        ("0.76", 120, ["dose_mg_per_kg"]),
        ("1.5", 130, ["dose_mg_per_kg"]),
        ("0.5", 119, ["observed_min"]),
        ("0.5", 0, ["observed_min"]),
        ("0.05", 60, ["dose_mg_per_kg", "observed_min"]),
        ("0.5", None, []),
    ],
)
def test_unusual_values_are_stored_with_a_warning(
    dose: str, observed: int | None, warned: list[str], clinician: User, patient: Patient
) -> None:
    result = course.record_infusion(
        patient, kind="maintenance", status="given", dose_mg_per_kg=dose, observed_min=observed, by=clinician
    )
    assert [w.field for w in result.warnings] == warned
    assert infusion_count(patient) == 1
    (event,) = audited("infusion.record")
    assert event.detail is not None and event.detail["warnings"] == warned


def test_blood_pressure_is_kept_as_systolic_and_diastolic(clinician: User, patient: Patient) -> None:
    infusion = course.record_infusion(
        patient, kind="induction", status="given", bp_before=" 128 / 82 ", bp_after=(141, 88), by=clinician
    ).infusion
    assert (infusion.bp_before_systolic, infusion.bp_before_diastolic) == (128, 82)
    assert (infusion.bp_after_systolic, infusion.bp_after_diastolic) == (141, 88)


def test_a_scheduled_infusion_needs_its_time_and_has_no_given_time(
    clock: FrozenClock, clinician: User, patient: Patient
) -> None:
    when = clock() + timedelta(days=2)
    infusion = course.record_infusion(patient, kind="induction", status="scheduled", scheduled_for=when, by=clinician)
    assert (infusion.infusion.status, infusion.infusion.given_at) == ("scheduled", None)
    with pytest.raises(Invalid) as refused:
        course.record_infusion(
            patient, kind="induction", status="scheduled", scheduled_for=when, given_at=clock(), by=clinician
        )
    assert [p.field for p in refused.value.problems] == ["given_at"]


def test_a_booster_request_of_another_patient_cannot_be_linked(
    factory: Factory, clinic: Clinic, clinician: User, patient: Patient
) -> None:
    other = boosters.raise_request(factory.patient(clinic), "scan", None, None)
    with pytest.raises(Invalid) as refused:
        course.record_infusion(patient, booster_request_id=other.id, by=clinician, **GIVEN)
    assert [p.field for p in refused.value.problems] == ["booster_request_id"]
    assert other.status == "open"


# Changing infusions: status moves


def _in_status(status: str, patient: Patient, clinician: User, clock: FrozenClock) -> Infusion:
    if status == "given":
        return course.record_infusion(patient, by=clinician, **GIVEN).infusion
    when = clock() + timedelta(hours=1)  # later the same day: given now, it is given on its booked day
    infusion = course.record_infusion(patient, kind="maintenance", status="scheduled", scheduled_for=when, by=clinician)
    if status == "cancelled":
        course.update_infusion(infusion.infusion, {"status": "cancelled"}, clinician, reason="Unwell.")
    return infusion.infusion


@pytest.mark.parametrize(
    ("before", "change", "after"),
    [
        ("scheduled", {"status": "given", "weight_kg": 80}, "given"),
        ("scheduled", {"status": "cancelled"}, "cancelled"),
        ("scheduled", {"scheduled_for": "later"}, "scheduled"),
        ("given", {"notes": "Tolerated well; mild dissociation."}, "given"),
    ],
)
def test_allowed_infusion_moves(
    before: str, change: dict[str, Any], after: str, clock: FrozenClock, clinician: User, patient: Patient
) -> None:
    infusion = _in_status(before, patient, clinician, clock)
    if change.get("scheduled_for") == "later":
        change = {"scheduled_for": clock() + timedelta(days=5)}
    course.update_infusion(infusion, change, clinician, reason="Patient asked.")
    assert infusion.status == after
    assert len(audited("infusion.update")) == 1


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("given", "scheduled"),
        ("given", "cancelled"),
        ("cancelled", "scheduled"),
        ("cancelled", "given"),
        ("cancelled", "cancelled"),
    ],
)
def test_refused_infusion_moves_are_conflicts(
    before: str, after: str, clock: FrozenClock, clinician: User, patient: Patient
) -> None:
    infusion = _in_status(before, patient, clinician, clock)
    with pytest.raises(Conflict) as refused:
        course.update_infusion(infusion, {"status": after}, clinician)
    assert before in refused.value.detail and after in refused.value.detail
    assert infusion.status == before


def test_an_edit_recomputes_the_total_and_warns_only_about_what_it_changes(clinician: User, patient: Patient) -> None:
    infusion = course.record_infusion(patient, dose_mg_per_kg="0.8", by=clinician, **GIVEN).infusion
    assert infusion.total_mg == Decimal("56.0")
    notes_only = course.update_infusion(infusion, {"notes": "BP settled by 30 min."}, clinician)
    assert notes_only.warnings == []
    dose = course.update_infusion(infusion, {"dose_mg_per_kg": "0.9", "weight_kg": "71"}, clinician, "misread")
    assert [w.field for w in dose.warnings] == ["dose_mg_per_kg"]
    assert infusion.total_mg == Decimal("63.9")
    with pytest.raises(Invalid) as refused:
        course.update_infusion(infusion, {"booster_request_id": None, "colour": "blue"}, clinician)
    assert [p.field for p in refused.value.problems] == ["booster_request_id", "colour"]
    with pytest.raises(Invalid):
        course.update_infusion(infusion, {"weight_kg": 400}, clinician)
    assert infusion.weight_kg == Decimal("71.0")


def test_a_booked_booster_infusion_is_cancelled_with_its_request_and_rescheduling_tells_the_patient(
    clock: FrozenClock, clinician: User, patient: Patient
) -> None:
    request = boosters.raise_request(patient, "scan", None, None)
    booked = booking.schedule(request, clinician, clock() + timedelta(days=3)).infusion
    with pytest.raises(Conflict):
        course.update_infusion(booked, {"status": "cancelled"}, clinician)
    course.update_infusion(booked, {"scheduled_for": clock() + timedelta(days=4)}, clinician)
    texts = db.session.scalars(sa.select(OutboundMessage).where(OutboundMessage.patient_id == patient.id)).all()
    assert len(texts) == 2 and texts[0].body != texts[1].body


# Induction ends after the clinic's count


def _give_inductions(count: int, patient: Patient, clinician: User, clock: FrozenClock) -> list[course.InfusionResult]:
    results = []
    for _ in range(count):
        clock.advance(days=2)
        results.append(course.record_infusion(patient, kind="induction", status="given", by=clinician))
    return results


def test_the_sixth_induction_infusion_moves_the_patient_on(
    clock: FrozenClock, clinician: User, patient: Patient
) -> None:
    results = _give_inductions(5, patient, clinician, clock)
    assert patient.phase == "induction"  # not at the fifth
    assert all(r.phase_change is None for r in results)
    (sixth,) = _give_inductions(1, patient, clinician, clock)
    assert patient.phase == "as_needed"  # the clinic default post_induction_phase
    change = sixth.phase_change
    assert change is not None and change is history(patient)[-1]
    assert (change.from_phase, change.to_phase, change.changed_by_id) == ("induction", "as_needed", None)
    assert change.changed_at == clock()
    assert change.reason is not None and "6 of 6" in change.reason


def test_the_clinics_own_count_and_phase_apply(ctx: None, factory: Factory, clock: FrozenClock) -> None:
    clinic = factory.clinic(induction_infusion_count=4, post_induction_phase="maintenance")
    clinician, patient = factory.user(clinic), factory.patient(clinic, phase="induction")
    for n in range(1, 5):
        # Entered after the fact: the count is of infusions given, whenever they are recorded.
        given_at = clock() - timedelta(days=10 - n)
        result = course.record_infusion(patient, kind="induction", status="given", given_at=given_at, by=clinician)
        assert patient.phase == ("maintenance" if n == 4 else "induction")
    assert result.phase_change is not None and result.phase_change.to_phase == "maintenance"


def test_scheduled_and_other_kinds_do_not_count_and_giving_a_scheduled_one_does(
    clock: FrozenClock, clinician: User, patient: Patient
) -> None:
    _give_inductions(5, patient, clinician, clock)
    clock.advance(days=1)
    course.record_infusion(patient, by=clinician, **GIVEN)
    booked = course.record_infusion(
        patient, kind="induction", status="scheduled", scheduled_for=clock() + timedelta(days=1), by=clinician
    ).infusion
    assert patient.phase == "induction"
    clock.advance(days=1)
    result = course.update_infusion(booked, {"status": "given"}, clinician)
    assert patient.phase == "as_needed" and result.phase_change is not None


# CLINICAL.md §5 (amended): screening moves to induction at the first induction infusion (tested below).
@pytest.mark.parametrize("phase", ["maintenance", "as_needed", "discharged"])
def test_a_patient_not_in_induction_keeps_their_phase(
    phase: str, factory: Factory, clinic: Clinic, clinician: User, clock: FrozenClock
) -> None:
    patient = factory.patient(clinic, phase=phase)
    results = _give_inductions(7, patient, clinician, clock)
    assert patient.phase == phase
    assert all(r.phase_change is None for r in results) and len(history(patient)) == 1


def test_a_second_induction_series_counts_afresh(clock: FrozenClock, clinician: User, patient: Patient) -> None:
    _give_inductions(6, patient, clinician, clock)
    assert patient.phase == "as_needed"
    clock.advance(days=90)
    course.change_phase(patient, "induction", clinician, reason="Full relapse: a new series.")
    _give_inductions(5, patient, clinician, clock)
    assert patient.phase == "induction"
    _give_inductions(1, patient, clinician, clock)
    assert patient.phase == "as_needed"
    assert [r.to_phase for r in history(patient)] == ["induction", "as_needed", "induction", "as_needed"]


# Completion of an open booster request (CLINICAL.md §5)


@pytest.mark.parametrize("kind", ["induction", "maintenance", "booster"])
@pytest.mark.parametrize("state", ["open", "approved"])
def test_any_infusion_given_while_a_request_is_open_completes_it(
    kind: str, state: str, clock: FrozenClock, factory: Factory, clinic: Clinic, clinician: User
) -> None:
    patient = factory.patient(clinic, phase="as_needed")
    request = boosters.raise_request(patient, "scan", None, None)
    if state == "approved":
        boosters.approve(request, clinician)
    moment = clock.advance(days=2)
    result = course.record_infusion(patient, kind=kind, status="given", by=clinician)
    assert result.completed_request is request
    assert request.status == "completed"
    assert result.infusion.booster_request_id == request.id
    assert patient.changed_at == moment
    assert booster_queries.open_request_for(patient.id) is None


def test_an_infusion_from_before_the_request_does_not_complete_it(
    clock: FrozenClock, factory: Factory, clinic: Clinic, clinician: User
) -> None:
    patient = factory.patient(clinic, phase="as_needed")
    request = boosters.raise_request(patient, "scan", None, None)
    late_entry = course.record_infusion(
        patient, kind="maintenance", status="given", given_at=clock() - timedelta(days=3), by=clinician
    )
    assert late_entry.completed_request is None and request.status == "open"
    course.record_infusion(
        patient, kind="maintenance", status="scheduled", scheduled_for=clock() + timedelta(days=1), by=clinician
    )
    assert request.status == "open"  # booking is not giving


def test_editing_a_given_infusion_completes_nothing(
    clock: FrozenClock, factory: Factory, clinic: Clinic, clinician: User
) -> None:
    patient = factory.patient(clinic, phase="as_needed")
    earlier = course.record_infusion(patient, by=clinician, **GIVEN).infusion
    request = boosters.raise_request(patient, "scan", None, None)
    assert course.update_infusion(earlier, {"observed_min": 150}, clinician, "late entry").completed_request is None
    assert request.status == "open"


# Outcomes (CLINICAL.md §4), hand-computed


def test_outcome_from_the_rows(factory: Factory, clock: FrozenClock, patient: Patient) -> None:
    now = clock()

    def day(n: float) -> datetime:
        return now - timedelta(days=40) + timedelta(days=n)

    factory.checkin(patient, total=24, taken_at=day(0))
    baseline = factory.checkin(patient, total=20, taken_at=day(5))  # the last PHQ-9 before the first induction
    for n in (6, 8, 10, 12):
        factory.infusion(patient, kind="induction", given_at=day(n))
    factory.checkin(patient, total=16, taken_at=day(7))  # between infusions: neither baseline nor window
    factory.checkin(patient, total=12, taken_at=day(15))
    factory.checkin(patient, total=9, taken_at=day(22))
    factory.checkin(patient, total=8, taken_at=day(29))
    factory.checkin(patient, total=2, taken_at=day(30), instrument="gad7")  # not a PHQ-9: ignored
    factory.infusion(patient, kind="booster", scheduled_for=day(45))  # booked, not given: no new window

    result = course_queries.patient_outcome(patient)
    # Current 8 against baseline 20: change -12; 2 x 8 = 16 <= 20 is response; 8 is not < 5.
    # Window after day 12: 12, 9, 8; the reference low of the latest (8) is min(12, 9) = 9.
    assert result == Outcome(
        baseline=20,
        baseline_checkin_id=str(baseline.id),
        current=8,
        change=-12,
        response=True,
        remission=False,
        reference_low=9,
    )


def test_outcome_remission_and_no_response(factory: Factory, clock: FrozenClock, patient: Patient) -> None:
    start = clock() - timedelta(days=30)
    factory.checkin(patient, total=9, taken_at=start)
    factory.infusion(patient, kind="induction", given_at=start + timedelta(days=1))
    factory.checkin(patient, total=4, taken_at=start + timedelta(days=10))
    remitted = course_queries.patient_outcome(patient)
    assert (remitted.baseline, remitted.current, remitted.change) == (9, 4, -5)
    assert remitted.remission is True and remitted.response is True  # 2 x 4 = 8 <= 9
    factory.checkin(patient, total=5, taken_at=start + timedelta(days=20))
    now_five = course_queries.patient_outcome(patient)
    assert (now_five.remission, now_five.response, now_five.reference_low) == (False, False, 4)  # 10 > 9


def test_outcome_without_a_baseline(factory: Factory, clock: FrozenClock, patient: Patient) -> None:
    assert course_queries.patient_outcome(patient) == Outcome(None, None, None, None, None, None, None)
    factory.infusion(patient, kind="induction", given_at=clock() - timedelta(days=5))
    factory.checkin(patient, total=11, days_ago=1)
    # CLINICAL.md §4 (amended): no remission is reported without a baseline.
    assert course_queries.patient_outcome(patient) == Outcome(None, None, 11, None, None, None, None)


# The patient's own view


def test_the_patient_sees_their_infusions_without_clinical_notes(
    clock: FrozenClock, factory: Factory, clinic: Clinic, clinician: User, patient: Patient
) -> None:
    given = course.record_infusion(
        patient,
        kind="induction",
        status="given",
        given_at=clock() - timedelta(days=2),
        bp_before="124/80",
        notes="Anxious before start; discussed coping plan.",
        by=clinician,
    ).infusion
    booked = course.record_infusion(
        patient,
        kind="induction",
        status="scheduled",
        scheduled_for=clock() + timedelta(days=1),
        notes="Private.",
        by=clinician,
    ).infusion
    course.record_infusion(factory.patient(clinic), by=clinician, **GIVEN)  # someone else's

    view = course_queries.infusions_for_patient_view(patient)
    assert [v.id for v in view] == [booked.id, given.id]  # the latest first
    assert "notes" not in {f.name for f in dataclasses.fields(course_queries.PatientInfusion)}
    assert all("Anxious" not in repr(v) and "Private" not in repr(v) for v in view)
    assert view[1].bp_before == BloodPressure(124, 80) and view[1].given_at == given.given_at
    assert (view[0].status, view[0].scheduled_for) == ("scheduled", booked.scheduled_for)


def test_the_request_link_shows_in_the_patient_view(clock: FrozenClock, clinician: User, patient: Patient) -> None:
    request = boosters.raise_request(patient, "patient", patient.user, "Low again.")
    booking.schedule(request, clinician, clock() + timedelta(days=2))
    (view,) = course_queries.infusions_for_patient_view(patient)
    assert view.booster_request_id == request.id and view.kind == "booster"
    assert db.session.get(BoosterRequest, request.id) is request
