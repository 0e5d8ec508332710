"""Alerts to a clinic: safety (PHQ-9 item 9, CLINICAL.md §3) and attention."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from tracker.clock import system_now
from tracker.models.base import Base, id_column, one_of

ALERT_KINDS = ("safety", "attention")
# What opened an alert: a safety alert is a positive item 9 (CLINICAL.md §3); the rest are attention alerts.
ALERT_CAUSES = (
    "safety",
    "patient_request",  # a patient asked for a booster
    "booster_raised",  # the relapse scan raised a booster request
    "booster_made_urgent",  # the relapse scan made the open request urgent
    "missed_checkin",
    "sms_undelivered",  # a critical text did not arrive
    "sms_invalid_number",  # the patient's number cannot take texts
)
ALERT_STATUSES = ("open", "acknowledged")
RISK_LEVELS = ("low", "moderate", "high")


class Alert(Base):
    __tablename__ = "alert"
    __table_args__ = (
        one_of("kind", ALERT_KINDS),
        one_of("cause", ALERT_CAUSES),
        one_of("status", ALERT_STATUSES),
        sa.CheckConstraint("risk_level IS NULL OR risk_level IN ('low', 'moderate', 'high')", name="risk_level"),
        sa.CheckConstraint(
            "status != 'acknowledged' OR (acknowledged_at IS NOT NULL AND acknowledged_by_id IS NOT NULL)",
            name="acknowledged_by_whom",
        ),
        sa.Index("ix_alert_clinic_status", "clinic_id", "status", "raised_at"),
        # The escalation job reads open alerts by deadline.
        sa.Index("ix_alert_status_deadline", "status", "deadline"),
    )

    id: Mapped[uuid.UUID] = id_column()
    patient_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("patient.id", ondelete="CASCADE"), index=True)
    clinic_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("clinic.id", ondelete="RESTRICT"))
    kind: Mapped[str] = mapped_column(sa.String(16))
    cause: Mapped[str] = mapped_column(sa.String(24))
    reason: Mapped[str] = mapped_column(sa.String(300))
    checkin_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("checkin.id", ondelete="SET NULL"))
    booster_request_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("booster_request.id", ondelete="SET NULL")
    )
    # Jobs that raise "once per gap" alerts name the gap here; the unique index makes it once.
    dedupe_key: Mapped[str | None] = mapped_column(sa.String(200), unique=True)
    status: Mapped[str] = mapped_column(sa.String(16), default="open")
    raised_at: Mapped[datetime] = mapped_column(default=system_now)
    deadline: Mapped[datetime | None]
    escalated_at: Mapped[datetime | None]
    acknowledged_by_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="SET NULL"))
    acknowledged_at: Mapped[datetime | None]
    note: Mapped[str | None] = mapped_column(sa.String(2000))
    risk_level: Mapped[str | None] = mapped_column(sa.String(10))
