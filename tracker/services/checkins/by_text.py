"""The PHQ-9 by text: one item per message, until the ninth answer is stored through the check-in service.

A conversation starts when the patient texts CHECKIN, or answers a reminder sent in the last 24 hours
with anything that is not a keyword. It is silent for 24 hours: it expires unscored (CLINICAL.md §2:
an incomplete PHQ-9 is never scored). Every reply goes through the outbox; nothing is sent here.

CLINICAL.md §3 over SMS: replies are normalised before they are read (answer_value); at item 9 a reply that
is not 0-3, and words of self-harm at any point of any conversation (tracker/safety_words.py), are a possible
disclosure (crisis text, a safety alert showing the reply, the question again); an
opt-out word during a check-in, and a check-in that expires unfinished after reaching item 9 or already at
signal_min_total, open attention alerts.
"""

from __future__ import annotations

import logging
import re
import unicodedata
import uuid
from datetime import datetime, timedelta

import sqlalchemy as sa

from tracker import clock
from tracker.db import DbSession, insert_once
from tracker.errors import TooMany
from tracker.extensions import db
from tracker.instruments import GAD7
from tracker.instruments.phq9 import ITEMS, STEM
from tracker.models import CheckIn, Clinic, OutboundMessage, Patient, SmsConversation
from tracker.safety_words import mentions_self_harm
from tracker.services.alerts import writes as alerts
from tracker.services.checkins import gad7_by_text
from tracker.services.checkins import submit as checkins
from tracker.services.messaging import texts as messages
from tracker.services.messaging.outbox import is_reminder, queue_sms
from tracker.services.side_effects import by_text as side_effect_texts

log = logging.getLogger(__name__)

EXPIRE_AFTER = timedelta(hours=24)
REMINDER_WINDOW = timedelta(hours=24)
CHECKIN_KEYWORDS = frozenset({"CHECKIN"})
PAUSE_KEYWORDS = frozenset({"PAUSE"})
ANSWERS = {"0": 0, "1": 1, "2": 2, "3": 3}
# A reply as an answer: one digit, with spaces and a closing full stop or bracket around it ("2.", " 2 ", "2)").
# "-1" or "+2" is not an answer. Read after NFKC, so full-width digits are digits.
ANSWER_PATTERN = re.compile(r"\s*([0-9])\s*[.!)]?\s*")
SAFETY_INDEX = 8  # item 9, 0-based (CLINICAL.md §3)
STOPPED_REASON = "Stopped texts during a check-in: the clinic has lost its text channel to this patient."
UNFINISHED_REASON = "An SMS check-in expired unfinished"
# The SMS check-in's id follows from its conversation's, so storing it twice is impossible.
SMS_CHECKIN_NAMESPACE = uuid.UUID("5d0c7e2a-8f4b-4f3e-9b61-2a7d3c9e1f48")


def normalised(body: str) -> str:
    """The text as read: NFKC (full-width letters and digits become the plain ones), spaces trimmed."""
    return unicodedata.normalize("NFKC", body).strip()


def keyword(body: str) -> str:
    """The text as a keyword: letters and digits only, upper case ("Check in!" is CHECKIN, "ＳＴＯＰ" is STOP)."""
    return re.sub(r"[^0-9A-Z]", "", normalised(body).upper())


def answer_value(body: str) -> int | None:
    """The reply as a PHQ-9 answer 0-3, or None ("2.", " 2 " and a full-width 2 are 2; "-1" and "4" are none)."""
    match = ANSWER_PATTERN.fullmatch(normalised(body))
    return ANSWERS.get(match.group(1)) if match else None


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


def reply(patient: Patient, body: str, purpose: str, *, critical: bool = False, dedupe_key: str | None = None) -> None:
    """A text back to the patient, through the outbox (shared with the GAD-7 by text)."""
    _reply(patient, body, purpose, critical=critical, dedupe_key=dedupe_key)


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
        expire(conversation, patient)
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


def stop_active(patient: Patient, now: datetime, status: str = "cancelled") -> SmsConversation | None:
    """End the patient's conversation in progress without scoring it (opt-out, PAUSE); the one ended, if any."""
    conversation = db.session.scalar(
        sa.select(SmsConversation)
        .where(SmsConversation.patient_id == patient.id, SmsConversation.status == "active")
        .with_for_update()
    )
    if conversation is None:
        return None
    conversation.status = status
    conversation.last_activity_at = now
    db.session.flush()
    return conversation


def stopped_by_opt_out(patient: Patient, now: datetime) -> SmsConversation | None:
    """CLINICAL.md §3: STOP in the middle of a check-in ends it, and opens an attention alert (the clinic has
    lost its channel). The opt-out itself is the caller's (services/messaging/consent.py)."""
    conversation = stop_active(patient, now)
    if conversation is not None:
        alerts.open_attention_alert(
            patient, STOPPED_REASON, cause="sms_stopped_checkin", dedupe_key=f"sms-stopped-checkin:{conversation.id}"
        )
        log.info("sms check-in %s ended by an opt-out; attention alert opened", conversation.id)
    return conversation


def needs_attention_when_unfinished(conversation: SmsConversation, signal_min_total: int) -> bool:
    """CLINICAL.md §3: an unfinished check-in that reached item 9, or whose answers already total
    ≥ signal_min_total, is one the clinic should look at."""
    return conversation.next_item >= SAFETY_INDEX or sum(conversation.answers) >= signal_min_total


def expire(conversation: SmsConversation, patient: Patient) -> None:
    """Expire one conversation, unscored, with an attention alert when it calls for one."""
    if conversation.instrument == side_effect_texts.SIDE_EFFECTS_INSTRUMENT:
        side_effect_texts.expire(conversation)
        return
    if conversation.instrument == GAD7.name:
        gad7_by_text.expire(conversation)  # CLINICAL.md §7: unscored, no safety item to alert on
        return
    conversation.status = "expired"
    clinic = db.session.get(Clinic, patient.clinic_id)
    assert clinic is not None  # a patient always has a clinic (foreign key)
    if needs_attention_when_unfinished(conversation, clinic.signal_min_total):
        reached = (
            "after reaching item 9" if conversation.next_item >= SAFETY_INDEX else "with answers that already signal"
        )
        alerts.open_attention_alert(
            patient,
            f"{UNFINISHED_REASON} {reached} ({len(conversation.answers)} of 9 answered).",
            cause="sms_checkin_unfinished",
            dedupe_key=f"sms-checkin-unfinished:{conversation.id}",
        )
    db.session.flush()


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
    value = answer_value(text)
    if value is None and conversation.next_item == SAFETY_INDEX and normalised(text):
        return _possible_disclosure(patient, conversation, text)
    if value is None:
        _reply(patient, question_body(conversation.next_item, retry=True), "checkin_question")
        return "asked_again"
    conversation.answers = [*conversation.answers, value]  # a new list, so the JSON column is written
    conversation.next_item += 1
    if conversation.next_item < len(ITEMS):
        _reply(patient, question_body(conversation.next_item), "checkin_question")
        return "answered"
    return _finish(patient, conversation)


def _possible_disclosure(patient: Patient, conversation: SmsConversation, text: str) -> str:
    """CLINICAL.md §3 over SMS: at item 9, words or an emoji instead of 0-3 may be a disclosure; so is a text
    with words of self-harm (tracker/safety_words.py) at any point of any SMS conversation.

    The crisis text goes back at once, a safety alert opens (or the open one is joined) showing the reply to
    staff, and the conversation's current question is asked again. The reply is never logged nor texted.
    """
    _crisis(patient, conversation, text)
    _reply(patient, *_question_again(conversation))
    return "possible_disclosure"


def _crisis(patient: Patient, conversation: SmsConversation, text: str) -> None:
    """The safety alert showing the reply to staff, and the crisis text to the patient at once."""
    alert = alerts.open_safety_reply(patient, text)
    _reply(patient, messages.crisis_sms(patient.clinic), "crisis", critical=True)
    log.info("sms conversation %s: a possible disclosure, safety alert %s", conversation.id, alert.id)


def _question_again(conversation: SmsConversation) -> tuple[str, str]:
    """The conversation's current question as asked again after a possible disclosure, and its purpose."""
    if conversation.instrument == side_effect_texts.SIDE_EFFECTS_INSTRUMENT:
        return side_effect_texts.question_body(conversation.next_item, retry=True), "side_effects_question"
    if conversation.instrument == GAD7.name:
        return gad7_by_text.question_body(conversation.next_item, retry=True), "checkin_question"
    return question_body(conversation.next_item, retry=True), "checkin_question"


def _finish(patient: Patient, conversation: SmsConversation) -> str:
    """The ninth answer: store the check-in (which opens the safety alert itself) and thank the patient."""
    try:
        result = checkins.submit(
            patient,
            "phq9",
            list(conversation.answers),
            None,
            "sms",
            checkin_id=uuid.uuid5(SMS_CHECKIN_NAMESPACE, str(conversation.id)),
        )
    except TooMany as error:
        return refused(patient, conversation, error)
    conversation.status = "completed"
    conversation.checkin_id = result.checkin.id
    db.session.flush()
    log.info("sms check-in %s completed as check-in %s", conversation.id, result.checkin.id)
    if result.checkin.item9_positive:
        # CLINICAL.md §3: crisis resources to the patient at once; it thanks them too, so nothing else follows.
        crisis = messages.crisis_sms(patient.clinic)
        _reply(patient, crisis, "crisis", critical=True, dedupe_key=f"crisis:{result.checkin.id}")
        return "completed_safety"
    _reply(patient, messages.SMS_CHECKIN_THANKS, "checkin_thanks", dedupe_key=f"checkin-thanks:{result.checkin.id}")
    # CLINICAL.md §7: the GAD-7 next, in a conversation of its own, when the clinic's schedule makes it due.
    if gad7_by_text.start_if_due(patient, conversation.last_activity_at) is not None:
        return "completed_then_gad7"
    return "completed"


def refused(patient: Patient, conversation: SmsConversation, error: TooMany) -> str:
    """Past the limit of check-ins a day (services/checkins/limit.py): the patient is told so in plain words.

    Refused only once answered, never when it starts: a check-in that ends with a positive item 9 is always taken
    (CLINICAL.md §3), and only its answers can tell."""
    conversation.status = "cancelled"
    db.session.flush()
    reply(patient, error.detail, "checkin_limit")
    log.info("sms check-in %s refused: past the daily limit", conversation.id)
    return "refused_limit"


def handle_text(patient: Patient, text: str) -> str:
    """A text from a patient who has not opted out, that is none of the carrier keywords; returns what it did."""
    now = clock.now()
    word = keyword(text)
    conversation = active_conversation(patient, now)
    if conversation is not None and mentions_self_harm(text):
        # CLINICAL.md §3: words of self-harm are a possible disclosure in any conversation, at any item.
        conversation.last_activity_at = now
        return _possible_disclosure(patient, conversation, text)
    if conversation is not None and conversation.instrument == side_effect_texts.SIDE_EFFECTS_INSTRUMENT:
        return side_effect_texts.handle(patient, conversation, text, now)  # CLINICAL.md §7, the next morning
    if conversation is not None and conversation.instrument == GAD7.name:
        return gad7_by_text.handle(patient, conversation, text, now)  # CLINICAL.md §7, after the PHQ-9
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
        started = start(patient, now)
        if mentions_self_harm(text):
            # CLINICAL.md §3: a first reply to a reminder in words of self-harm; start() has asked item 1.
            _crisis(patient, started, text)
            return "possible_disclosure"
        return "started"
    _reply(patient, messages.not_understood_sms(patient.clinic), "sms_not_understood")
    return "not_understood"


def expire_stale(session: DbSession, now: datetime) -> int:
    """Expire conversations silent for 24 hours, unscored; each that calls for one opens an attention alert."""
    stale = list(
        session.scalars(
            sa.select(SmsConversation)
            .where(SmsConversation.status == "active", SmsConversation.last_activity_at <= now - EXPIRE_AFTER)
            .order_by(SmsConversation.id)
            .with_for_update()
        )
    )
    for conversation in stale:
        patient = session.get(Patient, conversation.patient_id)
        assert patient is not None  # a conversation always has a patient (foreign key)
        expire(conversation, patient)
    return len(stale)
