"""The `escalations` job (CLINICAL.md §3): an unacknowledged safety alert goes to the backup contact, once."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
import sqlalchemy as sa
from factories import Factory
from flask import Flask

from tracker.clock import FrozenClock
from tracker.extensions import db
from tracker.jobs.registry import JobResult, load_jobs
from tracker.models import Alert, AuditEvent, Clinic, OutboundMessage, Patient
from tracker.services.alerts import writes as alerts
from tracker.services.checkins import submit as checkins
from tracker.services.messaging import texts as messages

ONCALL = "+13125550100"
BACKUP = "+13125550101"
CLINIC = {"oncall_phone": ONCALL, "backup_phone": BACKUP}
pytestmark = pytest.mark.in_app_context  # conftest's clinic, clinician and patient are made in `ctx`
ITEM9_POSITIVE = [1, 1, 1, 1, 1, 0, 0, 0, 2]


def run(clock: FrozenClock, **advance: float) -> JobResult:
    if advance:
        clock.advance(**advance)
    return load_jobs()["escalations"].run(db.session, clock())


def safety_alert(patient: Patient) -> Alert:
    """A positive item 9 through the check-in service: the alert opens and the on-call contact is texted."""
    result = checkins.submit(patient, "phq9", ITEM9_POSITIVE, None, "app")
    db.session.commit()
    assert result.alert is not None
    return result.alert


def escalation_texts() -> list[OutboundMessage]:
    return list(db.session.scalars(sa.select(OutboundMessage).where(OutboundMessage.purpose == "safety_escalation")))


def test_registered_every_minute() -> None:
    assert load_jobs()["escalations"].every == timedelta(minutes=1)


def test_unacknowledged_after_30_minutes_goes_to_the_backup_once(
    factory: Factory, clinic: Clinic, clock: FrozenClock
) -> None:
    patient = factory.patient(clinic)
    alert = safety_alert(patient)
    opened = clock()
    assert alert.deadline == opened + timedelta(minutes=30)

    assert run(clock, minutes=29, seconds=59).counts == {}
    assert escalation_texts() == []

    assert run(clock, seconds=1).counts == {"escalated": 1}
    [text] = escalation_texts()
    assert (text.to_phone, text.critical, text.patient_id) == (BACKUP, True, patient.id)
    assert text.body == messages.SAFETY_ESCALATION.format(url="http://127.0.0.1:5000/clinic/")
    assert text.dedupe_key == f"safety-escalation:{alert.id}"
    db.session.refresh(alert)
    assert alert.escalated_at == opened + timedelta(minutes=30) and alert.status == "open"
    [event] = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "alert.escalate")).all()
    assert event.target_id == str(alert.id) and event.clinic_id == clinic.id

    for _ in range(10):  # every minute after: nothing more
        assert run(clock, minutes=1).counts == {}
    assert len(escalation_texts()) == 1


def test_acknowledged_in_time_is_never_escalated(factory: Factory, clinic: Clinic, clock: FrozenClock) -> None:
    patient = factory.patient(clinic)
    alert = safety_alert(patient)
    clock.advance(minutes=12)
    alerts.acknowledge(alert, factory.staff_for(patient), risk_level="low")
    db.session.commit()

    assert run(clock, hours=2).counts == {}
    assert escalation_texts() == []


def test_acknowledged_late_but_before_the_run_is_not_escalated(
    factory: Factory, clinic: Clinic, clock: FrozenClock
) -> None:
    patient = factory.patient(clinic)
    alert = safety_alert(patient)
    clock.advance(minutes=30, seconds=30)  # past the deadline; the job's next minute has not come yet
    alerts.acknowledge(alert, factory.staff_for(patient), risk_level="moderate")
    db.session.commit()

    assert run(clock, seconds=30).counts == {}
    assert escalation_texts() == []


def test_the_clinics_own_deadline(ctx: None, factory: Factory, clock: FrozenClock) -> None:
    patient = factory.patient(factory.clinic(backup_phone=BACKUP, safety_ack_minutes=10))
    safety_alert(patient)
    assert run(clock, minutes=9).counts == {}
    assert run(clock, minutes=1).counts == {"escalated": 1}


def test_without_a_backup_the_on_call_is_told_again_and_without_either_it_is_logged(
    ctx: None, factory: Factory, clock: FrozenClock, caplog: pytest.LogCaptureFixture
) -> None:
    told_again = factory.patient(factory.clinic(oncall_phone=ONCALL))
    nobody = factory.patient(factory.clinic())
    safety_alert(told_again)
    unreachable = safety_alert(nobody)

    with caplog.at_level(logging.INFO, logger="tracker"):
        result = run(clock, minutes=30)

    assert result.counts == {"escalated": 1, "escalated_without_contact": 1}
    assert [t.to_phone for t in escalation_texts()] == [ONCALL]
    db.session.refresh(unreachable)
    assert unreachable.escalated_at is not None  # shown overdue on the dashboard; not retried every minute
    assert run(clock, minutes=1).counts == {}
    assert f"safety alert {unreachable.id} escalated without a text" in caplog.text
    for secret in (ONCALL, told_again.phone, nobody.phone, told_again.display_name):
        assert secret not in caplog.text


def test_attention_alerts_never_escalate(factory: Factory, clinic: Clinic, clock: FrozenClock) -> None:
    patient = factory.patient(clinic)
    alerts.open_attention_alert(patient, "The patient asked for a booster infusion.", cause="patient_request")
    db.session.commit()
    assert run(clock, days=3).counts == {}


def test_many_alerts_each_once(factory: Factory, clinic: Clinic, clock: FrozenClock) -> None:
    for _ in range(4):
        safety_alert(factory.patient(clinic))
        clock.advance(minutes=5)
    assert run(clock, minutes=16).counts == {"escalated": 2}  # 36, 31, 26 and 21 minutes old
    assert run(clock, minutes=10).counts == {"escalated": 2}
    assert len({t.dedupe_key for t in escalation_texts()}) == 4


def test_run_job_prints_what_it_did(app: Flask, factory: Factory, clock: FrozenClock) -> None:
    patient = factory.patient(factory.clinic(oncall_phone=ONCALL, backup_phone=BACKUP))
    with app.app_context():
        attached = db.session.get(Patient, patient.id)
        assert attached is not None
        safety_alert(attached)
    clock.advance(minutes=31)

    result = app.test_cli_runner().invoke(args=["tracker", "run-job", "escalations"])

    assert result.exit_code == 0, result.output
    assert result.output.strip() == "escalations: escalated: 1"
