"""What is kept only for a while, and forgotten on time.

Idempotency records hold whole response bodies (health data) to replay a retried request: API.md promises a
retry within 24 hours, and nothing beyond it, so they are deleted once older than that.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from tracker.db import DbSession
from tracker.models import IdempotencyRecord

IDEMPOTENCY_RETENTION = timedelta(hours=24)


def purge_idempotency_records(session: DbSession, now: datetime) -> int:
    """Delete the records older than the retry promise; returns how many went."""
    gone = session.execute(
        sa.delete(IdempotencyRecord).where(IdempotencyRecord.created_at < now - IDEMPOTENCY_RETENTION)
    )
    return int(gone.rowcount)  # type: ignore[attr-defined]
