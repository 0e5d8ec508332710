"""Booster infusion requests and the check-ins that are their evidence (CLINICAL.md §5)."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tracker.clock import system_now
from tracker.models.base import Base, id_column, one_of

REQUEST_STATUSES = ("open", "approved", "scheduled", "completed", "declined", "cancelled")
OPEN_STATUSES = ("open", "approved", "scheduled")  # API.md: these count as open
URGENCIES = ("routine", "urgent")
RAISED_BY = ("scan", "patient", "clinician")
OPEN_CONDITION = "status IN ('open', 'approved', 'scheduled')"


class BoosterRequest(Base):
    __tablename__ = "booster_request"
    __table_args__ = (
        one_of("status", REQUEST_STATUSES),
        one_of("urgency", URGENCIES),
        one_of("raised_by", RAISED_BY),
        sa.CheckConstraint("status NOT IN ('declined', 'cancelled') OR reason IS NOT NULL", name="decision_reason"),
        # CLINICAL.md §5 and API.md: one open request per patient, guarded by the database
        # so two schedulers or two clicks cannot raise a second.
        sa.Index(
            "uq_booster_request_one_open",
            "patient_id",
            unique=True,
            sqlite_where=sa.text(OPEN_CONDITION),
            postgresql_where=sa.text(OPEN_CONDITION),
        ),
        sa.Index("ix_booster_request_clinic_status", "clinic_id", "status", "urgency", "raised_at"),
        # A patient's requests by status (the scan's decisions and open requests): the partial index above
        # holds only open ones, and SQLite cannot use it for a query whose statuses are bound parameters.
        sa.Index("ix_booster_request_patient_status", "patient_id", "status"),
    )

    id: Mapped[uuid.UUID] = id_column()
    patient_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("patient.id", ondelete="CASCADE"))
    clinic_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("clinic.id", ondelete="RESTRICT"))
    status: Mapped[str] = mapped_column(sa.String(16), default="open")
    urgency: Mapped[str] = mapped_column(sa.String(10), default="routine")
    raised_by: Mapped[str] = mapped_column(sa.String(16))
    raised_by_user_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="SET NULL"))
    raised_at: Mapped[datetime] = mapped_column(default=system_now)
    patient_reason: Mapped[str | None] = mapped_column(sa.String(500))  # the words of whoever raised it
    decided_by_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None]
    reason: Mapped[str | None] = mapped_column(sa.String(1000))  # why it was declined or cancelled
    note: Mapped[str | None] = mapped_column(sa.String(1000))
    # Two clinicians deciding at once: the second write sees a stale version and gets 409.
    version: Mapped[int] = mapped_column(default=1)

    evidence: Mapped[list[BoosterEvidence]] = relationship(
        back_populates="request", cascade="all, delete-orphan", order_by="BoosterEvidence.added_at"
    )

    __mapper_args__ = {"version_id_col": version}

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


class BoosterEvidence(Base):
    __tablename__ = "booster_evidence"

    request_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("booster_request.id", ondelete="CASCADE"), primary_key=True
    )
    checkin_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("checkin.id", ondelete="CASCADE"), primary_key=True)
    added_at: Mapped[datetime] = mapped_column(default=system_now)

    request: Mapped[BoosterRequest] = relationship(back_populates="evidence")
