"""Side effects reported around an infusion (CLINICAL.md §7): at discharge by staff, the next morning by the patient."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from tracker.clock import system_now
from tracker.models.base import Base, between, id_column, one_of
from tracker.side_effects import ITEM_KEYS, ITEMS, LEVELS, SOURCES, TIMINGS


class SideEffectReport(Base):
    """One checklist: a level 0-3 per item, never summed (CLINICAL.md §7). At most one per infusion and timing."""

    __tablename__ = "side_effect_report"
    __table_args__ = (
        one_of("timing", TIMINGS),
        one_of("source", SOURCES),
        # Staff record at discharge, in clinic; the patient answers the next morning by app, web or text.
        sa.CheckConstraint(
            "(timing = 'discharge' AND source = 'clinic')"
            " OR (timing = 'next_morning' AND source IN ('app', 'web', 'sms'))",
            name="who_reported",
        ),
        *(between(key, 0, 3, nullable=False) for key in ITEM_KEYS),
        sa.UniqueConstraint("infusion_id", "timing", name="uq_side_effect_report_infusion_timing"),
        sa.Index("ix_side_effect_report_clinic", "clinic_id", "reported_at"),
        sa.Index("ix_side_effect_report_patient", "patient_id", "reported_at"),
    )

    id: Mapped[uuid.UUID] = id_column()
    infusion_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("infusion.id", ondelete="CASCADE"))
    patient_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("patient.id", ondelete="CASCADE"))
    clinic_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("clinic.id", ondelete="RESTRICT"))
    timing: Mapped[str] = mapped_column(sa.String(16))
    source: Mapped[str] = mapped_column(sa.String(10))
    reported_by_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="SET NULL"))
    reported_at: Mapped[datetime] = mapped_column(default=system_now)
    dissociation: Mapped[int]
    nausea: Mapped[int]
    headache: Mapped[int]
    dizziness: Mapped[int]
    drowsiness: Mapped[int]
    anxiety: Mapped[int]
    urinary: Mapped[int]

    @property
    def levels(self) -> dict[str, int]:
        """The answers by item key, in CLINICAL.md §7's order."""
        return {key: getattr(self, key) for key in ITEM_KEYS}

    @property
    def marked(self) -> list[tuple[str, str]]:
        """Each item reported above "none", as (its words, its level's word): what a page lists."""
        return [(item.words, LEVELS[getattr(self, item.key)]) for item in ITEMS if getattr(self, item.key) > 0]
