"""The GAD-7 by text, straight after an SMS PHQ-9 when the clinic's schedule makes it due (CLINICAL.md §7).

Its own conversation (instrument "gad7"), begun when the PHQ-9's conversation completes: one item per message,
stored through the check-in service at the seventh answer. Not begun after a PHQ-9 with item 9 above 0: the
crisis text comes first, and more questions then would bury it. PAUSE ends it, CHECKIN asks its item again; a
silent one expires unscored after 24 hours, with no alert (the GAD-7 has no safety item, and the PHQ-9 before
it was already stored and judged). The texts name no instrument and carry no score.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime

from tracker.db import insert_once
from tracker.errors import TooMany
from tracker.extensions import db
from tracker.instruments import GAD7
from tracker.models import Patient, SmsConversation
from tracker.services.checkins import by_text as sms_checkin
from tracker.services.checkins import due as checkins_due
from tracker.services.checkins import submit as checkins
from tracker.services.messaging import texts as messages

log = logging.getLogger(__name__)

# The SMS GAD-7's check-in id follows from its conversation's, so storing it twice is impossible.
GAD7_CHECKIN_NAMESPACE = uuid.UUID("8a3e2f71-4c6d-4b0e-9d35-7f1a2c6e8b94")


def question_body(index: int, *, first: bool = False, retry: bool = False) -> str:
    question = messages.SMS_GAD7_QUESTION.format(number=index + 1, text=GAD7.items[index].text)
    if first:
        return messages.SMS_GAD7_START.format(stem=GAD7.stem, question=question)
    if retry:
        return messages.SMS_CHECKIN_RETRY.format(question=question)
    return question


def start_if_due(patient: Patient, now: datetime) -> SmsConversation | None:
    """Begin the GAD-7 by text if the schedule asks it now; None when it does not (or one is going already)."""
    if GAD7.name not in checkins_due.due_for(patient, now):
        return None
    conversation = SmsConversation(
        patient_id=patient.id, instrument=GAD7.name, answers=[], next_item=0, started_at=now, last_activity_at=now
    )
    if not insert_once(db.session, conversation):
        return None  # another conversation is active: the one-active-conversation index keeps it
    sms_checkin.reply(patient, question_body(0, first=True), "checkin_question")
    log.info("sms gad-7 %s started for patient %s", conversation.id, patient.id)
    return conversation


def handle(patient: Patient, conversation: SmsConversation, text: str, now: datetime) -> str:
    """A reply during the GAD-7 by text; returns what it did."""
    conversation.last_activity_at = now
    word = sms_checkin.keyword(text)
    if word in sms_checkin.PAUSE_KEYWORDS:
        sms_checkin.stop_active(patient, now)
        sms_checkin.reply(patient, messages.SMS_CHECKIN_PAUSED, "checkin_paused")
        return "paused"
    value = sms_checkin.answer_value(text)
    if word in sms_checkin.CHECKIN_KEYWORDS or value is None:
        sms_checkin.reply(patient, question_body(conversation.next_item, retry=value is None), "checkin_question")
        return "asked_again"
    conversation.answers = [*conversation.answers, value]  # a new list, so the JSON column is written
    conversation.next_item += 1
    if conversation.next_item < len(GAD7.items):
        sms_checkin.reply(patient, question_body(conversation.next_item), "checkin_question")
        return "answered"
    try:
        result = checkins.submit(
            patient,
            GAD7.name,
            list(conversation.answers),
            None,
            "sms",
            checkin_id=uuid.uuid5(GAD7_CHECKIN_NAMESPACE, str(conversation.id)),
        )
    except TooMany as error:
        return sms_checkin.refused(patient, conversation, error)
    conversation.status = "completed"
    conversation.checkin_id = result.checkin.id
    db.session.flush()
    thanks = messages.SMS_CHECKIN_THANKS
    sms_checkin.reply(patient, thanks, "checkin_thanks", dedupe_key=f"checkin-thanks:{result.checkin.id}")
    log.info("sms gad-7 %s completed as check-in %s", conversation.id, result.checkin.id)
    return "completed_gad7"


def expire(conversation: SmsConversation) -> None:
    """Unscored, and no alert: see the module's docstring."""
    conversation.status = "expired"
    db.session.flush()
