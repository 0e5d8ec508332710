"""The patient page says what became of a safety alert's text to the on-call contact, as the outbox has it."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from conftest import TEST_NOW, AuthActions
from factories import Factory
from flask import Flask
from flask.testing import FlaskClient

from tracker.models import OutboundMessage
from tracker.services.alerts import writes as alerts


def _step(client: FlaskClient, patient_id: object) -> str:
    response = client.get(f"/clinic/patients/{patient_id}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    steps = html.split('aria-label="What has been done">', 1)[1].split("</ol>", 1)[0]
    return steps.split("<li>", 1)[1].split("</li>", 1)[0]


def test_the_on_call_step_follows_the_outbox(
    app: Flask, client: FlaskClient, auth: AuthActions, factory: Factory
) -> None:
    """CLINICAL.md §3: a queued text has reached nobody; the page says queued, then sent at its time, or failed."""
    clinic = factory.clinic(phone="+13125550199", oncall_phone="+13125550100")
    patient = factory.patient(clinic, phone="+13125550901")
    factory.user(clinic, email="doc@example.org")
    with factory.session():
        checkin = factory.checkin(patient, answers=[2, 2, 1, 1, 1, 1, 1, 1, 1])
        alerts.open_safety_alert(patient, checkin)
    assert auth.login("doc@example.org").status_code == 302

    assert _step(client, patient.id) == "Text to the on-call contact queued"

    def outbox(**values: object) -> None:
        with factory.session() as s:
            s.execute(sa.update(OutboundMessage).where(OutboundMessage.purpose == "safety_oncall").values(**values))

    outbox(attempts=1, next_attempt_at=TEST_NOW + timedelta(minutes=1))
    assert _step(client, patient.id) == "Text to the on-call contact not sent yet (1 attempt, trying again)"
    # 14:31 UTC is 8:31 AM in Chicago on the test's day.
    outbox(status="sent", sent_at=TEST_NOW.replace(hour=14, minute=31, second=0, microsecond=0))
    assert _step(client, patient.id) == "Text to the on-call contact sent at 8:31 AM"
    outbox(status="delivered")
    assert _step(client, patient.id) == "Text to the on-call contact delivered (sent at 8:31 AM)"
    outbox(status="failed", error_code=30003)
    assert _step(client, patient.id) == "Text to the on-call contact failed"
