"""The scheduler's heartbeat: clinicians and /readyz see when it has stopped."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from tracker.clock import system_now
from tracker.models.base import Base


class SchedulerHeartbeat(Base):
    __tablename__ = "scheduler_heartbeat"

    name: Mapped[str] = mapped_column(sa.String(100), primary_key=True)  # host:pid of the process
    beat_at: Mapped[datetime] = mapped_column(default=system_now)
    started_at: Mapped[datetime] = mapped_column(default=system_now)
    last_job: Mapped[str | None] = mapped_column(sa.String(60))
