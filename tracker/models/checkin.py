"""A completed questionnaire: the answers as given and the score they produced."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from tracker.clock import system_now
from tracker.models.base import Base, JSONType, between, id_column, one_of

INSTRUMENT_NAMES = ("phq9", "gad7")
SEVERITIES = ("none-minimal", "mild", "moderate", "moderately-severe", "severe")
DIAGNOSES = ("major", "other", "none")
SOURCES = ("app", "web", "sms", "clinic")


class CheckIn(Base):
    __tablename__ = "checkin"
    __table_args__ = (
        one_of("instrument", INSTRUMENT_NAMES),
        one_of("severity", SEVERITIES),
        sa.CheckConstraint(
            "diagnosis IS NULL OR diagnosis IN ('major', 'other', 'none')",
            name="diagnosis",
        ),
        one_of("source", SOURCES),
        between("total", 0, 27, nullable=False),  # CLINICAL.md §2: PHQ-9 0–27 (GAD-7 0–21)
        between("difficulty", 0, 3),
        # A patient's check-ins by time: the chart, the history and the relapse window.
        sa.Index("ix_checkin_patient_taken", "patient_id", "taken_at"),
    )

    id: Mapped[uuid.UUID] = id_column()
    patient_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("patient.id", ondelete="CASCADE"))
    instrument: Mapped[str] = mapped_column(sa.String(16))
    answers: Mapped[list[int]] = mapped_column(JSONType)
    difficulty: Mapped[int | None]
    total: Mapped[int]
    severity: Mapped[str] = mapped_column(sa.String(20))
    diagnosis: Mapped[str | None] = mapped_column(sa.String(10))
    item9_positive: Mapped[bool] = mapped_column(default=False)
    taken_at: Mapped[datetime]
    source: Mapped[str] = mapped_column(sa.String(10))
    entered_by_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=system_now)
