"""Item 9 by text (CLINICAL.md §3 "Over SMS"): replies normalised, words at item 9 a possible disclosure, STOP
during a check-in and unfinished check-ins that matter opening attention alerts."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest
import sqlalchemy as sa
from factories import Factory
from flask import Flask
from flask.testing import FlaskClient
from sms_webhook import TEXTING_CLINIC, Fetch, outbox_to, texter
from werkzeug.test import TestResponse

from tracker.clock import FrozenClock
from tracker.extensions import db
from tracker.jobs.expire_sms_checkins import expire_sms_checkins
from tracker.models import Alert, AlertCheckIn, CheckIn, Patient, SmsConversation
from tracker.services.checkins import by_text as conversation

CLINIC = {**TEXTING_CLINIC, "signal_min_total": 10}
ONCALL = TEXTING_CLINIC["oncall_phone"]
Text = Callable[[str], TestResponse]
WORDS = "I want to die"


@pytest.fixture
def text(client: FlaskClient, signed: None, patient: Patient, clock: FrozenClock) -> Text:
    send = texter(client, patient.phone)

    def later(body: str) -> TestResponse:
        clock.advance(minutes=1)
        return send(body)

    return later


def replies(fetch: Fetch, patient: Patient, clock: FrozenClock) -> list[tuple[str, str]]:
    """(purpose, body) of what the patient was sent in answer to their latest text, in the order the dispatcher
    sends texts queued at one moment: critical ones (the crisis text) first."""
    answer = [m for m in outbox_to(fetch, patient.phone) if m.created_at == clock()]
    return [(m.purpose, m.body) for m in sorted(answer, key=lambda m: not m.critical)]


def to_item_9(text: Text, answers: tuple[int, ...] = (0, 1, 0, 1, 0, 0, 0, 0)) -> None:
    text("CHECKIN")
    for answer in answers:
        text(str(answer))


@pytest.mark.parametrize(
    ("reply", "value"),
    [
        ("2", 2),
        ("2.", 2),
        (" 2 ", 2),
        ("\u00a02\t", 2),
        ("２", 2),  # full-width
        ("３．", 3),  # full-width with a full-width full stop
        ("0)", 0),
        ("-1", None),
        ("+2", None),
        ("4", None),
        ("10", None),
        ("2/3", None),
        ("1 or 2", None),
        ("two", None),
        ("", None),
        ("😢", None),
    ],
)
def test_replies_are_normalised_before_they_are_read(reply: str, value: int | None) -> None:
    assert conversation.answer_value(reply) == value


def test_keywords_are_read_in_full_width_too() -> None:
    assert conversation.keyword("ＳＴＯＰ") == "STOP"
    assert conversation.keyword(" Check in! ") == "CHECKIN"


def test_a_full_width_digit_answers_an_item(text: Text, fetch: Fetch, patient: Patient, clock: FrozenClock) -> None:
    text("CHECKIN")
    text("２")
    text("-1")  # not an answer: item 2 is asked again
    [(purpose, body)] = replies(fetch, patient, clock)
    assert purpose == "checkin_question" and body.startswith("Sorry, please reply with just 0, 1, 2 or 3.\n2/9 ")
    [active] = fetch(sa.select(SmsConversation))
    assert (active.answers, active.next_item) == ([2], 1)


def test_words_at_item_9_get_the_crisis_text_a_safety_alert_and_the_question_again(
    text: Text, fetch: Fetch, patient: Patient, clock: FrozenClock, caplog: pytest.LogCaptureFixture
) -> None:
    to_item_9(text)
    with caplog.at_level(logging.DEBUG):
        text(WORDS)

    sent = replies(fetch, patient, clock)
    assert [purpose for purpose, _ in sent] == ["crisis", "checkin_question"]
    assert sent[1][1].startswith("Sorry, please reply with just 0, 1, 2 or 3.\n9/9 Thoughts that you would be")
    [alert] = fetch(sa.select(Alert))
    assert (alert.kind, alert.status, alert.reply_text, alert.checkin_id) == ("safety", "open", WORDS, None)
    assert alert.deadline is not None and alert.escalate_at == alert.deadline
    [oncall] = outbox_to(fetch, ONCALL)
    assert (oncall.purpose, oncall.critical) == ("safety_oncall", True)
    [active] = fetch(sa.select(SmsConversation))
    assert (active.status, active.next_item) == ("active", 8)
    # The words go to staff only: never into a log line nor a text.
    assert WORDS not in caplog.text
    assert all(WORDS not in body for body in (m.body for m in outbox_to(fetch, patient.phone)))
    assert WORDS not in oncall.body

    # The answer that follows completes the check-in; it joins the same alert.
    text("3")
    [checkin] = fetch(sa.select(CheckIn))
    assert checkin.item9_positive
    [joined] = fetch(sa.select(Alert))
    assert joined.id == alert.id and joined.highest_item9 == 3 and joined.reply_text == WORDS
    assert [link.checkin_id for link in fetch(sa.select(AlertCheckIn))] == [checkin.id]


def test_an_emoji_at_item_9_is_a_possible_disclosure(
    text: Text, fetch: Fetch, patient: Patient, clock: FrozenClock
) -> None:
    to_item_9(text)
    text("😢")
    assert [purpose for purpose, _ in replies(fetch, patient, clock)] == ["crisis", "checkin_question"]
    [alert] = fetch(sa.select(Alert))
    assert alert.reply_text == "😢"
    text("not now")  # a second reply joins the same alert
    [alert] = fetch(sa.select(Alert))
    assert alert.reply_text == "😢\nnot now"


def test_words_before_item_9_are_only_asked_again(
    text: Text, fetch: Fetch, patient: Patient, clock: FrozenClock
) -> None:
    text("CHECKIN")
    text("I feel awful")
    assert [purpose for purpose, _ in replies(fetch, patient, clock)] == ["checkin_question"]
    assert fetch(sa.select(Alert)) == []


def test_the_reply_shows_in_the_queue(
    text: Text, fetch: Fetch, factory: Factory, patient: Patient, clock: FrozenClock, app: Flask
) -> None:
    from tracker.services.clinic import attention

    to_item_9(text)
    text(WORDS)
    staff = factory.staff_for(patient)
    with app.app_context():
        [item] = attention.queue(db.session.merge(staff), clock())
    assert item.kind == "safety" and f"“{WORDS}”" in item.why


def test_stop_at_item_8_is_obeyed_and_opens_an_attention_alert(
    text: Text, fetch: Fetch, patient: Patient, clock: FrozenClock
) -> None:
    to_item_9(text, (0, 1, 0, 1, 0, 0, 0))  # item 8 asked
    text("STOP")

    assert replies(fetch, patient, clock) == []  # the carrier confirms; nothing more from us
    [stored] = fetch(sa.select(Patient).where(Patient.id == patient.id))
    assert stored.sms_opted_out is True
    [ended] = fetch(sa.select(SmsConversation))
    assert ended.status == "cancelled"
    [alert] = fetch(sa.select(Alert))
    assert (alert.kind, alert.cause) == ("attention", "sms_stopped_checkin")
    assert alert.reason.startswith("Stopped texts during a check-in")


def test_stop_outside_a_check_in_opens_nothing(text: Text, fetch: Fetch) -> None:
    text("STOP")
    assert fetch(sa.select(Alert)) == []


def expire_after_a_day(app: Flask, clock: FrozenClock) -> dict[str, int]:
    clock.advance(hours=24)
    with app.app_context():
        return expire_sms_checkins(db.session, clock()).counts


def test_an_unfinished_check_in_that_reached_item_9_opens_an_attention_alert_when_it_expires(
    app: Flask, text: Text, fetch: Fetch, clock: FrozenClock
) -> None:
    to_item_9(text)  # eight answers totalling 2: item 9 asked, never answered
    assert expire_after_a_day(app, clock) == {"expired": 1}
    [alert] = fetch(sa.select(Alert))
    assert (alert.kind, alert.cause) == ("attention", "sms_checkin_unfinished")
    assert "item 9" in alert.reason and "8 of 9" in alert.reason
    assert fetch(sa.select(CheckIn)) == []  # never scored (CLINICAL.md §2)
    assert expire_after_a_day(app, clock) == {}
    assert len(fetch(sa.select(Alert))) == 1


def test_an_unfinished_check_in_already_at_the_signal_total_opens_one(
    app: Flask, text: Text, fetch: Fetch, clock: FrozenClock
) -> None:
    text("CHECKIN")
    for answer in (3, 3, 3, 1):  # 10 = the clinic's signal_min_total
        text(str(answer))
    assert expire_after_a_day(app, clock) == {"expired": 1}
    [alert] = fetch(sa.select(Alert))
    assert alert.cause == "sms_checkin_unfinished"


def test_an_unfinished_check_in_below_the_signal_before_item_9_opens_nothing(
    app: Flask, text: Text, fetch: Fetch, clock: FrozenClock
) -> None:
    text("CHECKIN")
    for answer in (3, 3, 3):  # 9 < 10, item 4 asked
        text(str(answer))
    assert expire_after_a_day(app, clock) == {"expired": 1}
    assert fetch(sa.select(Alert)) == []


def test_a_stale_check_in_expired_by_the_next_text_opens_its_alert_too(
    text: Text, fetch: Fetch, clock: FrozenClock
) -> None:
    to_item_9(text)
    clock.advance(hours=25)
    text("CHECKIN")
    [alert] = fetch(sa.select(Alert))
    assert alert.cause == "sms_checkin_unfinished"
