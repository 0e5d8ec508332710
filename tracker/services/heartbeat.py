"""The scheduler's heartbeat rows: proof for clinicians and /readyz that the jobs are running."""

from __future__ import annotations

import os
import socket
from datetime import datetime, timedelta

import sqlalchemy as sa

from tracker.db import DbSession
from tracker.models import SchedulerHeartbeat

STALE_AFTER = timedelta(minutes=15)
# Each process start adds a row (host:pid); rows this old are of processes long gone.
FORGET_AFTER = timedelta(days=7)


def process_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:100]


def beat(session: DbSession, now: datetime, last_job: str | None = None) -> None:
    """Record that this scheduler process is alive (one row per process)."""
    name = process_name()
    row = session.get(SchedulerHeartbeat, name)
    if row is None:
        session.add(SchedulerHeartbeat(name=name, beat_at=now, started_at=now, last_job=last_job))
    else:
        row.beat_at = now
        row.last_job = last_job or row.last_job
    session.flush()


def forget_gone(session: DbSession, now: datetime) -> int:
    """Remove the rows of processes silent for a week; returns how many."""
    gone = session.execute(sa.delete(SchedulerHeartbeat).where(SchedulerHeartbeat.beat_at < now - FORGET_AFTER))
    return int(gone.rowcount)  # type: ignore[attr-defined]


def latest_beat(session: DbSession) -> datetime | None:
    return session.scalar(sa.select(sa.func.max(SchedulerHeartbeat.beat_at)))


def is_stale(session: DbSession, now: datetime) -> bool:
    """True when no scheduler has beaten for 15 minutes (or ever): clinicians see a banner."""
    last = latest_beat(session)
    return last is None or now - last > STALE_AFTER
