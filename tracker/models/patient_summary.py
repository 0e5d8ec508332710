"""A patient's figures as the clinic's list shows them, stored so the list reads one row per patient.

Derived only: services.clinic.summary writes it whenever a check-in or an infusion changes, and can rebuild it
from the check-ins and infusions at any time. Open alerts and requests are not kept here: they are read live.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from tracker.models.base import Base


class PatientSummaryRow(Base):
    __tablename__ = "patient_summary"

    patient_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("patient.id", ondelete="CASCADE"), primary_key=True)
    # The latest PHQ-9 (CLINICAL.md §2), in the one order of check-ins.
    latest_total: Mapped[int | None]
    latest_severity: Mapped[str | None] = mapped_column(sa.String(20))
    latest_at: Mapped[datetime | None]
    # CLINICAL.md §4: the current course's baseline; §5: the current window's reference low.
    baseline_total: Mapped[int | None]
    reference_low: Mapped[int | None]
    refreshed_at: Mapped[datetime]
