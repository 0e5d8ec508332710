"""The GAD-7 by text, straight after the SMS PHQ-9 when the clinic's schedule makes it due (CLINICAL.md §7),
end to end through the signed inbound webhook."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import sqlalchemy as sa
from factories import Factory
from flask.testing import FlaskClient
from sms_webhook import TEXTING_CLINIC, Fetch, outbox_to, texter
from werkzeug.test import TestResponse

from tracker.clock import FrozenClock
from tracker.extensions import db
from tracker.jobs.expire_sms_checkins import expire_sms_checkins
from tracker.models import Alert, CheckIn, Patient, SmsConversation
from tracker.services.messaging import texts as messages

CLINIC = TEXTING_CLINIC | {"instrument_schedule": {"maintenance": {"phq9": "weekly", "gad7": "monthly"}}}
PHQ9_LOW = ["1", "0", "1", "0", "1", "0", "0", "1", "0"]
Text = Callable[[str], TestResponse]


@pytest.fixture
def texting(client: FlaskClient, signed: None, factory: Factory, clinic: object, clock: FrozenClock) -> Patient:
    return factory.patient(clinic, phase="maintenance")  # type: ignore[arg-type]


@pytest.fixture
def text(client: FlaskClient, texting: Patient, clock: FrozenClock) -> Text:
    send = texter(client, texting.phone)

    def later(body: str) -> TestResponse:
        clock.advance(minutes=1)
        return send(body)

    return later


def replies(fetch: Fetch, patient: Patient, clock: FrozenClock) -> list[str]:
    return [m.body for m in outbox_to(fetch, patient.phone) if m.created_at == clock()]


def test_the_gad7_follows_the_phq9_one_item_a_text(
    text: Text, fetch: Fetch, texting: Patient, clock: FrozenClock
) -> None:
    text("CHECKIN")
    for answer in PHQ9_LOW:
        text(answer)
    thanks, first = replies(fetch, texting, clock)
    assert thanks == messages.SMS_CHECKIN_THANKS
    assert first.startswith("Your clinic asks 7 more questions this time (text PAUSE to stop).")
    assert "\n1/7 Feeling nervous, anxious, or on edge\n" in first
    assert "GAD" not in first and "anxiety" not in first.lower()  # no instrument named (no PHI)

    text("two")  # not 0-3: asked again, nothing stored
    [again] = replies(fetch, texting, clock)
    assert again.startswith("Sorry, please reply with just 0, 1, 2 or 3.") and "1/7" in again
    for answer in ["2", "2", "1", "1", "0", "0"]:
        text(answer)
    [seventh] = replies(fetch, texting, clock)
    assert seventh.startswith("7/7 Feeling afraid, as if something awful might happen")
    text("3")
    assert replies(fetch, texting, clock) == [messages.SMS_CHECKIN_THANKS]

    stored = fetch(sa.select(CheckIn).where(CheckIn.patient_id == texting.id).order_by(CheckIn.instrument))
    assert [(c.instrument, c.total, c.source) for c in stored] == [("gad7", 9, "sms"), ("phq9", 4, "sms")]
    assert [c.status for c in fetch(sa.select(SmsConversation))] == ["completed", "completed"]
    assert fetch(sa.select(Alert)) == []


def test_not_due_no_gad7_and_a_positive_item9_gets_the_crisis_text_alone(
    text: Text, fetch: Fetch, texting: Patient, clock: FrozenClock, factory: Factory
) -> None:
    text("CHECKIN")
    for answer in [*PHQ9_LOW[:8], "1"]:  # item 9 above 0
        text(answer)
    [crisis] = replies(fetch, texting, clock)
    assert "988" in crisis  # CLINICAL.md §3: the crisis text, and no more questions after it
    assert len(fetch(sa.select(SmsConversation))) == 1

    factory.checkin(texting, answers=[0] * 7, instrument="gad7")  # answered in the app: not due now
    clock.advance(days=7)
    text("CHECKIN")
    for answer in PHQ9_LOW:
        text(answer)
    assert replies(fetch, texting, clock) == [messages.SMS_CHECKIN_THANKS]


def test_a_gad7_left_unfinished_expires_unscored_without_an_alert(
    text: Text, fetch: Fetch, texting: Patient, clock: FrozenClock, app: object
) -> None:
    text("CHECKIN")
    for answer in PHQ9_LOW:
        text(answer)
    for answer in ["3", "3", "3", "3"]:  # 12 so far: above signal_min_total, which is a PHQ-9 threshold
        text(answer)
    clock.advance(hours=25)
    with app.app_context():  # type: ignore[attr-defined]
        expire_sms_checkins(db.session, clock())
        db.session.commit()
    statuses = sorted(c.status for c in fetch(sa.select(SmsConversation)))
    assert statuses == ["completed", "expired"]
    assert fetch(sa.select(Alert)) == []
    assert [c.instrument for c in fetch(sa.select(CheckIn))] == ["phq9"]


def test_pause_ends_the_gad7(text: Text, fetch: Fetch, texting: Patient, clock: FrozenClock) -> None:
    text("CHECKIN")
    for answer in PHQ9_LOW:
        text(answer)
    text("1")
    text("PAUSE")
    assert replies(fetch, texting, clock) == [messages.SMS_CHECKIN_PAUSED]
    assert sorted(c.status for c in fetch(sa.select(SmsConversation))) == ["cancelled", "completed"]
