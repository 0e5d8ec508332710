"""Words of self-harm at any point of an SMS conversation (CLINICAL.md §3 "Over SMS"): handled as words at item 9
are (crisis text, safety alert showing the reply, the current question again), through the signed webhook."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
import sqlalchemy as sa
from factories import Factory
from flask import Flask
from flask.testing import FlaskClient
from sms_webhook import TEXTING_CLINIC, Fetch, outbox_to, texter
from werkzeug.test import TestResponse

from tracker.clock import FrozenClock
from tracker.extensions import db
from tracker.jobs.side_effects import ask_side_effects
from tracker.models import Alert, OutboundMessage, Patient, SmsConversation
from tracker.safety_words import mentions_self_harm

CLINIC = TEXTING_CLINIC | {"instrument_schedule": {"maintenance": {"phq9": "weekly", "gad7": "monthly"}}}
ONCALL = TEXTING_CLINIC["oncall_phone"]
RETRY = "Sorry, please reply with just 0, 1, 2 or 3."
Text = Callable[[str], TestResponse]


@pytest.mark.parametrize(
    "words",
    [
        "I want to die",
        "DIE",
        "i'd be better off dead",
        "Suicide",
        "feeling suicidal",
        "I might kill   myself",
        "I want to end my life",
        "end it all",
        "I hurt myself last night",
        "self harm",
        "self-harm again",
        "thinking of an overdose",
        "I don't want to live",
        "I don\u2019t want to live",
        "dont want to live",
        "no reason to live",
        "２ and I want to die",
    ],
)
def test_words_of_self_harm_are_caught(words: str) -> None:
    assert mentions_self_harm(words)


@pytest.mark.parametrize("words", ["diet", "studied", "2", "fine thanks", "dieting", "skill", "endless", "ok"])
def test_other_words_are_not(words: str) -> None:
    assert not mentions_self_harm(words)


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


def replies(fetch: Fetch, patient: Patient, clock: FrozenClock) -> list[tuple[str, str]]:
    """(purpose, body) answering the latest text, critical ones (the crisis text) first, as they are sent."""
    answer = [m for m in outbox_to(fetch, patient.phone) if m.created_at == clock()]
    return [(m.purpose, m.body) for m in sorted(answer, key=lambda m: not m.critical)]


def assert_disclosure(fetch: Fetch, words: str) -> None:
    [alert] = fetch(sa.select(Alert))
    assert (alert.kind, alert.status, alert.reply_text) == ("safety", "open", words)
    [oncall] = outbox_to(fetch, ONCALL)
    assert (oncall.purpose, oncall.critical) == ("safety_oncall", True) and words not in oncall.body
    patient_bodies = fetch(sa.select(OutboundMessage.body).where(OutboundMessage.to_phone != ONCALL))
    assert all(words not in body for body in patient_bodies)


def test_words_at_item_1_of_the_phq9(text: Text, fetch: Fetch, texting: Patient, clock: FrozenClock) -> None:
    text("CHECKIN")
    text("I want to die")
    sent = replies(fetch, texting, clock)
    assert [purpose for purpose, _ in sent] == ["crisis", "checkin_question"]
    assert sent[1][1].startswith(RETRY + "\n1/9 ")
    assert_disclosure(fetch, "I want to die")
    [active] = fetch(sa.select(SmsConversation))
    assert (active.status, active.answers, active.next_item) == ("active", [], 0)

    text("1")  # a plain number still answers, and the check-in goes on
    [(purpose, body)] = replies(fetch, texting, clock)
    assert purpose == "checkin_question" and body.startswith("2/9 ")
    [active] = fetch(sa.select(SmsConversation))
    assert (active.answers, active.next_item) == ([1], 1)


def test_words_in_the_gad7(text: Text, fetch: Fetch, texting: Patient, clock: FrozenClock) -> None:
    text("CHECKIN")
    for answer in ["1", "0", "1", "0", "1", "0", "0", "1", "0"]:
        text(answer)
    text("2")
    text("no reason to live")
    sent = replies(fetch, texting, clock)
    assert [purpose for purpose, _ in sent] == ["crisis", "checkin_question"]
    assert sent[1][1].startswith(RETRY) and "2/7" in sent[1][1]
    assert_disclosure(fetch, "no reason to live")
    [gad7] = fetch(sa.select(SmsConversation).where(SmsConversation.instrument == "gad7"))
    assert (gad7.status, gad7.answers, gad7.next_item) == ("active", [2], 1)


def test_words_in_the_side_effect_check(
    app: Flask, text: Text, fetch: Fetch, factory: Factory, texting: Patient, clock: FrozenClock
) -> None:
    factory.infusion(texting, given_at=clock.current - timedelta(hours=23))  # yesterday; now is the next morning
    with app.app_context():
        assert str(ask_side_effects(db.session, clock())) == "asked: 1"
    text("mild")
    text("I want to hurt myself")
    sent = replies(fetch, texting, clock)
    assert [purpose for purpose, _ in sent] == ["crisis", "side_effects_question"]
    assert sent[1][1].startswith(RETRY + "\n2/7 ")
    assert_disclosure(fetch, "I want to hurt myself")
    [check] = fetch(sa.select(SmsConversation))
    assert (check.instrument, check.status, check.answers, check.next_item) == ("side_effects", "active", [1], 1)


def test_words_as_the_first_reply_to_a_reminder(
    text: Text, fetch: Fetch, factory: Factory, texting: Patient, clock: FrozenClock
) -> None:
    with factory.session() as s:
        s.add(
            OutboundMessage(
                to_phone=texting.phone,
                body="Time for your check-in.",
                purpose="reminder_weekly",
                patient_id=texting.id,
                clinic_id=texting.clinic_id,
                status="delivered",
                attempts=1,
                sent_at=clock() - timedelta(hours=2),
                created_at=clock() - timedelta(hours=2),
            )
        )
    text("not today, I just want to end it all")
    sent = replies(fetch, texting, clock)
    assert [purpose for purpose, _ in sent] == ["crisis", "checkin_question"]
    assert "1/9 " in sent[1][1]
    assert_disclosure(fetch, "not today, I just want to end it all")
    [active] = fetch(sa.select(SmsConversation))
    assert (active.status, active.answers) == ("active", [])
