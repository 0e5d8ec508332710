"""A clinic: its time zone and country, relapse thresholds (CLINICAL.md §5), reminder defaults, contacts and
crisis resources (CLINICAL.md §3)."""

from __future__ import annotations

import uuid
from datetime import datetime, time
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from tracker import safety
from tracker.clock import system_now
from tracker.models.base import Base, JSONType, between, id_column, one_of
from tracker.vitals import BloodPressure

POST_INDUCTION_PHASES = ("maintenance", "as_needed")


class Clinic(Base):
    __tablename__ = "clinic"
    __table_args__ = (
        # CLINICAL.md §5: each threshold is a clinic setting; keep them sane.
        between("signal_min_total", 1, 27, nullable=False),
        between("signal_min_rise", 1, 27, nullable=False),
        between("urgent_min_total", 1, 27, nullable=False),
        between("confirm_min_days", 1, 60, nullable=False),
        sa.CheckConstraint("confirm_max_days >= confirm_min_days AND confirm_max_days <= 90", name="confirm_window"),
        between("induction_infusion_count", 1, 20, nullable=False),
        one_of("post_induction_phase", POST_INDUCTION_PHASES),
        between("reminder_weekday", 0, 6, nullable=False),
        between("safety_ack_minutes", 5, 24 * 60, nullable=False),
        between("missed_checkin_grace_days", 0, 14, nullable=False),
        between("missed_checkin_alert_days", 1, 120, nullable=False),
        # CLINICAL.md §7: the hold-and-review blood pressure, above the 140/90 caution (tracker/vitals.py).
        between("bp_hold_systolic", 141, 260, nullable=False),
        between("bp_hold_diastolic", 91, 160, nullable=False),
    )

    id: Mapped[uuid.UUID] = id_column()
    name: Mapped[str] = mapped_column(sa.String(200))
    timezone: Mapped[str] = mapped_column(sa.String(64))
    # ISO 3166-1 alpha-2; None where the time zone named no country and nobody has entered one.
    country: Mapped[str | None] = mapped_column(sa.String(2))
    # What the admin entered instead of the country's built-in crisis lines (safety.CrisisResource.entered)
    # and emergency number(s); None: the built-in ones.
    crisis_lines: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONType)
    emergency_numbers: Mapped[list[str] | None] = mapped_column(JSONType)
    # CLINICAL.md §7: medicines to review before an infusion (tracker.medicine_review.Entry.as_dict each).
    review_medicines: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONType)
    phone: Mapped[str | None] = mapped_column(sa.String(20))  # told to patients who text HELP
    oncall_phone: Mapped[str | None] = mapped_column(sa.String(20))
    backup_phone: Mapped[str | None] = mapped_column(sa.String(20))
    safety_ack_minutes: Mapped[int] = mapped_column(default=30)

    signal_min_total: Mapped[int] = mapped_column(default=10)
    signal_min_rise: Mapped[int] = mapped_column(default=5)
    confirm_min_days: Mapped[int] = mapped_column(default=5)
    confirm_max_days: Mapped[int] = mapped_column(default=15)
    urgent_min_total: Mapped[int] = mapped_column(default=20)

    induction_infusion_count: Mapped[int] = mapped_column(default=6)
    post_induction_phase: Mapped[str] = mapped_column(sa.String(20), default="as_needed")

    reminder_weekday: Mapped[int] = mapped_column(default=0)  # Monday = 0, as Python's weekday()
    reminder_local_time: Mapped[time] = mapped_column(default=time(10, 0))
    quiet_start: Mapped[time] = mapped_column(default=time(21, 0))
    quiet_end: Mapped[time] = mapped_column(default=time(8, 0))
    missed_checkin_grace_days: Mapped[int] = mapped_column(default=2)
    missed_checkin_alert_days: Mapped[int] = mapped_column(default=21)
    # CLINICAL.md §7: giving an infusion with a reading at or above this needs a clinician's confirmation.
    bp_hold_systolic: Mapped[int] = mapped_column(default=180, server_default="180")
    bp_hold_diastolic: Mapped[int] = mapped_column(default=110, server_default="110")
    # CLINICAL.md §7: {phase: {instrument: interval}} over the defaults (tracker/instruments/schedule.py);
    # None: the defaults (PHQ-9 weekly in every phase, nothing else).
    instrument_schedule: Mapped[dict[str, dict[str, str]] | None] = mapped_column(JSONType)

    created_at: Mapped[datetime] = mapped_column(default=system_now)

    @property
    def crisis_resources(self) -> safety.CrisisResources:
        """CLINICAL.md §3: the one source of the crisis resources every page, API answer and text gives."""
        return safety.resources_for(self.country, self.crisis_lines, self.emergency_numbers, self.name, self.phone)

    @property
    def bp_hold_at(self) -> BloodPressure:
        return BloodPressure(self.bp_hold_systolic, self.bp_hold_diastolic)

    @property
    def oncall_contact(self) -> str | None:
        """Who is texted first about a safety alert or an urgent request: on-call, else the backup (CLINICAL.md §3)."""
        return self.oncall_phone or self.backup_phone

    @property
    def escalation_contact(self) -> str | None:
        """Who is texted when on-call has not acknowledged in time: the backup, else on-call again."""
        return self.backup_phone or self.oncall_phone

    def __repr__(self) -> str:
        return f"<Clinic {self.name!r}>"
