"""A text that came in: stored once, then keywords first (consent), then the SMS check-in (CLINICAL.md §3)."""

from __future__ import annotations

import hashlib
from datetime import datetime

import sqlalchemy as sa

from tracker import clock
from tracker.config import is_e164
from tracker.db import insert_once
from tracker.extensions import db
from tracker.models import InboundMessage, OutboundMessage, Patient
from tracker.plain_text import without_unsafe
from tracker.services.checkins import by_text as conversation
from tracker.services.messaging import consent
from tracker.services.messaging import texts as messages
from tracker.services.messaging.outbox import new_sms


def store(sid: str | None, from_phone: str, to_phone: str | None, body: str) -> InboundMessage | None:
    """Keep the text, once: None when this message (Twilio retries) was stored before, now or concurrently."""
    if sid and db.session.scalar(sa.select(InboundMessage.id).where(InboundMessage.twilio_sid == sid)):
        return None
    # What a carrier hands over is kept as words: characters no text can mean would fail the insert.
    sid = without_unsafe(sid) if sid else sid
    message = InboundMessage(
        twilio_sid=sid,
        from_phone=without_unsafe(from_phone)[:20],
        to_phone=without_unsafe(to_phone or "")[:20] or None,
        body=without_unsafe(body)[:1600],
        received_at=clock.now(),
    )
    if not insert_once(db.session, message):
        return None  # the same retry, handled by a concurrent request
    return message


def _queue_once(to_phone: str, body: str, purpose: str, dedupe_key: str) -> None:
    """Queue a reply unless one with this key exists (also when a concurrent request wins the race)."""
    if db.session.scalar(sa.select(OutboundMessage.id).where(OutboundMessage.dedupe_key == dedupe_key)):
        return
    insert_once(db.session, new_sms(to_phone, body, purpose, dedupe_key=dedupe_key))


def _unknown_sender(message: InboundMessage, word: str, now: datetime) -> str:
    if word in consent.OPT_OUT_KEYWORDS or not is_e164(message.from_phone):
        return "unknown_ignored"
    # At most one neutral reply per number a day: a stranger cannot make us send a text per text.
    digest = hashlib.sha256(message.from_phone.encode()).hexdigest()[:24]
    key = f"sms-unknown:{digest}:{now.date().isoformat()}"
    _queue_once(message.from_phone, messages.SMS_UNKNOWN_SENDER, "sms_unknown_sender", key)
    return "unknown_replied"


def handle_inbound(message: InboundMessage) -> str:
    """Act on a stored inbound text: keywords first, then the SMS check-in. Returns what was done."""
    now = clock.now()
    word = conversation.keyword(message.body)
    patient = db.session.scalar(sa.select(Patient).where(Patient.phone == message.from_phone))
    if patient is None:
        return _unknown_sender(message, word, now)
    message.patient_id = patient.id
    if word in consent.OPT_OUT_KEYWORDS:
        return consent.opt_out(patient, now)
    if word in consent.OPT_IN_KEYWORDS:
        return consent.opt_in(patient, now)
    if patient.sms_opted_out:
        return "opted_out_ignored"  # they asked for no texts: nothing, whatever they send
    if word in consent.HELP_KEYWORDS:
        return consent.help_reply(patient)
    return conversation.handle_text(patient, message.body)
