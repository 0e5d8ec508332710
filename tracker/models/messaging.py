"""SMS in and out: the outbox the dispatcher drains, inbound texts, PHQ-9-by-text conversations."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from tracker.clock import system_now
from tracker.models.base import Base, JSONType, between, id_column, one_of

# Statuses only move forward, in this order (the dispatcher enforces it).
MESSAGE_STATUSES = ("queued", "sending", "sent", "delivered", "undelivered", "failed", "cancelled")
CONVERSATION_STATUSES = ("active", "completed", "expired", "cancelled")


class OutboundMessage(Base):
    """The outbox: written in the same transaction as the change that causes it, sent after commit."""

    __tablename__ = "outbound_message"
    __table_args__ = (
        one_of("status", MESSAGE_STATUSES),
        between("attempts", 0, 100, nullable=False),
        # The dispatcher's query: due rows in send order.
        sa.Index("ix_outbound_message_due", "status", "next_attempt_at"),
        sa.Index("ix_outbound_message_patient", "patient_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = id_column()
    clinic_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("clinic.id", ondelete="SET NULL"))
    patient_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("patient.id", ondelete="SET NULL"))
    to_phone: Mapped[str] = mapped_column(sa.String(20))
    body: Mapped[str] = mapped_column(sa.String(1600))
    purpose: Mapped[str] = mapped_column(sa.String(40))  # e.g. invitation, reminder, safety_oncall, crisis
    critical: Mapped[bool] = mapped_column(default=False)  # a failure also raises an attention alert
    # Jobs name the effect a message stands for; the unique index makes "exactly once" hold.
    dedupe_key: Mapped[str | None] = mapped_column(sa.String(200), unique=True)
    status: Mapped[str] = mapped_column(sa.String(16), default="queued")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=system_now)
    lease_until: Mapped[datetime | None]
    twilio_sid: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    error_code: Mapped[int | None]
    error_message: Mapped[str | None] = mapped_column(sa.String(500))
    created_at: Mapped[datetime] = mapped_column(default=system_now)
    sent_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=system_now, onupdate=system_now)


class InboundMessage(Base):
    __tablename__ = "inbound_message"
    __table_args__ = (sa.Index("ix_inbound_message_patient", "patient_id", "received_at"),)

    id: Mapped[uuid.UUID] = id_column()
    twilio_sid: Mapped[str | None] = mapped_column(sa.String(64), unique=True)  # Twilio retries webhooks
    from_phone: Mapped[str] = mapped_column(sa.String(20))
    to_phone: Mapped[str | None] = mapped_column(sa.String(20))
    body: Mapped[str] = mapped_column(sa.String(1600))
    patient_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("patient.id", ondelete="SET NULL"))
    received_at: Mapped[datetime] = mapped_column(default=system_now)


class SmsConversation(Base):
    """A PHQ-9 answered by text, one item per message, until scored or expired."""

    __tablename__ = "sms_conversation"
    __table_args__ = (
        one_of("status", CONVERSATION_STATUSES),
        between("next_item", 0, 10, nullable=False),
        sa.Index(
            "uq_sms_conversation_one_active",
            "patient_id",
            unique=True,
            sqlite_where=sa.text("status = 'active'"),
            postgresql_where=sa.text("status = 'active'"),
        ),
        sa.Index("ix_sms_conversation_status_activity", "status", "last_activity_at"),
    )

    id: Mapped[uuid.UUID] = id_column()
    patient_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("patient.id", ondelete="CASCADE"))
    instrument: Mapped[str] = mapped_column(sa.String(16), default="phq9")
    answers: Mapped[list[int]] = mapped_column(JSONType, default=list)
    next_item: Mapped[int] = mapped_column(default=0)  # 0-based index of the question awaiting an answer
    status: Mapped[str] = mapped_column(sa.String(16), default="active")
    started_at: Mapped[datetime] = mapped_column(default=system_now)
    last_activity_at: Mapped[datetime] = mapped_column(default=system_now)
    checkin_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("checkin.id", ondelete="SET NULL"))
    # A side-effect check by text (instrument "side_effects", CLINICAL.md §7) asks about this infusion.
    infusion_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("infusion.id", ondelete="CASCADE"))
