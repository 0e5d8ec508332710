"""A patient's consent to texts: STOP, START and HELP, and a carrier's word that a number opted out.

Consent is also checked at send time (services/messaging/delivery.py): a STOP after a text was queued
still stops it.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from tracker import clock
from tracker.extensions import db
from tracker.models import Clinic, Patient
from tracker.services.checkins import by_text as conversation
from tracker.services.messaging import texts as messages
from tracker.services.messaging.outbox import queue_sms

# Carrier keywords (the ones Twilio itself acts on), compared after conversation.keyword().
OPT_OUT_KEYWORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"})
OPT_IN_KEYWORDS = frozenset({"START", "YES", "UNSTOP"})
HELP_KEYWORDS = frozenset({"HELP", "INFO"})


def _reply(patient: Patient, body: str, purpose: str) -> None:
    queue_sms(patient.phone, body, purpose, patient_id=patient.id, clinic_id=patient.clinic_id)


def opt_out(patient: Patient, now: datetime) -> str:
    """The patient texted STOP: no more texts, and an SMS check-in under way ends.

    CLINICAL.md §3: an opt-out word in the middle of a check-in is obeyed as the carriers require, and opens an
    attention alert ("stopped texts during a check-in": the clinic has lost its channel).
    """
    # Twilio sends the carrier's confirmation itself; anything more from us would be blocked anyway.
    if not patient.sms_opted_out:
        patient.sms_opted_out = True
        patient.sms_opted_out_at = now
    if conversation.stopped_by_opt_out(patient, now) is not None:
        return "opted_out_during_checkin"
    return "opted_out"


def opt_in(patient: Patient, now: datetime) -> str:
    """The patient texted START: texts again, and the question they were on if a check-in is under way."""
    patient.sms_opted_out = False
    patient.sms_opted_out_at = None
    _reply(patient, messages.SMS_OPTED_IN, "sms_opted_in")
    active = conversation.active_conversation(patient, now)
    if active is not None:  # e.g. YES typed in the middle of a check-in: ask the item again
        _reply(patient, conversation.question_body(active.next_item), "checkin_question")
    return "opted_in"


def help_reply(patient: Patient) -> str:
    """HELP: who is texting them, how to reach the clinic, and the crisis lines of its country."""
    clinic = db.session.get(Clinic, patient.clinic_id)
    assert clinic is not None  # a patient always has a clinic (foreign key)
    _reply(patient, messages.help_sms(clinic), "sms_help")
    return "help"


def opted_out_by_carrier(phone: str) -> None:
    """The carrier says this number opted out (Twilio 21610): the patient who has it gets no more texts."""
    db.session.execute(
        sa.update(Patient)
        .where(Patient.phone == phone, Patient.sms_opted_out.is_(False))
        .values(sms_opted_out=True, sms_opted_out_at=clock.now())
        .execution_options(synchronize_session=False)
    )
