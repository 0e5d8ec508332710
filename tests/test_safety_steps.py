"""Safety alerts in two steps (CLINICAL.md §3): one open alert per patient that later positives join, escalation
in steps (backup, then every active clinician and admin with a phone), each once, and the return after 24 h."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from factories import Factory

from tracker.clock import FrozenClock
from tracker.errors import Conflict
from tracker.extensions import db
from tracker.jobs.registry import JobResult, load_jobs
from tracker.models import Alert, AlertCheckIn, Clinic, OutboundMessage, Patient, User
from tracker.services.alerts import queries as alert_queries
from tracker.services.alerts import writes as alerts
from tracker.services.checkins import submit as checkins
from tracker.services.clinic import attention, patient_page

ONCALL = "+13125550100"
BACKUP = "+13125550101"
CLINIC = {"oncall_phone": ONCALL, "backup_phone": BACKUP}
pytestmark = pytest.mark.in_app_context


def positive(patient: Patient, item9: int) -> Alert:
    result = checkins.submit(patient, "phq9", [1, 1, 1, 1, 1, 0, 0, 0, item9], None, "app")
    db.session.commit()
    assert result.alert is not None
    return result.alert


def texts(purpose: str) -> list[OutboundMessage]:
    return list(
        db.session.scalars(
            sa.select(OutboundMessage).where(OutboundMessage.purpose == purpose).order_by(OutboundMessage.to_phone)
        )
    )


def run(clock: FrozenClock, **advance: float) -> JobResult:
    clock.advance(**advance)
    return load_jobs()["escalations"].run(db.session, clock())


def test_a_second_positive_item_9_joins_the_open_alert(clock: FrozenClock, patient: Patient) -> None:
    first = positive(patient, 1)
    clock.advance(hours=2)
    second = positive(patient, 3)
    clock.advance(hours=1)
    third = positive(patient, 2)
    assert first.id == second.id == third.id
    assert db.session.scalars(sa.select(Alert).where(Alert.patient_id == patient.id)).all() == [first]
    db.session.refresh(first)
    links = db.session.scalars(sa.select(AlertCheckIn).order_by(AlertCheckIn.added_at)).all()
    assert [link.item9 for link in links] == [1, 3, 2] and len(first.checkin_ids) == 3
    assert first.highest_item9 == 3 and first.highest_is_nearly_every_day
    # One alert to acknowledge; on-call is texted again only for an answer higher than the alert's highest so far
    # (3 after 1), not for the 2 that followed: that join shows on the alert.
    assert len(texts("safety_oncall")) == 2
    # The deadline is the first one's: a join does not reset the escalation.
    assert first.deadline == first.raised_at + timedelta(minutes=30)


def test_an_acknowledged_alert_is_joined_too_a_resolved_one_is_not(
    clock: FrozenClock, clinician: User, patient: Patient
) -> None:
    first = positive(patient, 1)
    alerts.acknowledge(first, clinician, "Called, no answer.")
    again = positive(patient, 2)
    assert again.id == first.id and again.status == "acknowledged" and again.highest_item9 == 2
    alerts.resolve(again, clinician, "moderate", "Called", "Safety plan.", screener_not_done="Seen in ED")
    db.session.commit()
    later = positive(patient, 1)
    assert later.id != first.id and later.status == "open" and later.highest_item9 == 1


def test_the_one_open_alert_is_held_by_the_database(patient: Patient, clinic: Clinic) -> None:
    positive(patient, 1)
    twin = Alert(patient_id=patient.id, clinic_id=clinic.id, kind="safety", cause="safety", reason="x", status="open")
    db.session.add(twin)
    with pytest.raises(sa.exc.IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_resolving_twice_is_a_conflict_and_resolve_takes_charge_of_an_open_one(
    factory: Factory, clinic: Clinic, patient: Patient
) -> None:
    alert = positive(patient, 2)
    first, second = factory.user(clinic), factory.user(clinic)
    alerts.resolve(alert, first, "high", "Sent to the emergency department.", screener_not_done="Seen in ED")
    assert (alert.status, alert.acknowledged_by_id, alert.resolved_by_id) == ("resolved", first.id, first.id)
    with pytest.raises(Conflict):
        alerts.resolve(alert, second, "low")
    with pytest.raises(Conflict):
        alerts.acknowledge(alert, second)


def test_escalation_in_steps_each_once(factory: Factory, clinic: Clinic, clock: FrozenClock) -> None:
    patient = factory.patient(clinic)
    with_phone = factory.user(clinic, phone="+13125550111")
    admin = factory.user(clinic, role="admin", phone="+13125550112")
    factory.user(clinic)  # no phone
    factory.user(clinic, phone="+13125550113", active=False)  # no longer active
    factory.user(factory.clinic(), phone="+13125550114")  # another clinic's
    alert = positive(patient, 2)

    assert run(clock, minutes=30).counts == {"escalated": 1}
    [backup] = texts("safety_escalation")
    assert backup.to_phone == BACKUP
    db.session.refresh(alert)
    assert alert.escalation_step == 1 and alert.escalated_all_at is None

    assert run(clock, minutes=29).counts == {}
    assert run(clock, minutes=1).counts == {"escalated_to_staff": 1}
    staff_texts = texts("safety_escalation_all")
    assert [t.to_phone for t in staff_texts] == [with_phone.phone, admin.phone]
    assert all(t.critical and t.patient_id == patient.id for t in staff_texts)
    db.session.refresh(alert)
    assert alert.escalation_step == 2 and alert.escalated_all_at == clock() and alert.escalate_at is None

    for _ in range(5):
        assert run(clock, hours=1).counts == {}
    assert len(texts("safety_escalation")) == 1 and len(texts("safety_escalation_all")) == 2


def test_acknowledging_after_the_first_step_stops_the_second(
    factory: Factory, clinic: Clinic, clinician: User, clock: FrozenClock
) -> None:
    factory.user(clinic, phone="+13125550111")
    alert = positive(factory.patient(clinic), 1)
    assert run(clock, minutes=30).counts == {"escalated": 1}
    alerts.acknowledge(db.session.get(Alert, alert.id), clinician)  # type: ignore[arg-type]
    db.session.commit()
    assert run(clock, hours=3).counts == {}
    assert texts("safety_escalation_all") == []


def test_acknowledged_but_unresolved_comes_back_to_the_top_after_24_hours(
    factory: Factory, clinic: Clinic, clock: FrozenClock
) -> None:
    staff = db.session.get(User, factory.user(clinic, email="dr.lee@example.org").id)
    assert staff is not None
    waiting = positive(factory.patient(clinic, display_name="Waiting"), 1)
    alerts.acknowledge(waiting, staff, "Called, no answer.")
    db.session.commit()
    clock.advance(hours=1)
    positive(factory.patient(clinic, display_name="Fresh"), 2)
    alerts.open_attention_alert(factory.patient(clinic, display_name="Other"), "x", cause="missed_checkin")

    items = attention.queue(staff, clock())
    assert [i.patient_name for i in items] == ["Fresh", "Other", "Waiting"]
    last = items[-1]
    assert (last.status, last.acknowledged_by, last.returned) == ("acknowledged", "dr.lee@example.org", False)
    assert last.deadline is None  # acknowledged: no longer escalating

    clock.advance(hours=23)  # 24 h since it was acknowledged
    items = attention.queue(staff, clock())
    assert [i.patient_name for i in items] == ["Waiting", "Fresh", "Other"]
    assert items[0].returned and "24 h" in items[0].title
    listed = db.session.scalars(alert_queries.alerts_query(staff, alert_queries.UNRESOLVED)).all()
    assert listed[0].id == waiting.id


def test_the_queue_marks_nearly_every_day_as_the_highest(clock: FrozenClock, clinician: User, patient: Patient) -> None:
    positive(patient, 1)
    positive(patient, 3)
    positive(patient, 2)
    [item] = attention.queue(clinician, clock())
    assert "“Nearly every day” at the highest (the highest answer)" in item.why


def test_the_patient_page_lists_the_check_ins_and_the_steps(
    clock: FrozenClock, clinician: User, patient: Patient
) -> None:
    positive(patient, 1)
    clock.advance(minutes=40)
    alert = positive(patient, 3)
    record = patient_page.read(clinician, patient.id)
    [shown] = record.open_alerts
    assert shown.id == alert.id
    assert [item9 for _, item9 in record.alert_checkins(shown)] == [1, 3]
    alerts.acknowledge(shown, clinician)
    record = patient_page.read(clinician, patient.id)
    assert record.open_alerts == [shown]  # acknowledged, still to resolve
    alerts.resolve(shown, clinician, "low", "Called", "Fine", screener_not_done="Seen in ED")
    record = patient_page.read(clinician, patient.id)
    assert record.open_alerts == [] and record.handled_alerts == [shown]
