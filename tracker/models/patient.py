"""A patient: their place in the treatment course, reminder preferences and SMS consent."""

from __future__ import annotations

import uuid
from datetime import datetime, time
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tracker.clock import system_now
from tracker.models.base import Base, between, id_column, one_of
from tracker.models.clinic import Clinic
from tracker.models.user import User

PHASES = ("screening", "induction", "maintenance", "as_needed", "discharged")
# Due for the relapse scan; its query spells the same condition, so the partial index below serves it.
SCAN_DUE_CONDITION = "scanned_at IS NULL OR changed_at > scanned_at"


class Reminders(NamedTuple):
    """A patient's weekly reminder as it goes out: on or off, at what local time, by which channel."""

    enabled: bool
    local_time: time
    channel: str = "sms"  # reminders go by text message only


class Patient(Base):
    __tablename__ = "patient"
    __table_args__ = (
        one_of("phase", PHASES),
        between("reminder_weekday", 0, 6),
        sa.Index("ix_patient_clinic_phase", "clinic_id", "phase"),
        # The clinic's list in name order, a page at a time, without sorting every patient.
        sa.Index("ix_patient_clinic_name", "clinic_id", "display_name", "id"),
        # The relapse scan picks patients whose data changed since their last scan, in id order: an index of
        # only those, so finding them costs what changed, not the number of patients.
        sa.Index(
            "ix_patient_scan_due",
            "id",
            sqlite_where=sa.text(SCAN_DUE_CONDITION),
            postgresql_where=sa.text(SCAN_DUE_CONDITION),
        ),
    )

    id: Mapped[uuid.UUID] = id_column()
    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("user_account.id", ondelete="CASCADE"), unique=True)
    # Denormalised from the user so every staff query scopes on one column.
    clinic_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("clinic.id", ondelete="RESTRICT"))
    display_name: Mapped[str] = mapped_column(sa.String(120))
    phone: Mapped[str] = mapped_column(sa.String(20), unique=True)  # E.164; inbound SMS find the patient by it
    timezone: Mapped[str] = mapped_column(sa.String(64))
    phase: Mapped[str] = mapped_column(sa.String(20), default="screening")

    reminders_enabled: Mapped[bool] = mapped_column(default=True)
    reminder_weekday: Mapped[int | None]  # None: the clinic's default
    reminder_local_time: Mapped[time | None]
    sms_opted_out: Mapped[bool] = mapped_column(default=False)
    sms_opted_out_at: Mapped[datetime | None]

    # Set whenever check-ins, infusions or decisions change; the scan clears the gap.
    changed_at: Mapped[datetime] = mapped_column(default=system_now)
    scanned_at: Mapped[datetime | None]
    confirm_checkin_due_at: Mapped[datetime | None]  # CLINICAL.md §5: confirming check-in after a first signal
    # CLINICAL.md §3: the last safety follow-up was resolved at "high" risk; shown until a clinician clears it.
    high_risk_flagged_at: Mapped[datetime | None]
    high_risk_alert_id: Mapped[uuid.UUID | None]  # the alert so resolved (no foreign key: the flag outlives it)
    created_at: Mapped[datetime] = mapped_column(default=system_now)

    user: Mapped[User] = relationship()
    clinic: Mapped[Clinic] = relationship()

    @property
    def reminders(self) -> Reminders:
        """The reminder as it goes out: at the patient's own time, or else at the clinic's default."""
        return Reminders(self.reminders_enabled, self.reminder_local_time or self.clinic.reminder_local_time)

    def __repr__(self) -> str:
        return f"<Patient {self.id} {self.phase}>"


class PhaseChange(Base):
    """The history of a patient's phase: who moved them, when, from what to what."""

    __tablename__ = "phase_change"
    __table_args__ = (
        one_of("to_phase", PHASES),
        sa.CheckConstraint(
            "from_phase IS NULL OR from_phase IN ('screening', 'induction', 'maintenance', 'as_needed', 'discharged')",
            name="from_phase",
        ),
        sa.Index("ix_phase_change_patient_at", "patient_id", "changed_at"),
    )

    id: Mapped[uuid.UUID] = id_column()
    patient_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("patient.id", ondelete="CASCADE"))
    from_phase: Mapped[str | None] = mapped_column(sa.String(20))
    to_phase: Mapped[str] = mapped_column(sa.String(20))
    changed_by_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="SET NULL"))
    changed_at: Mapped[datetime] = mapped_column(default=system_now)
    reason: Mapped[str | None] = mapped_column(sa.String(500))
