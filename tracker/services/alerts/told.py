"""Whether the clinic has been told of a check-in's safety event: what the patient's crisis page may claim.

The text to the on-call contact goes through the outbox (sent after commit, retried when Twilio fails), so on
the page that follows a check-in it is usually still queued: the page says "has been told" only once the
carrier took it.
"""

from __future__ import annotations

import sqlalchemy as sa

from tracker.extensions import db
from tracker.models import Alert, AlertCheckIn, CheckIn, OutboundMessage

SENT = ("sent", "delivered")


def clinic_told(checkin: CheckIn) -> bool:
    """True when a text to on-call about the safety alert this check-in raised or joined has been sent."""
    alert = db.session.scalar(
        sa.select(Alert)
        .join(AlertCheckIn, AlertCheckIn.alert_id == Alert.id)
        .where(AlertCheckIn.checkin_id == checkin.id)
    )
    if alert is None:
        return False
    sent = db.session.scalar(
        sa.select(
            sa.exists().where(
                OutboundMessage.patient_id == checkin.patient_id,
                OutboundMessage.purpose == "safety_oncall",
                OutboundMessage.created_at >= alert.raised_at,
                OutboundMessage.status.in_(SENT),
            )
        )
    )
    return bool(sent)
