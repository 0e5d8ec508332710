"""A patient's other medicines, kept by staff (CLINICAL.md §7, other medicines)."""

from __future__ import annotations

import uuid
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from tracker.clock import system_now
from tracker.models.base import Base, id_column

NAME_MAX = 100
DOSE_MAX = 100


class PatientMedicine(Base):
    """One medicine the patient takes or took: name, dose, since and until (None: still taking it)."""

    __tablename__ = "patient_medicine"
    __table_args__ = (
        sa.CheckConstraint("since IS NULL OR until IS NULL OR since <= until", name="since_before_until"),
        sa.Index("ix_patient_medicine_patient", "patient_id", "until"),
    )

    id: Mapped[uuid.UUID] = id_column()
    patient_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("patient.id", ondelete="CASCADE"))
    clinic_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("clinic.id", ondelete="RESTRICT"))
    name: Mapped[str] = mapped_column(sa.String(NAME_MAX))
    dose: Mapped[str | None] = mapped_column(sa.String(DOSE_MAX))
    since: Mapped[date | None] = mapped_column(sa.Date)
    until: Mapped[date | None] = mapped_column(sa.Date)
    added_by_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="SET NULL"))
    added_at: Mapped[datetime] = mapped_column(default=system_now)

    def is_current(self, today: date) -> bool:
        """Taken today: started (or no start recorded) and not yet ended."""
        return (self.since is None or self.since <= today) and (self.until is None or self.until > today)
