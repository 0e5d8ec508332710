"""The PHQ-9 by text, end to end through the signed inbound webhook (and, once, the dispatcher)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
import sqlalchemy as sa
from factories import Factory
from fake_twilio import FakeTwilio
from flask import Flask
from flask.testing import FlaskClient
from sms_webhook import TEXTING_CLINIC, Fetch, outbox_to, texter
from werkzeug.test import TestResponse

from tracker.clock import FrozenClock
from tracker.extensions import db
from tracker.instruments.phq9 import STEM
from tracker.jobs.dispatch_sms import dispatch
from tracker.jobs.expire_sms_checkins import expire_sms_checkins
from tracker.models import Alert, CheckIn, OutboundMessage, Patient, SmsConversation
from tracker.services.checkins import by_text as conversation
from tracker.services.messaging import texts as messages
from tracker.services.messaging.pacing import Pacer

CLINIC = TEXTING_CLINIC
ONCALL = TEXTING_CLINIC["oncall_phone"]
# The texting clinic is in the US (America/Chicago): its crisis text and pointer give 988 and 911, as always.
CRISIS_SMS = (
    "Thank you for telling us. Your clinic has been told and will contact you; you can also call them on "
    "+13125550199. If you need help now, call or text 988. In immediate danger, call 911."
)
NOT_UNDERSTOOD = (
    "Texts here are not read by staff. Text CHECKIN to start a check-in, or HELP for your clinic's number. "
    "If you need help now, call or text 988."
)
Text = Callable[[str], TestResponse]


@pytest.fixture
def text(client: FlaskClient, signed: None, patient: Patient, clock: FrozenClock) -> Text:
    """The patient texts us; a minute passes before each text, as on a real phone."""
    send = texter(client, patient.phone)

    def later(body: str) -> TestResponse:
        clock.advance(minutes=1)
        return send(body)

    return later


def last_replies(fetch: Fetch, patient: Patient, clock: FrozenClock) -> list[str]:
    """What the patient was sent in answer to their latest text."""
    return [m.body for m in outbox_to(fetch, patient.phone) if m.created_at == clock()]


def conversations(fetch: Fetch) -> list[SmsConversation]:
    return fetch(sa.select(SmsConversation))


def test_a_whole_check_in_by_text(text: Text, fetch: Fetch, patient: Patient, clock: FrozenClock) -> None:
    answers = [1, 1, 2, 0, 1, 0, 3, 0, 0]

    text("Check in")
    [first] = last_replies(fetch, patient, clock)
    assert first.startswith("tracker check-in (text PAUSE to stop). " + STEM)
    assert "\n1/9 Little interest or pleasure in doing things\n" + messages.SMS_ANSWER_KEY in first
    for number, answer in enumerate(answers[:-1], start=2):
        text(f" {answer} ")
        [question] = last_replies(fetch, patient, clock)
        assert question.startswith(f"{number}/9 ")
        assert question.endswith(messages.SMS_ANSWER_KEY)
    text(str(answers[-1]))

    assert last_replies(fetch, patient, clock) == [messages.SMS_CHECKIN_THANKS]
    [checkin] = fetch(sa.select(CheckIn))
    assert (checkin.source, checkin.answers, checkin.total, checkin.difficulty) == ("sms", answers, 8, None)
    assert checkin.patient_id == patient.id and checkin.item9_positive is False
    [done] = conversations(fetch)
    assert (done.status, done.checkin_id, done.next_item) == ("completed", checkin.id, 9)
    assert fetch(sa.select(Alert)) == []
    # Nothing the patient was sent names their score.
    assert not any(str(checkin.total) in body for body in last_replies(fetch, patient, clock))


@pytest.mark.parametrize("reply", ["4", "10", "-", "two", "1 or 2", "", "2/3"])
def test_a_reply_that_is_not_0_to_3_is_asked_again(
    text: Text, fetch: Fetch, patient: Patient, clock: FrozenClock, reply: str
) -> None:
    text("CHECKIN")
    text("0")

    text(reply)

    [again] = last_replies(fetch, patient, clock)
    assert again.startswith("Sorry, please reply with just 0, 1, 2 or 3.\n2/9 Feeling down")
    [active] = conversations(fetch)
    assert (active.status, active.answers, active.next_item) == ("active", [0], 1)

    text("3.")
    assert last_replies(fetch, patient, clock)[0].startswith("3/9 ")


def test_item_9_sends_the_crisis_text_and_alerts_the_on_call(
    app: Flask, text: Text, fetch: Fetch, patient: Patient, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    text("CHECKIN")
    for answer in [0, 1, 0, 1, 0, 0, 0, 0]:
        text(str(answer))

    text("2")

    [checkin] = fetch(sa.select(CheckIn))
    assert checkin.item9_positive and checkin.source == "sms"
    [alert] = fetch(sa.select(Alert))
    assert (alert.kind, alert.status, alert.checkin_id) == ("safety", "open", checkin.id)
    [crisis] = [m for m in outbox_to(fetch, patient.phone) if m.created_at == clock()]
    assert (crisis.body, crisis.purpose, crisis.critical) == (CRISIS_SMS, "crisis", True)
    [oncall] = outbox_to(fetch, ONCALL)
    assert (oncall.purpose, oncall.critical) == ("safety_oncall", True)
    assert last_replies(fetch, patient, clock) == [CRISIS_SMS]  # it thanks them; no score follows

    # And both reach Twilio, the urgent texts before anything else that is waiting.
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
            for _ in range(3):
                dispatch(db.session, clock(), pacer=Pacer(100, lambda: 0.0, lambda s: None))
        bodies = [m["Body"] for m in fake.accepted]
    assert set(bodies[:2]) == {CRISIS_SMS, oncall.body}
    assert len(bodies) == 11  # nine questions, the crisis text, the on-call text


def test_a_silent_conversation_expires_unscored_after_24_hours(
    app: Flask, text: Text, fetch: Fetch, patient: Patient, clock: FrozenClock
) -> None:
    text("CHECKIN")
    text("1")
    text("2")

    clock.advance(hours=23, minutes=59)
    with app.app_context():
        assert str(expire_sms_checkins(db.session, clock())) == "nothing to do"
    assert conversations(fetch)[0].status == "active"

    clock.advance(minutes=1)
    with app.app_context():
        assert expire_sms_checkins(db.session, clock()).counts == {"expired": 1}

    [expired] = conversations(fetch)
    assert (expired.status, expired.answers, expired.checkin_id) == ("expired", [1, 2], None)
    assert fetch(sa.select(CheckIn)) == []
    text("3")  # too late: it does not land in the dead check-in
    assert last_replies(fetch, patient, clock) == [NOT_UNDERSTOOD]


def test_a_stale_conversation_is_expired_on_the_next_text_even_before_the_job(
    text: Text, fetch: Fetch, patient: Patient, clock: FrozenClock
) -> None:
    text("CHECKIN")
    clock.advance(hours=25)

    text("CHECKIN")

    statuses = sorted(c.status for c in conversations(fetch))
    assert statuses == ["active", "expired"]
    assert last_replies(fetch, patient, clock)[0].startswith("tracker check-in")


def test_checkin_during_a_check_in_asks_the_same_item_again(
    text: Text, fetch: Fetch, patient: Patient, clock: FrozenClock
) -> None:
    text("CHECKIN")
    text("2")

    text("checkin")

    [again] = last_replies(fetch, patient, clock)
    assert again.startswith("2/9 ")
    assert len(conversations(fetch)) == 1


def test_pause_ends_the_check_in(text: Text, fetch: Fetch, patient: Patient, clock: FrozenClock) -> None:
    text("CHECKIN")
    text("1")

    text("Pause")

    assert last_replies(fetch, patient, clock) == [messages.SMS_CHECKIN_PAUSED]
    assert conversations(fetch)[0].status == "cancelled"
    text("2")
    assert last_replies(fetch, patient, clock) == [NOT_UNDERSTOOD]


def test_stop_in_the_middle_ends_it_silently(text: Text, fetch: Fetch, patient: Patient, clock: FrozenClock) -> None:
    text("CHECKIN")
    text("1")

    text("STOP")

    assert last_replies(fetch, patient, clock) == []
    assert conversations(fetch)[0].status == "cancelled"
    text("CHECKIN")
    assert last_replies(fetch, patient, clock) == []  # opted out: nothing at all


def test_a_text_out_of_the_blue_gets_a_pointer_not_a_check_in(
    text: Text, fetch: Fetch, patient: Patient, clock: FrozenClock
) -> None:
    text("I am not feeling great")

    assert last_replies(fetch, patient, clock) == [NOT_UNDERSTOOD]
    assert conversations(fetch) == []


def reminder(factory: Factory, patient: Patient, sent_hours_ago: float, clock: FrozenClock) -> None:
    with factory.session() as s:
        s.add(
            OutboundMessage(
                to_phone=patient.phone,
                body="Time for your check-in.",
                purpose="reminder_weekly",
                patient_id=patient.id,
                clinic_id=patient.clinic_id,
                status="delivered",
                attempts=1,
                sent_at=clock() - timedelta(hours=sent_hours_ago),
                created_at=clock() - timedelta(hours=sent_hours_ago),
            )
        )


def test_any_reply_to_a_recent_reminder_starts_the_check_in(
    text: Text, fetch: Fetch, factory: Factory, patient: Patient, clock: FrozenClock
) -> None:
    reminder(factory, patient, 3, clock)

    text("ok")

    [first] = last_replies(fetch, patient, clock)
    assert first.startswith("tracker check-in")
    [active] = conversations(fetch)
    assert active.answers == []  # the reply itself is not taken as an answer


def test_a_reply_once_the_reminder_was_answered_starts_nothing_new(
    text: Text, fetch: Fetch, factory: Factory, patient: Patient, clock: FrozenClock
) -> None:
    reminder(factory, patient, 1, clock)
    text("ok")
    for _ in range(9):
        text("0")

    text("thanks!")

    assert last_replies(fetch, patient, clock) == [NOT_UNDERSTOOD]
    assert [c.status for c in conversations(fetch)] == ["completed"]


def test_a_reminder_older_than_24_hours_does_not_count(
    text: Text, fetch: Fetch, factory: Factory, patient: Patient, clock: FrozenClock
) -> None:
    reminder(factory, patient, 24, clock)

    text("ok")

    assert last_replies(fetch, patient, clock) == [NOT_UNDERSTOOD]


@pytest.fixture
def in_context(ctx: None, factory: Factory) -> Iterator[Patient]:
    yield factory.patient(factory.clinic())


def test_one_active_conversation_per_patient(in_context: Patient, clock: FrozenClock) -> None:
    first = conversation.start(in_context, clock())
    second = conversation.start(in_context, clock())

    assert second.id == first.id
    active = db.session.scalars(sa.select(SmsConversation).where(SmsConversation.status == "active")).all()
    assert len(active) == 1
    bodies = db.session.scalars(sa.select(OutboundMessage.body)).all()
    assert len(bodies) == 2 and bodies[1].startswith("1/9 ")  # the second start asked the same item again


def test_the_index_refuses_a_second_active_conversation(in_context: Patient, clock: FrozenClock) -> None:
    db.session.add(SmsConversation(patient_id=in_context.id, started_at=clock(), last_activity_at=clock()))
    db.session.flush()

    with pytest.raises(sa.exc.IntegrityError), db.session.begin_nested():
        db.session.add(SmsConversation(patient_id=in_context.id, started_at=clock(), last_activity_at=clock()))
        db.session.flush()
