"""The send slots every dispatcher shares: one sender's rate, however many scheduler processes send through it.

A dispatcher reserves a few consecutive slots at a time (services/messaging/pacing.py says how many) by moving
the sender's ``next_free`` on in one UPDATE, so two reservations never overlap and over any stretch longer than
the slack the senders together never go faster than the rate: the row lock on PostgreSQL, the
write lock of SQLite's IMMEDIATE transaction. The caller commits each reservation at once (a short unit of work
of its own), so the next dispatcher sees it.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from tracker.db import DbSession
from tracker.models import SendLimiter

# A next_free further ahead than this is no backlog of ours (no run reserves more than a second or so): a
# clock that jumped back, or a row written under another clock. The slots start again from now.
HORIZON_SECONDS = 60.0


def _move_on(session: DbSession, key: str, span: float, now: float, slack: float) -> float | None:
    current = SendLimiter.next_free
    stale = sa.or_(current < now - slack, current > now + HORIZON_SECONDS)
    start = sa.case((stale, sa.literal(now, sa.Float())), else_=current)
    moved = session.execute(
        sa.update(SendLimiter)
        .where(SendLimiter.key == key)
        .values(next_free=start + span)
        .returning(SendLimiter.next_free)
        .execution_options(synchronize_session=False)
    ).scalar_one_or_none()
    return None if moved is None else float(moved) - span


def reserve(session: DbSession, key: str, span: float, now: float, slack: float = 0.0) -> float:
    """Reserve ``span`` seconds of the sender's slots right after the last reservation; returns their start.

    The slots follow on from the last reservation even when it ended up to ``slack`` seconds ago, so a dispatcher
    held up between two groups (its commits, a busy CPU) catches up the slots it missed, never more than
    ``slack``'s worth at once. After a longer pause the slots start from ``now``: no saved-up burst.
    """
    start = _move_on(session, key, span, now, slack)
    if start is not None:
        return start
    # The sender's first send: make its row (another dispatcher may make it at the same moment), then reserve.
    insert: Any = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(insert(SendLimiter).values(key=key, next_free=now).on_conflict_do_nothing())
    start = _move_on(session, key, span, now, slack)
    assert start is not None  # the row exists now
    return start
