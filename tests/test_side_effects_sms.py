"""The next-morning side-effect check by text (CLINICAL.md §7): the `side-effects` job asks, the patient answers one
item per text through the signed webhook and the SMS conversation of the PHQ-9, and the texts reach Twilio."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
import sqlalchemy as sa
from factories import Factory
from fake_twilio import FakeTwilio
from flask import Flask
from flask.testing import FlaskClient
from sms_webhook import TEXTING_CLINIC, Fetch, outbox_to, texter
from werkzeug.test import TestResponse

from tracker import side_effects as rules
from tracker.clock import FrozenClock
from tracker.extensions import db
from tracker.jobs.dispatch_sms import dispatch
from tracker.jobs.expire_sms_checkins import expire_sms_checkins
from tracker.jobs.side_effects import ask_side_effects
from tracker.models import Alert, Clinic, Infusion, Patient, SideEffectReport, SmsConversation
from tracker.services.messaging import texts as messages
from tracker.services.messaging.pacing import Pacer
from tracker.services.side_effects import reports

CLINIC = TEXTING_CLINIC
Text = Callable[[str], TestResponse]
FORBIDDEN = ("ketamine", "infusion", "esketamine", "score", "total", "treatment")


@pytest.fixture
def text(client: FlaskClient, signed: None, patient: Patient, clock: FrozenClock) -> Text:
    send = texter(client, patient.phone)

    def later(body: str) -> TestResponse:
        clock.advance(minutes=1)
        return send(body)

    return later


@pytest.fixture
def infusion(factory: Factory, patient: Patient, clock: FrozenClock) -> Infusion:
    # Given yesterday at 10:00 in Chicago; TEST_NOW is 09:00 there, the next morning.
    return factory.infusion(patient, given_at=clock.current - timedelta(hours=23))


def run_job(app: Flask, clock: FrozenClock) -> str:
    with app.app_context():
        return str(ask_side_effects(db.session, clock()))


def replies(fetch: Fetch, patient: Patient, clock: FrozenClock) -> list[str]:
    return [m.body for m in outbox_to(fetch, patient.phone) if m.created_at == clock()]


def test_asked_the_next_morning_and_answered_by_text(
    app: Flask, text: Text, fetch: Fetch, patient: Patient, infusion: Infusion, clock: FrozenClock
) -> None:
    clock.advance(minutes=-5)
    assert run_job(app, clock) == "nothing to do"  # 08:55 in Chicago: not yet
    clock.advance(minutes=5)
    assert run_job(app, clock) == "asked: 1"
    assert run_job(app, clock) == "nothing to do"  # asked once, whatever runs again

    [first] = replies(fetch, patient, clock)
    assert first.startswith("Lakeside Wellness: a few questions on how you feel after your visit yesterday")
    assert "1/7 Since your visit yesterday: feeling strange or disconnected?\n" + messages.SIDE_EFFECTS_KEY in first
    text("mild")
    assert replies(fetch, patient, clock)[0].startswith("2/7 Since your visit yesterday: nausea or vomiting?")
    text("awful")  # not a level: the help line and the same item again
    [again] = replies(fetch, patient, clock)
    assert again.startswith("Sorry, please reply with just 0, 1, 2 or 3.\n2/7 ")
    for reply in ["0", "none", "2.", "Moderate", "0"]:
        text(reply)
    assert replies(fetch, patient, clock)[0].startswith(
        "7/7 Since your visit yesterday: pain or urgency passing urine?"
    )
    text("severe")

    assert replies(fetch, patient, clock) == [messages.SIDE_EFFECTS_THANKS]
    [report] = fetch(sa.select(SideEffectReport))
    assert (report.timing, report.source, report.infusion_id) == ("next_morning", "sms", infusion.id)
    assert report.levels == dict(zip(rules.ITEM_KEYS, [1, 0, 0, 2, 2, 0, 3], strict=True))
    [conversation] = fetch(sa.select(SmsConversation))
    assert (conversation.instrument, conversation.status) == ("side_effects", "completed")
    [alert] = fetch(sa.select(Alert))
    assert alert.cause == "severe_side_effect" and "Pain or urgency passing urine" in alert.reason
    # No text names the drug, the treatment or an answer.
    for body in [m.body for m in outbox_to(fetch, patient.phone)]:
        assert not [word for word in FORBIDDEN if word in body.lower()], body
    # Answered by text: the app's check has closed.
    with app.app_context():
        assert reports.due_check(db.session.get(Patient, patient.id)) is None


def test_answered_on_the_web_the_text_conversation_closes(
    app: Flask, text: Text, fetch: Fetch, patient: Patient, infusion: Infusion, clock: FrozenClock
) -> None:
    run_job(app, clock)
    text("1")
    with app.app_context():
        me = db.session.get(Patient, patient.id)
        assert me is not None
        reports.answer_due(me, dict.fromkeys(rules.ITEM_KEYS, "none"), "web")
        db.session.commit()
    [conversation] = fetch(sa.select(SmsConversation))
    assert conversation.status == "cancelled"
    text("2")  # no longer a side-effect answer: the usual reply to a text nobody asked for
    [reply] = replies(fetch, patient, clock)
    assert reply.startswith("Texts here are not read by staff. Text CHECKIN to start a check-in")
    assert len(fetch(sa.select(SideEffectReport))) == 1


def test_pause_ends_it_and_a_silent_check_expires_without_an_alert(
    app: Flask,
    text: Text,
    fetch: Fetch,
    factory: Factory,
    clinic: Clinic,
    patient: Patient,
    infusion: Infusion,
    clock: FrozenClock,
) -> None:
    run_job(app, clock)
    text("PAUSE")
    assert replies(fetch, patient, clock) == [messages.SIDE_EFFECTS_PAUSED]
    [paused] = fetch(sa.select(SmsConversation))
    assert paused.status == "cancelled"

    other = factory.patient(clinic, phone="+13125559876")
    factory.infusion(other, given_at=clock.current - timedelta(hours=23))
    assert run_job(app, clock) == "asked: 1"  # the other patient; the first is not asked again
    clock.advance(hours=25)
    with app.app_context():
        expire_sms_checkins(db.session, clock())
    statuses = sorted(c.status for c in fetch(sa.select(SmsConversation)))
    assert statuses == ["cancelled", "expired"]
    assert fetch(sa.select(Alert)) == []  # CLINICAL.md §7: never summed, so nothing to signal


def test_waits_while_a_phq9_by_text_is_under_way(
    app: Flask, text: Text, fetch: Fetch, patient: Patient, infusion: Infusion, clock: FrozenClock
) -> None:
    text("CHECKIN")
    assert run_job(app, clock) == "skipped: 1"
    [phq9] = fetch(sa.select(SmsConversation))
    assert phq9.instrument == "phq9"
    text("PAUSE")
    assert run_job(app, clock) == "asked: 1"


def test_opted_out_patients_are_not_asked(
    app: Flask, text: Text, fetch: Fetch, patient: Patient, infusion: Infusion, clock: FrozenClock
) -> None:
    text("STOP")
    assert run_job(app, clock) == "nothing to do"


def test_the_questions_reach_twilio(
    app: Flask, fetch: Fetch, patient: Patient, infusion: Infusion, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_job(app, clock)
    with FakeTwilio() as fake:
        for key, value in {
            "SMS_BACKEND": "twilio",
            "TWILIO_ACCOUNT_SID": fake.account_sid,
            "TWILIO_AUTH_TOKEN": fake.auth_token,
            "TWILIO_FROM_NUMBER": "+15005550006",
            "TWILIO_API_BASE_URL": fake.base_url,
        }.items():
            monkeypatch.setitem(app.config, key, value)
        with app.app_context():
            dispatch(db.session, clock(), pacer=Pacer(100, lambda: 0.0, lambda s: None))
        [sent] = fake.accepted
    assert sent["To"] == patient.phone and "1/7 Since your visit yesterday" in sent["Body"]


@pytest.mark.parametrize("index", range(len(rules.ITEMS)))
def test_every_question_fits_two_segments_in_gsm7(index: int) -> None:
    from test_sms_messages import GSM_BASIC, segments

    from tracker.services.side_effects import by_text

    for body in (by_text.question_body(index), by_text.question_body(index, retry=True)):
        assert set(body) <= GSM_BASIC and segments(body) <= 2
