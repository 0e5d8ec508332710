"""The next-morning side-effect check by text (CLINICAL.md §7): one item per message, through the SMS conversation
of the PHQ-9 (services/checkins/by_text.py hands over every text while one is active).

A reply is 0-3 or a level's word (none, mild, moderate, severe); anything else gets the question again with the
help line. The seventh answer stores the report as the patient's, source "sms". No text names the drug, the
treatment or an answer: "your visit yesterday".
"""

from __future__ import annotations

import logging
import re
import unicodedata
from datetime import datetime

from tracker import side_effects as rules
from tracker.db import insert_once
from tracker.errors import Conflict
from tracker.extensions import db
from tracker.models import Clinic, Infusion, Patient, SmsConversation
from tracker.services.messaging import texts as messages
from tracker.services.messaging.outbox import queue_sms
from tracker.services.side_effects import reports
from tracker.services.side_effects.reports import SIDE_EFFECTS_INSTRUMENT

log = logging.getLogger(__name__)

RESEND_KEYWORDS = frozenset({"CHECKIN"})  # the PHQ-9's word: mid-check it asks the current item again
PAUSE_KEYWORDS = frozenset({"PAUSE"})


def question_body(index: int, *, clinic: Clinic | None = None, retry: bool = False) -> str:
    """Item ``index`` (0-based) as sent; the first carries the opening line with the clinic's name."""
    item = rules.ITEMS[index]
    question = messages.SIDE_EFFECTS_QUESTION.format(number=index + 1, text=item.words.lower())
    if clinic is not None:
        return messages.SIDE_EFFECTS_START.format(clinic=clinic.name, question=question)
    if retry:
        return messages.SIDE_EFFECTS_RETRY.format(question=question)
    return question


def _reply(patient: Patient, body: str, purpose: str, dedupe_key: str | None = None) -> None:
    queue_sms(
        body=body,
        to_phone=patient.phone,
        purpose=purpose,
        patient_id=patient.id,
        clinic_id=patient.clinic_id,
        dedupe_key=dedupe_key,
    )


def start(patient: Patient, infusion: Infusion, now: datetime) -> SmsConversation | None:
    """Ask the first item about this infusion; None when another conversation is active (asked on a later run)."""
    conversation = SmsConversation(
        patient_id=patient.id,
        instrument=SIDE_EFFECTS_INSTRUMENT,
        infusion_id=infusion.id,
        answers=[],
        next_item=0,
        started_at=now,
        last_activity_at=now,
    )
    if not insert_once(db.session, conversation):
        return None  # a PHQ-9 by text is under way: one conversation at a time
    _reply(patient, question_body(0, clinic=patient.clinic), "side_effects_question")
    return conversation


def _keyword(text: str) -> str:
    return re.sub(r"[^0-9A-Z]", "", unicodedata.normalize("NFKC", text).strip().upper())


def handle(patient: Patient, conversation: SmsConversation, text: str, now: datetime) -> str:
    """A text while the patient's side-effect check is active; returns what it did."""
    conversation.last_activity_at = now
    word = _keyword(text)
    if word in PAUSE_KEYWORDS:
        conversation.status = "cancelled"
        db.session.flush()
        _reply(patient, messages.SIDE_EFFECTS_PAUSED, "side_effects_paused")
        return "side_effects_paused"
    if word in RESEND_KEYWORDS:
        _reply(patient, question_body(conversation.next_item), "side_effects_question")
        return "side_effects_asked_again"
    level = rules.level_of(text)
    if level is None:
        _reply(patient, question_body(conversation.next_item, retry=True), "side_effects_question")
        return "side_effects_asked_again"
    conversation.answers = [*conversation.answers, level]  # a new list, so the JSON column is written
    conversation.next_item += 1
    if conversation.next_item < len(rules.ITEMS):
        db.session.flush()
        _reply(patient, question_body(conversation.next_item), "side_effects_question")
        return "side_effects_answered"
    return _finish(patient, conversation)


def _finish(patient: Patient, conversation: SmsConversation) -> str:
    infusion = db.session.get(Infusion, conversation.infusion_id)
    conversation.status = "completed"
    db.session.flush()
    if infusion is None:
        return "side_effects_gone"  # cannot happen: the conversation goes with its infusion (CASCADE)
    try:
        report = reports.record_next_morning(
            patient, infusion, dict(zip(rules.ITEM_KEYS, conversation.answers, strict=True)), "sms"
        )
    except Conflict:
        # Answered meanwhile in the app or on the web: that report stands.
        _reply(patient, messages.SIDE_EFFECTS_THANKS, "side_effects_thanks")
        return "side_effects_already_answered"
    _reply(patient, messages.SIDE_EFFECTS_THANKS, "side_effects_thanks", dedupe_key=f"side-effects-thanks:{report.id}")
    log.info("side-effect check %s by text completed as report %s", conversation.id, report.id)
    return "side_effects_completed"


def expire(conversation: SmsConversation) -> None:
    """Silent for a day: it ends unanswered. No alert: the answers so far are never added up (CLINICAL.md §7)."""
    conversation.status = "expired"
    db.session.flush()
