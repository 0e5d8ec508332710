"""The audit log: every read or change of a patient's record by staff."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from tracker.clock import system_now
from tracker.models.base import Base, JSONType, id_column


class AuditEvent(Base):
    __tablename__ = "audit_event"
    __table_args__ = (
        sa.Index("ix_audit_event_clinic_at", "clinic_id", "at"),
        sa.Index("ix_audit_event_patient_at", "patient_id", "at"),
    )

    id: Mapped[uuid.UUID] = id_column()
    at: Mapped[datetime] = mapped_column(default=system_now)
    # Kept as plain ids, not foreign keys: the log outlives what it speaks of.
    actor_id: Mapped[uuid.UUID | None]
    actor_role: Mapped[str | None] = mapped_column(sa.String(20))
    clinic_id: Mapped[uuid.UUID | None]
    patient_id: Mapped[uuid.UUID | None]
    action: Mapped[str] = mapped_column(sa.String(60))  # e.g. patient.read, booster.approve
    target_type: Mapped[str | None] = mapped_column(sa.String(40))
    target_id: Mapped[str | None] = mapped_column(sa.String(64))
    ip: Mapped[str | None] = mapped_column(sa.String(64))
    user_agent: Mapped[str | None] = mapped_column(sa.String(300))
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
