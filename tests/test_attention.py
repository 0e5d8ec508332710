"""The attention queue (tracker/services/attention.py): its order, its phrases, its scope and its query count."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from factories import Factory

from tracker import clock
from tracker.extensions import db
from tracker.jobs.missed_checkins import Gap
from tracker.models import Alert, AuditEvent, BoosterEvidence, BoosterRequest, CheckIn, Clinic, Patient, User
from tracker.services.alerts import writes as alert_writes
from tracker.services.boosters import requests as boosters
from tracker.services.clinic import attention
from tracker.services.course import writes as course

Counter = Callable[[], Any]


def staff_of(factory: Factory, clinic: Clinic) -> User:
    user = db.session.get(User, factory.user(clinic).id)
    assert user is not None
    return user


def alert(patient: Patient, kind: str, raised_ago: timedelta, **fields: Any) -> Alert:
    now = clock.now()
    row = Alert(
        patient_id=patient.id,
        clinic_id=patient.clinic_id,
        kind=kind,
        cause=fields.pop("cause", "safety" if kind == "safety" else "patient_request"),
        reason=fields.pop("reason", "PHQ-9 item 9 answered above 0" if kind == "safety" else "Something to look at."),
        raised_at=now - raised_ago,
        deadline=now - raised_ago + timedelta(minutes=30) if kind == "safety" else None,
        **fields,
    )
    db.session.add(row)
    db.session.flush()
    return row


def request(
    patient: Patient, urgency: str, raised_ago: timedelta, evidence: Sequence[CheckIn] = (), status: str = "open"
) -> BoosterRequest:
    raised_at = clock.now() - raised_ago
    row = BoosterRequest(
        patient_id=patient.id,
        clinic_id=patient.clinic_id,
        urgency=urgency,
        status=status,
        raised_by="scan",
        raised_at=raised_at,
        evidence=[BoosterEvidence(checkin_id=c.id, added_at=raised_at) for c in evidence],
    )
    db.session.add(row)
    db.session.flush()
    return row


def ago(days: float) -> datetime:
    return clock.now() - timedelta(days=days)


def test_safety_first_oldest_first_then_urgent_routine_and_attention(ctx: None, factory: Factory) -> None:
    clinic = factory.clinic()
    staff = staff_of(factory, clinic)
    names = ["Newer safety", "Older safety", "Urgent", "Routine", "Missed", "Other", "Booked", "Done"]
    p = {name: factory.patient(clinic, display_name=name) for name in names}
    alert(p["Newer safety"], "safety", timedelta(minutes=5))
    alert(p["Older safety"], "safety", timedelta(minutes=40))
    request(p["Routine"], "routine", timedelta(days=3))  # older than the urgent one, yet after it
    request(p["Urgent"], "urgent", timedelta(hours=2))
    gap = Gap(p["Missed"].id, "checkin:x", ago(25))
    alert(
        p["Missed"],
        "attention",
        timedelta(days=4),
        cause="missed_checkin",
        dedupe_key=gap.alert_key,
        reason="No check-in for 21 days.",
    )
    alert(p["Other"], "attention", timedelta(days=1))
    request(p["Booked"], "routine", timedelta(days=5), status="scheduled")  # booked: nothing to do until its day
    alert(
        p["Done"],
        "safety",
        timedelta(days=2),
        status="resolved",  # CLINICAL.md §3: only a resolved safety alert leaves the queue
        acknowledged_by_id=staff.id,
        acknowledged_at=ago(1),
        resolved_by_id=staff.id,
        resolved_at=ago(1),
        risk_level="low",
    )

    items = attention.queue(staff, clock.now())
    assert [i.patient_name for i in items] == ["Older safety", "Newer safety", "Urgent", "Routine", "Missed", "Other"]
    assert [i.title for i in items] == [
        "Safety: item 9",
        "Safety: item 9",
        "Urgent booster request",
        "Routine booster request",
        "Missed check-ins",
        "Needs attention",
    ]
    older = items[0]
    assert older.overdue(clock.now()) and not items[1].overdue(clock.now())
    assert older.anchor == f"alert-{older.target_id}" and items[2].anchor == "booster"


def test_a_severe_side_effect_comes_before_older_missed_check_ins(ctx: None, factory: Factory) -> None:
    clinic = factory.clinic()
    staff = staff_of(factory, clinic)
    missed = [factory.patient(clinic, display_name=f"Missed {n}") for n in range(3)]
    for n, patient in enumerate(missed):
        gap = Gap(patient.id, f"checkin:{n}", ago(30))
        alert(patient, "attention", timedelta(days=10 + n), cause="missed_checkin", dedupe_key=gap.alert_key)
    severe = factory.patient(clinic, display_name="Severe")
    alert(severe, "attention", timedelta(hours=1), cause="severe_side_effect", reason="Side effect reported as severe.")
    safety = factory.patient(clinic, display_name="Safety")
    alert(safety, "safety", timedelta(minutes=5))

    first = attention.queue_page(staff, clock.now(), per_page=2)
    assert [i.patient_name for i in first.items] == ["Safety", "Severe"]
    assert first.items[1].rank < attention.RANKS["attention"] and first.more
    whole = attention.queue(staff, clock.now())
    assert [i.patient_name for i in whole] == ["Safety", "Severe", "Missed 2", "Missed 1", "Missed 0"]


def test_the_routine_phrase_names_the_evidence_and_the_windows_low(ctx: None, factory: Factory) -> None:
    """CLINICAL.md §5: the reference low counts only check-ins after the last infusion."""
    clinic = factory.clinic()
    patient = factory.patient(clinic)
    factory.checkin(patient, total=2, taken_at=ago(40))  # before the infusion: never a reference low
    factory.infusion(patient, "booster", given_at=ago(30))
    for days, total in [(28, 8), (22, 6), (16, 7)]:
        factory.checkin(patient, total=total, taken_at=ago(days))
    first = factory.checkin(patient, total=14, taken_at=ago(9))
    second = factory.checkin(patient, total=17, taken_at=ago(1))
    request(patient, "routine", timedelta(hours=20), [second, first])

    [item] = attention.queue(staff_of(factory, clinic), clock.now())
    assert item.why == "PHQ-9 14 → 17 over 8 days, low was 6"


def test_the_urgent_phrase_names_the_single_check_in_and_its_day(ctx: None, factory: Factory) -> None:
    clinic = factory.clinic(timezone="America/Chicago")
    patient = factory.patient(clinic)
    factory.infusion(patient, "booster", given_at=ago(20))
    factory.checkin(patient, total=5, taken_at=ago(10))
    urgent = factory.checkin(patient, total=22, taken_at=ago(1))
    request(patient, "urgent", timedelta(hours=23), [urgent])

    [item] = attention.queue(staff_of(factory, clinic), clock.now())
    assert item.why == "PHQ-9 22 on Nov 20, low was 5"  # the day in the clinic's zone


def test_an_approved_request_waits_for_its_booking(ctx: None, factory: Factory) -> None:
    clinic = factory.clinic()
    patient = factory.patient(clinic)
    factory.checkin(patient, total=4, taken_at=ago(12))
    signal = factory.checkin(patient, total=21, taken_at=ago(2))
    request(patient, "urgent", timedelta(days=1), [signal], status="approved")
    [item] = attention.queue(staff_of(factory, clinic), clock.now())
    assert item.why.endswith("; approved, not booked yet") and item.status == "approved"


def test_a_patients_own_request_shows_once_in_their_words(ctx: None, factory: Factory) -> None:
    clinic = factory.clinic()
    patient = factory.patient(clinic)
    raised = boosters.raise_request(patient, "patient", None, "I can feel it   coming back.")
    assert db.session.scalar(sa.select(Alert).where(Alert.booster_request_id == raised.id)) is not None

    [item] = attention.queue(staff_of(factory, clinic), clock.now())
    assert (item.kind, item.target_id) == ("booster", raised.id)
    assert item.why == "Patient asked: “I can feel it coming back.”"


def test_a_discharged_patients_open_alert_stays_in_the_queue_until_resolved(ctx: None, factory: Factory) -> None:
    """CLINICAL.md §5: discharge cancels the open request; the alert it carried is still open, so still queued."""
    clinic = factory.clinic()
    patient = factory.patient(clinic, phase="as_needed")
    staff = staff_of(factory, clinic)
    raised = boosters.raise_request(patient, "patient", None, "I can feel it coming back.")
    [carried] = db.session.scalars(sa.select(Alert).where(Alert.booster_request_id == raised.id))
    missed = alert(patient, "attention", timedelta(days=1), cause="missed_checkin", reason="No check-in.")
    course.change_phase(patient, "discharged", staff, "Moved to another clinic.")
    assert raised.status == "cancelled"
    items = attention.queue(staff, clock.now())
    assert {(i.kind, i.target_id) for i in items} == {("attention", carried.id), ("attention", missed.id)}
    alert_writes.resolve(carried, staff, None, note="Called: fine, moving.")
    assert [i.target_id for i in attention.queue(staff, clock.now())] == [missed.id]


def test_the_safety_phrase_quotes_item_9(ctx: None, factory: Factory) -> None:
    clinic = factory.clinic()
    patient = factory.patient(clinic)
    checkin = factory.checkin(patient, answers=[2, 2, 1, 1, 1, 1, 1, 1, 2])
    alert(patient, "safety", timedelta(minutes=3), checkin_id=checkin.id)
    [item] = attention.queue(staff_of(factory, clinic), clock.now())
    assert item.why == "Item 9 (thoughts of death or self-harm) answered “More than half the days”; PHQ-9 12"
    assert item.deadline is not None and attention.deadline_phrase(item.deadline, clock.now()) == "due in 27 min"


def test_only_the_staff_members_clinic(ctx: None, factory: Factory) -> None:
    mine, theirs = factory.clinic(), factory.clinic()
    alert(factory.patient(mine, display_name="Mine"), "safety", timedelta(minutes=1))
    alert(factory.patient(theirs, display_name="Theirs"), "safety", timedelta(minutes=1))
    request(factory.patient(theirs), "urgent", timedelta(hours=1))
    assert [i.patient_name for i in attention.queue(staff_of(factory, mine), clock.now())] == ["Mine"]


def test_the_read_is_audited(ctx: None, factory: Factory) -> None:
    clinic = factory.clinic()
    staff = staff_of(factory, clinic)
    alert(factory.patient(clinic), "attention", timedelta(hours=1))
    attention.queue(staff, clock.now())
    db.session.flush()
    [event] = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "attention.list"))
    assert event.actor_id == staff.id and event.detail == {"count": 1}


def _fill(factory: Factory, clinic: Clinic, copies: int) -> None:
    for n in range(copies):
        safety = factory.patient(clinic)
        checkin = factory.checkin(safety, answers=[1, 1, 1, 1, 1, 1, 1, 1, 1])
        alert(safety, "safety", timedelta(minutes=n + 1), checkin_id=checkin.id)
        for urgency in ("urgent", "routine"):
            patient = factory.patient(clinic)
            factory.infusion(patient, "booster", given_at=ago(30))
            factory.checkin(patient, total=4, taken_at=ago(20))
            evidence = [factory.checkin(patient, total=t, taken_at=ago(d)) for t, d in [(12, 9), (20, 1)]]
            request(patient, urgency, timedelta(hours=n + 1), evidence)
        alert(factory.patient(clinic), "attention", timedelta(days=n + 1))


def test_the_query_count_does_not_grow_with_the_queue(ctx: None, factory: Factory, count_queries: Counter) -> None:
    clinic = factory.clinic()
    staff = staff_of(factory, clinic)
    _fill(factory, clinic, 1)
    db.session.expire_all()  # every object loaded afresh, as in a request
    with count_queries() as few:
        assert len(attention.queue(staff, clock.now())) == 4
        db.session.flush()
    _fill(factory, clinic, 4)
    db.session.expire_all()
    with count_queries() as many:
        assert len(attention.queue(staff, clock.now())) == 20
        db.session.flush()
    assert few.count == many.count <= 10  # with the patients flagged at high risk (services/alerts/risk_flag.py)


@pytest.mark.parametrize(
    ("minutes", "words"),
    [(0, "0 min"), (59, "59 min"), (60, "1 h"), (125, "2 h 5 min"), (7 * 60 + 5, "7 h"), (49 * 60, "2 days")],
)
def test_waits_read_at_a_glance(minutes: int, words: str) -> None:
    assert attention.duration_phrase(timedelta(minutes=minutes)) == words


def test_deadlines_say_due_or_overdue() -> None:
    now = datetime(2026, 11, 21, 15, 0).astimezone()
    assert attention.deadline_phrase(now + timedelta(minutes=18), now) == "due in 18 min"
    assert attention.deadline_phrase(now - timedelta(minutes=75), now) == "overdue by 1 h 15 min"


def test_evidence_phrases_for_many_check_ins_and_none() -> None:
    from tracker.relapse import CheckInPoint

    base = datetime(2026, 11, 1, 12, 0).astimezone()
    many = [CheckInPoint(f"c{i}", base + timedelta(days=i), 10 + i) for i in range(6)]
    assert attention.evidence_phrase(many, 4) == "PHQ-9 10 → … → 15 over 5 days, low was 4"
    assert attention.evidence_phrase([], 4) == ""
    same_day = many[:2]
    assert attention.evidence_phrase([same_day[0], CheckInPoint("x", base + timedelta(hours=3), 12)], None) == (
        "PHQ-9 10 → 12 the same day"
    )
