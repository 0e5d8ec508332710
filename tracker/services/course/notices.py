"""The text that tells a patient the date of a booked infusion, in their own time zone (no PHI: CLINICAL.md)."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tracker.models import Infusion, OutboundMessage, Patient
from tracker.services.messaging import texts as messages
from tracker.services.messaging.outbox import queue_sms


def local_when(moment: datetime, timezone: str) -> str:
    """A moment as a patient reads it, in their zone: 'Tuesday, December 1 at 9:30 AM CST'."""
    zone: tzinfo
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = UTC
    local = moment.astimezone(zone)
    # strftime's names are English: the app never changes the C locale.
    return f"{local:%A, %B} {local.day} at {local.hour % 12 or 12}:{local:%M %p} {local.tzname()}"


def notify_booked(patient: Patient, infusion: Infusion) -> OutboundMessage | None:
    """Queue the text with the booked date and the safety instructions; nothing when opted out."""
    if patient.sms_opted_out or infusion.scheduled_for is None:
        return None
    # CLINICAL.md §1: ride home, no driving until after a night's sleep; no drug names or scores.
    body = messages.BOOSTER_SCHEDULED.format(when=local_when(infusion.scheduled_for, patient.timezone))
    return queue_sms(patient.phone, body, "booster_scheduled", patient_id=patient.id, clinic_id=patient.clinic_id)
