"""Every SMS body: no PHI (score, severity, diagnosis, drug), GSM-7 within two segments, no carrier opt-out words.

Anyone holding the phone can read a text, and carriers keep them. The PHQ-9's own item wording is the one
exception: item 2 reads "Feeling down, depressed, or hopeless". It is a question put to every patient, not
an answer about this one (and changing validated wording would change the instrument), so the item texts
are taken out of a body before it is checked, and checked separately to be exactly the instrument's.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from factories import Factory

from tracker.clock import FrozenClock
from tracker.extensions import db
from tracker.instruments.phq9 import FREQUENCY_OPTIONS, ITEMS
from tracker.models import InboundMessage, OutboundMessage, Patient
from tracker.services.checkins import by_text as conversation
from tracker.services.messaging import texts as messages
from tracker.services.messaging.inbound import handle_inbound

FORBIDDEN = (
    "score",
    "total",
    "point",
    "mild",
    "moderate",
    "severe",
    "depress",
    "major",
    "diagnos",
    "ketamine",
    "esketamine",
    "spravato",
    "infusion",
    "phq",
)
CARRIER_WORDS = ("STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT")
# GSM 03.38: the basic set counts one, the extension table two; anything else makes a text UCS-2.
GSM_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡"
    + string.ascii_uppercase
    + "ÄÖÑÜ§¿"
    + string.ascii_lowercase
    + "äöñüà"
)
GSM_EXTENSION = set("^{}\\[~]|€\f")
SAMPLES = {
    "url": "https://tracker.example.org/invite/abc",
    "clinic": "Lakeside Wellness",
    "phone": "+13125550199",
    "when": "Tue Dec 1, 9:30 AM",
    "number": 2,
    "text": "Feeling tired or having little energy",
    "stem": "Over the last 2 weeks",
    "question": "2/9 Feeling tired",
    "lines": "call 116 123 or text SHOUT to 85258",
    "emergency": "call 112 or 999",
}


def without_item_texts(body: str) -> str:
    for index in range(len(ITEMS)):
        body = body.replace(conversation.item_text(index), "<item>")
    # The side-effect checklist's answer key (CLINICAL.md §7) is put to every patient, like the items: the levels
    # it names are choices offered, not an answer about this patient.
    return body.replace(messages.SIDE_EFFECTS_KEY, "<answer key>")


def phi_found(body: str) -> list[str]:
    lowered = without_item_texts(body).lower()
    return [word for word in FORBIDDEN if word in lowered]


def segments(body: str) -> int:
    """How many SMS a body costs: GSM-7 (160, or 153 when split) or else UCS-2 (70, or 67)."""
    if set(body) <= GSM_BASIC | GSM_EXTENSION:
        units = sum(2 if char in GSM_EXTENSION else 1 for char in body)
        return 1 if units <= 160 else -(-units // 153)
    units = len(body.encode("utf-16-le")) // 2
    return 1 if units <= 70 else -(-units // 67)


def carrier_words_found(body: str) -> list[str]:
    found = [word for word in CARRIER_WORDS if re.search(rf"\b{word}\b", body)]
    found += re.findall(r"(?i)\b(?:reply|text|send|type)\s+\W?(?:stop|cancel|end|quit|unsubscribe)\b", body)
    return found


@pytest.mark.parametrize("name", sorted(messages.ALL_TEMPLATES))
def test_templates_hold_no_phi(name: str) -> None:
    template = messages.ALL_TEMPLATES[name]

    for body in (template, template.format(**SAMPLES)):
        assert phi_found(body) == [], f"{name}: {body!r}"
        assert carrier_words_found(body) == [], f"{name}: {body!r}"


def test_the_checks_can_fail() -> None:
    assert phi_found("Your PHQ-9 score is 17 (moderately severe).") == ["score", "moderate", "severe", "phq"]
    assert phi_found("Your ketamine infusion is booked") == ["ketamine", "infusion"]
    assert carrier_words_found("Reply STOP to end this check-in") == ["STOP", "Reply STOP"]
    assert carrier_words_found("text end to leave") == ["text end"]
    assert segments("a" * 160) == 1 and segments("a" * 161) == 2 and segments("a" * 307) == 3
    assert segments("a" * 70 + "’") == 2  # one curly quote makes the whole text UCS-2


def test_the_answer_key_is_the_instruments() -> None:
    options = ", ".join(f"{option.value} {option.text}" for option in FREQUENCY_OPTIONS)
    assert f"Reply {options}" == messages.SMS_ANSWER_KEY


def test_item_texts_are_the_instruments_words_with_a_plain_dash() -> None:
    for index, item in enumerate(ITEMS):
        assert conversation.item_text(index) == item.text.replace(" — ", " - ")
        assert set(conversation.item_text(index)) <= GSM_BASIC


@pytest.mark.parametrize(
    ("index", "kind"),
    [(0, "first")] + [(index, kind) for index in range(len(ITEMS)) for kind in ("next", "retry")],
)
def test_every_question_fits_two_segments(index: int, kind: str) -> None:
    """The opening text asks item 1 under the stem; every other item comes plain or after the help line."""
    body = conversation.question_body(index, first=kind == "first", retry=kind == "retry")

    assert segments(body) <= 2, f"{len(body)} characters"
    assert phi_found(body) == []
    assert carrier_words_found(body) == []


@pytest.fixture
def produced(ctx: None, factory: Factory, clock: FrozenClock) -> Iterator[list[str]]:
    """Every body the SMS code queues, through the same functions the webhook calls."""
    clinic = factory.clinic(name="Lakeside Wellness", phone="+13125550199", oncall_phone="+13125550100")
    quiet = factory.clinic(name="Quiet Clinic")

    def text(phone: str, body: str) -> None:
        clock.advance(minutes=1)
        message = InboundMessage(from_phone=phone, body=body, received_at=clock())
        db.session.add(message)
        db.session.flush()
        handle_inbound(message)

    ordinary = factory.patient(clinic)
    for body in ["hello", "HELP", "CHECKIN", "maybe", "CHECKIN", "PAUSE", "CHECKIN", *"323132230"]:
        text(ordinary.phone, body)
    at_risk = factory.patient(clinic)
    for body in ["CHECKIN", *"333333333"]:
        text(at_risk.phone, body)
    returning = factory.patient(quiet, sms_opted_out=True)
    for body in ["START", "HELP", "STOP"]:
        text(returning.phone, body)
    text("+14155550123", "who is this")
    yield list(db.session.scalars(sa.select(OutboundMessage.body)))


def test_every_body_the_code_produces_holds_no_phi_and_fits(produced: list[str]) -> None:
    purposes = set(db.session.scalars(sa.select(OutboundMessage.purpose)))
    assert {"checkin_question", "checkin_thanks", "checkin_paused", "crisis", "safety_oncall"} <= purposes
    assert {"sms_help", "sms_opted_in", "sms_not_understood", "sms_unknown_sender"} <= purposes
    for body in produced:
        assert phi_found(body) == [], body
        assert carrier_words_found(body) == [], body
        assert segments(body) <= 2, body


def test_no_reply_names_the_patients_result(produced: list[str]) -> None:
    patients = db.session.scalars(sa.select(Patient)).all()
    totals = {str(c) for c in (20, 27)}  # the two completed check-ins: 3+2+3+1+3+2+2+3+0 and all 3s
    for patient in patients:
        bodies = db.session.scalars(sa.select(OutboundMessage.body).where(OutboundMessage.to_phone == patient.phone))
        for body in bodies:
            assert not set(re.findall(r"\d+", without_item_texts(body))) & totals, body
