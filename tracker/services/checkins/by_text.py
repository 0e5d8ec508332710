"""The PHQ-9 by text: one item per message, until the ninth answer is stored through the check-in service.

A conversation starts when the patient texts CHECKIN, or answers a reminder sent in the last 24 hours
with anything that is not a keyword. It is silent for 24 hours: it expires unscored (CLINICAL.md §2:
an incomplete PHQ-9 is never scored). Every reply goes through the outbox; nothing is sent here.
"""

from __future__ import annotations

import logging
import re
import uuid
from datetime import datetime, timedelta
from typing import Any, cast

import sqlalchemy as sa

from tracker import clock
from tracker.db import DbSession, insert_once
from tracker.extensions import db
from tracker.instruments.phq9 import ITEMS, STEM
from tracker.models import CheckIn, OutboundMessage, Patient, SmsConversation
from tracker.services.checkins import submit as checkins
from tracker.services.messaging import texts as messages
from tracker.services.messaging.outbox import is_reminder, queue_sms

log = logging.getLogger(__name__)

EXPIRE_AFTER = timedelta(hours=24)
REMINDER_WINDOW = timedelta(hours=24)
CHECKIN_KEYWORDS = frozenset({"CHECKIN"})
PAUSE_KEYWORDS = frozenset({"PAUSE"})
ANSWERS = {"0": 0, "1": 1, "2": 2, "3": 3}
# The SMS check-in's id follows from its conversation's, so storing it twice is impossible.
SMS_CHECKIN_NAMESPACE = uuid.UUID("5d0c7e2a-8f4b-4f3e-9b61-2a7d3c9e1f48")


def keyword(body: str) -> str:
    """The text as a keyword: letters and digits only, upper case ("Check in!" is CHECKIN, " 2." is 2)."""
    return re.sub(r"[^0-9A-Z]", "", body.upper())


def item_text(index: int) -> str:
    """Item ``index`` (0-based) as sent: the instrument's words, with the dash GSM-7 phones can show."""
    return ITEMS[index].text.replace(" — ", " - ").replace("—", "-")


def question_body(index: int, *, first: bool = False, retry: bool = False) -> str:
    question = messages.SMS_QUESTION.format(number=index + 1, text=item_text(index))
    if first:
        return messages.SMS_CHECKIN_START.format(stem=STEM, question=question)
    if retry:
        return messages.SMS_CHECKIN_RETRY.format(question=question)
    return question


def _reply(patient: Patient, body: str, purpose: str, *, critical: bool = False, dedupe_key: str | None = None) -> None:
    queue_sms(
        patient.phone,
        body,
        purpose,
        patient_id=patient.id,
        clinic_id=patient.clinic_id,
        critical=critical,
        dedupe_key=dedupe_key,
    )


def active_conversation(patient: Patient, now: datetime) -> SmsConversation | None:
    """The patient's conversation in progress, locked for this transaction; a stale one is expired first."""
    conversation = db.session.scalar(
        sa.select(SmsConversation)
        .where(SmsConversation.patient_id == patient.id, SmsConversation.status == "active")
        .with_for_update()  # two texts at once must not both answer the same item (PostgreSQL; SQLite serializes)
    )
    if conversation is not None and conversation.last_activity_at <= now - EXPIRE_AFTER:
        # The hourly job may not have run yet; the patient's next text must not land in a dead check-in.
        conversation.status = "expired"
        db.session.flush()
        return None
    return conversation


def start(patient: Patient, now: datetime) -> SmsConversation:
    """Open a conversation and ask the first item; if one is already active, ask its item again."""
    conversation = SmsConversation(
        patient_id=patient.id, instrument="phq9", answers=[], next_item=0, started_at=now, last_activity_at=now
    )
    if not insert_once(db.session, conversation):
        # Lost a race to the one-active-conversation index: the transaction goes on with the winner.
        existing = active_conversation(patient, now)
        if existing is None:
            raise RuntimeError(f"sms check-in for patient {patient.id} could be neither started nor found")
        _reply(patient, question_body(existing.next_item), "checkin_question")
        return existing
    _reply(patient, question_body(0, first=True), "checkin_question")
    log.info("sms check-in %s started for patient %s", conversation.id, patient.id)
    return conversation


def stop_active(patient: Patient, now: datetime, status: str = "cancelled") -> bool:
    """End the patient's conversation in progress without scoring it (opt-out, PAUSE)."""
    result = db.session.execute(
        sa.update(SmsConversation)
        .where(SmsConversation.patient_id == patient.id, SmsConversation.status == "active")
        .values(status=status, last_activity_at=now)
        .execution_options(synchronize_session="fetch")
    )
    return cast(sa.CursorResult[Any], result).rowcount > 0


def _recent_reminder(patient: Patient, now: datetime) -> bool:
    """A reminder reached the patient in the last 24 h, and no check-in or conversation has followed it."""
    sent_at = db.session.scalar(
        sa.select(sa.func.max(OutboundMessage.sent_at)).where(
            OutboundMessage.patient_id == patient.id,
            OutboundMessage.to_phone == patient.phone,
            is_reminder(),
            OutboundMessage.status.in_(("sent", "delivered")),
            OutboundMessage.sent_at > now - REMINDER_WINDOW,
        )
    )
    if sent_at is None:
        return False
    answered = db.session.scalar(
        sa.select(
            sa.or_(
                sa.exists().where(SmsConversation.patient_id == patient.id, SmsConversation.started_at >= sent_at),
                sa.exists().where(CheckIn.patient_id == patient.id, CheckIn.created_at >= sent_at),
            )
        )
    )
    return not answered


def _answer(patient: Patient, conversation: SmsConversation, text: str, now: datetime) -> str:
    conversation.last_activity_at = now
    value = ANSWERS.get(keyword(text))
    if value is None:
        _reply(patient, question_body(conversation.next_item, retry=True), "checkin_question")
        return "asked_again"
    conversation.answers = [*conversation.answers, value]  # a new list, so the JSON column is written
    conversation.next_item += 1
    if conversation.next_item < len(ITEMS):
        _reply(patient, question_body(conversation.next_item), "checkin_question")
        return "answered"
    return _finish(patient, conversation)


def _finish(patient: Patient, conversation: SmsConversation) -> str:
    """The ninth answer: store the check-in (which opens the safety alert itself) and thank the patient."""
    result = checkins.submit(
        patient,
        "phq9",
        list(conversation.answers),
        None,
        "sms",
        checkin_id=uuid.uuid5(SMS_CHECKIN_NAMESPACE, str(conversation.id)),
    )
    conversation.status = "completed"
    conversation.checkin_id = result.checkin.id
    db.session.flush()
    log.info("sms check-in %s completed as check-in %s", conversation.id, result.checkin.id)
    if result.checkin.item9_positive:
        # CLINICAL.md §3: crisis resources to the patient at once; it thanks them too, so nothing else follows.
        _reply(patient, messages.CRISIS_SMS, "crisis", critical=True, dedupe_key=f"crisis:{result.checkin.id}")
        return "completed_safety"
    _reply(patient, messages.SMS_CHECKIN_THANKS, "checkin_thanks", dedupe_key=f"checkin-thanks:{result.checkin.id}")
    return "completed"


def handle_text(patient: Patient, text: str) -> str:
    """A text from a patient who has not opted out, that is none of the carrier keywords; returns what it did."""
    now = clock.now()
    word = keyword(text)
    conversation = active_conversation(patient, now)
    if word in CHECKIN_KEYWORDS:
        if conversation is not None:
            _reply(patient, question_body(conversation.next_item), "checkin_question")
            return "asked_again"
        start(patient, now)
        return "started"
    if word in PAUSE_KEYWORDS and conversation is not None:
        stop_active(patient, now)
        _reply(patient, messages.SMS_CHECKIN_PAUSED, "checkin_paused")
        return "paused"
    if conversation is not None:
        return _answer(patient, conversation, text, now)
    if word not in PAUSE_KEYWORDS and _recent_reminder(patient, now):
        start(patient, now)
        return "started"
    _reply(patient, messages.SMS_NOT_UNDERSTOOD, "sms_not_understood")
    return "not_understood"


def expire_stale(session: DbSession, now: datetime) -> int:
    """Mark conversations silent for 24 hours expired; they are never scored."""
    result = session.execute(
        sa.update(SmsConversation)
        .where(SmsConversation.status == "active", SmsConversation.last_activity_at <= now - EXPIRE_AFTER)
        .values(status="expired")
        .execution_options(synchronize_session=False)
    )
    return cast(sa.CursorResult[Any], result).rowcount
