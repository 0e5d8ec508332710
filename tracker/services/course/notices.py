"""The text that tells a patient the date of a booked infusion, in their own time zone (no PHI: CLINICAL.md)."""

from __future__ import annotations

from tracker import local_time
from tracker.models import Infusion, OutboundMessage, Patient
from tracker.services.messaging import texts as messages
from tracker.services.messaging.outbox import queue_sms


def notify_booked(patient: Patient, infusion: Infusion) -> OutboundMessage | None:
    """Queue the text with the booked date and the safety instructions; nothing when opted out."""
    if patient.sms_opted_out or infusion.scheduled_for is None:
        return None
    # CLINICAL.md §1: ride home, no driving until after a night's sleep; no drug names or scores.
    when = local_time.spoken(infusion.scheduled_for, local_time.zone_of(patient.timezone))
    body = messages.BOOSTER_SCHEDULED.format(when=when)
    return queue_sms(patient.phone, body, "booster_scheduled", patient_id=patient.id, clinic_id=patient.clinic_id)
