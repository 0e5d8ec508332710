"""A newly asked instrument's missed check-in clock starts when the clinic switched it on (CLINICAL.md §7): it
may be asked at once, but nobody is nudged or alerted for the months before the clinic asked it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from factories import Factory

from tracker.clock import FrozenClock
from tracker.extensions import db
from tracker.instruments import schedule as instrument_schedule
from tracker.jobs.registry import JobResult, load_jobs
from tracker.models import Alert, OutboundMessage, Patient
from tracker.services.checkins import due as checkins_due
from tracker.services.clinic import settings as clinic_settings

SATURDAY_9_CHICAGO = datetime(2026, 11, 28, 15, 0, tzinfo=UTC)
ONCALL = "+13125550100"


def run(clock: FrozenClock) -> JobResult:
    return load_jobs()["missed-checkins"].run(db.session, clock())


def keys_of(patient: Patient) -> list[str]:
    texts = sa.select(OutboundMessage.dedupe_key).where(OutboundMessage.patient_id == patient.id)
    raised = sa.select(Alert.dedupe_key).where(Alert.patient_id == patient.id)
    return sorted(k for k in [*db.session.scalars(texts), *db.session.scalars(raised)] if k)


def test_switching_gad7_on_starts_its_clock_and_leaves_phq9_alone(
    ctx: None, factory: Factory, clock: FrozenClock
) -> None:
    clinic = factory.clinic(oncall_phone=ONCALL)
    admin = factory.user(clinic, role="admin")
    clock.set(SATURDAY_9_CHICAGO - timedelta(days=200))
    patient = factory.patient(clinic, phase="maintenance", created_at=clock())
    behind = factory.patient(clinic, phase="maintenance", created_at=clock())
    clock.set(SATURDAY_9_CHICAGO)
    factory.checkin(patient, total=3, taken_at=clock() - timedelta(days=1), instrument="phq9")
    factory.checkin(behind, total=3, taken_at=clock() - timedelta(days=12), instrument="phq9")
    run(clock)
    phq9_before = keys_of(behind)
    assert phq9_before and all(f"missed-checkin:{behind.id}:" in k for k in phq9_before if "alert" not in k)

    clinic_settings.update(admin, clinic, {"instrument_schedule": {"maintenance": {"gad7": "weekly"}}})
    db.session.flush()
    on = instrument_schedule.switched_on(clinic.instrument_schedule, "maintenance", "gad7")
    assert on == SATURDAY_9_CHICAGO
    assert instrument_schedule.switched_on(clinic.instrument_schedule, "induction", "gad7") is None
    assert "gad7" in checkins_due.due_for(patient)  # asked at once

    assert "nudged" not in run(clock).counts and "alerted" not in run(clock).counts
    assert keys_of(patient) == [] and keys_of(behind) == phq9_before  # PHQ-9 unchanged, no GAD-7 for 200 days

    # Changing PHQ-9 later keeps GAD-7's moment: it was already on.
    clock.set(SATURDAY_9_CHICAGO + timedelta(days=3))
    clinic_settings.update(admin, clinic, {"instrument_schedule": {"maintenance": {"phq9": "weekly"}}})
    assert instrument_schedule.switched_on(clinic.instrument_schedule, "maintenance", "gad7") == on

    grace = clinic.missed_checkin_grace_days
    clock.set(on + timedelta(days=7 + grace) - timedelta(minutes=1))
    factory.checkin(patient, total=3, taken_at=clock() - timedelta(hours=1), instrument="phq9")  # PHQ-9 on time
    run(clock)
    assert keys_of(patient) == []
    clock.set(on + timedelta(days=7 + grace))
    assert run(clock).counts.get("nudged") == 2  # both now owe a GAD-7 since it was switched on
    assert keys_of(patient) == [f"missed-checkin:gad7:{patient.id}:on:{on.isoformat()}"]


def test_turning_off_then_on_again_restarts_the_clock() -> None:
    first = datetime(2026, 1, 1, tzinfo=UTC)
    on = instrument_schedule.stamped(None, instrument_schedule.merged(None, {"as_needed": {"gad7": "monthly"}}), first)
    assert instrument_schedule.switched_on(on, "as_needed", "gad7") == first
    assert instrument_schedule.effective(on)["as_needed"]["gad7"] == "monthly"  # the stamps are not a phase
    off = instrument_schedule.stamped(on, instrument_schedule.merged(on, {"as_needed": {"gad7": "off"}}), first)
    assert instrument_schedule.switched_on(off, "as_needed", "gad7") is None
    later = first + timedelta(days=40)
    again = instrument_schedule.stamped(off, instrument_schedule.merged(off, {"as_needed": {"gad7": "weekly"}}), later)
    assert instrument_schedule.switched_on(again, "as_needed", "gad7") == later
    assert (
        instrument_schedule.switched_on({"switched_on": {"as_needed": {"gad7": "nonsense"}}}, "as_needed", "gad7")
        is None
    )
