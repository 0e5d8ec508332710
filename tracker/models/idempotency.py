"""Stored answers to creating POSTs, so a phone's retry returns the first answer (API.md)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from tracker.clock import system_now
from tracker.models.base import Base, JSONType, id_column


class IdempotencyRecord(Base):
    __tablename__ = "idempotency_record"
    __table_args__ = (
        sa.UniqueConstraint("user_id", "key", name="uq_idempotency_record_user_key"),
        sa.Index("ix_idempotency_record_created", "created_at"),  # the 24 h purge
    )

    id: Mapped[uuid.UUID] = id_column()
    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("user_account.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(sa.String(255))
    method: Mapped[str] = mapped_column(sa.String(10))
    path: Mapped[str] = mapped_column(sa.String(500))
    request_hash: Mapped[str] = mapped_column(sa.String(64))  # the same key with another body is a 422
    status_code: Mapped[int]
    response_body: Mapped[Any] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(default=system_now)
