"""What became of the text that told the on-call contact about a safety alert (CLINICAL.md §3), in words.

The page says what the outbox knows, never more: a text only queued has not reached anybody yet.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from datetime import datetime, tzinfo

import sqlalchemy as sa

from tracker import local_time
from tracker.extensions import db
from tracker.models import OutboundMessage


def dedupe_key(alert_id: uuid.UUID) -> str:
    """The outbox key of the first on-call text of a safety alert (services/alerts/writes.py writes it)."""
    return f"safety-oncall:{alert_id}"


def of_alerts(alert_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, OutboundMessage]:
    """Each safety alert's first on-call text, by alert id (one query)."""
    keys = {dedupe_key(alert_id): alert_id for alert_id in alert_ids}
    if not keys:
        return {}
    rows = db.session.scalars(sa.select(OutboundMessage).where(OutboundMessage.dedupe_key.in_(keys)))
    return {keys[row.dedupe_key]: row for row in rows if row.dedupe_key is not None}


def step(message: OutboundMessage | None, recipient: Callable[[str], str], now: datetime, zone: tzinfo) -> str:
    """'Text to the on-call contact queued', '… sent at 10:31 AM', '… failed', from the outbox row's state."""
    if message is None:
        return "No text to the on-call contact on record (the clinic had no on-call or backup phone)"
    who = f"Text to {recipient(message.to_phone)}"
    status = message.status
    if status == "queued" and message.attempts == 0:
        return f"{who} queued"
    if status in ("queued", "sending"):
        tries = f"{message.attempts} attempt{'s' if message.attempts != 1 else ''}"
        return f"{who} not sent yet ({tries}, trying again)"
    if status in ("sent", "delivered"):
        if message.sent_at is None:
            return f"{who} {status}"
        sent = f"sent {_when(message.sent_at, now, zone)}"
        return f"{who} delivered ({sent})" if status == "delivered" else f"{who} {sent}"
    if status == "cancelled":
        return f"{who} cancelled"
    return f"{who} failed"


def _when(moment: datetime, now: datetime, zone: tzinfo) -> str:
    at, today = local_time.in_zone(moment, zone), local_time.in_zone(now, zone)
    if at.date() == today.date():
        return f"at {at.hour % 12 or 12}:{at:%M} {'AM' if at.hour < 12 else 'PM'}"
    return local_time.wall_clock(moment, zone)
