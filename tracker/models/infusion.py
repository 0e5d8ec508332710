"""An infusion, scheduled or given, with the safety checks recorded around it (CLINICAL.md §1)."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from tracker.clock import system_now
from tracker.errors import FieldProblem
from tracker.infusions import INFUSION_KINDS, INFUSION_STATUSES  # the rules own the vocabulary; the table checks it
from tracker.models.base import Base, FiniteNumeric, between, id_column, one_of
from tracker.vitals import (
    COLUMNS,
    DEFAULT_HOLD_AT,
    MOMENTS,
    BloodPressure,
    VitalCheck,
    checks_of_saved,
    readings_of,
    unusual_numbers,
)


class Infusion(Base):
    __tablename__ = "infusion"
    __table_args__ = (
        one_of("kind", INFUSION_KINDS),
        one_of("status", INFUSION_STATUSES),
        # Hard limits only: the usual ranges (0.1–0.75 mg/kg, 120 min observed) are warnings, not refusals.
        between("dose_mg_per_kg", "0.01", "2.0"),
        between("weight_kg", 20, 350),
        between("total_mg", "0.1", "700"),
        between("duration_min", 1, 240),
        between("observed_min", 0, 1440),
        between("bp_before_systolic", 50, 260),
        between("bp_before_diastolic", 30, 160),
        between("bp_after_systolic", 50, 260),
        between("bp_after_diastolic", 30, 160),
        # CLINICAL.md §7: the reading about 40 minutes in, heart rate and SpO2 at each moment (tracker/vitals.py).
        between("bp_during_systolic", 50, 260),
        between("bp_during_diastolic", 30, 160),
        *(between(f"heart_rate_{m}", 20, 250) for m in MOMENTS),
        *(between(f"spo2_{m}", 50, 100) for m in MOMENTS),
        sa.CheckConstraint("status != 'given' OR given_at IS NOT NULL", name="given_has_time"),
        sa.CheckConstraint("status != 'scheduled' OR scheduled_for IS NOT NULL", name="scheduled_has_time"),
        sa.Index("ix_infusion_patient_given", "patient_id", "given_at"),
        sa.Index("ix_infusion_status_scheduled", "status", "scheduled_for"),
    )

    id: Mapped[uuid.UUID] = id_column()
    patient_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("patient.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(sa.String(16))
    status: Mapped[str] = mapped_column(sa.String(16), default="scheduled")
    scheduled_for: Mapped[datetime | None]
    given_at: Mapped[datetime | None]
    dose_mg_per_kg: Mapped[Decimal | None] = mapped_column(FiniteNumeric(5, 3))
    weight_kg: Mapped[Decimal | None] = mapped_column(FiniteNumeric(5, 1))
    total_mg: Mapped[Decimal | None] = mapped_column(FiniteNumeric(6, 1))
    duration_min: Mapped[int | None]
    bp_before_systolic: Mapped[int | None]
    bp_before_diastolic: Mapped[int | None]
    bp_during_systolic: Mapped[int | None]
    bp_during_diastolic: Mapped[int | None]
    bp_after_systolic: Mapped[int | None]  # before discharge (CLINICAL.md §7)
    bp_after_diastolic: Mapped[int | None]
    heart_rate_before: Mapped[int | None]
    heart_rate_during: Mapped[int | None]
    heart_rate_after: Mapped[int | None]
    spo2_before: Mapped[int | None]
    spo2_during: Mapped[int | None]
    spo2_after: Mapped[int | None]
    # CLINICAL.md §7: given with a reading at the clinic's hold-and-review level, confirmed by the clinician.
    bp_hold_confirmed: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    # The clinic's hold-and-review level in force when the visit was recorded as given: a later change of the
    # clinic's level does not rejudge it. None (recorded before it was kept): the default 180/110.
    bp_hold_systolic: Mapped[int | None]
    bp_hold_diastolic: Mapped[int | None]
    observed_min: Mapped[int | None]
    ride_home_confirmed: Mapped[bool | None]
    notes: Mapped[str | None] = mapped_column(sa.Text)  # clinical notes: never shown to the patient
    # The booster request this infusion answers (CLINICAL.md §5: giving it completes the request).
    booster_request_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("booster_request.id", ondelete="SET NULL"), index=True
    )
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=system_now)
    updated_at: Mapped[datetime] = mapped_column(default=system_now, onupdate=system_now)

    @property
    def readings(self) -> dict[str, BloodPressure | None]:
        """bp_before, bp_during and bp_after, each where both numbers were recorded."""
        return readings_of({name: getattr(self, name) for name in COLUMNS})

    @property
    def numbers(self) -> dict[str, tuple[int | None, int | None]]:
        """Heart rate and SpO2 at each moment (before, during, after), where either was recorded."""
        found = {}
        for m in MOMENTS:
            rate, spo2 = getattr(self, f"heart_rate_{m}"), getattr(self, f"spo2_{m}")
            if rate is not None or spo2 is not None:
                found[m] = (rate, spo2)
        return found

    @property
    def number_checks(self) -> list[FieldProblem]:
        """The heart rates and SpO2 outside the usual ranges (tracker/vitals.py), kept once confirmed."""
        return unusual_numbers({f"{k}_{m}": getattr(self, f"{k}_{m}") for m in MOMENTS for k in ("heart_rate", "spo2")})

    @property
    def hold_at(self) -> BloodPressure:
        """CLINICAL.md §7: the hold-and-review level this visit is judged by (the one in force when saved)."""
        if self.bp_hold_systolic is None or self.bp_hold_diastolic is None:
            return DEFAULT_HOLD_AT
        return BloodPressure(self.bp_hold_systolic, self.bp_hold_diastolic)

    @property
    def vital_checks(self) -> list[VitalCheck]:
        """CLINICAL.md §7: the caution and hold checks shown beside this infusion's blood pressure."""
        return checks_of_saved(self.readings, self.bp_hold_confirmed, self.hold_at)
