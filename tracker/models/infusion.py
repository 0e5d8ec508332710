"""An infusion, scheduled or given, with the safety checks recorded around it (CLINICAL.md §1)."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, object_session

from tracker.clock import system_now
from tracker.infusions import INFUSION_KINDS, INFUSION_STATUSES  # the rules own the vocabulary; the table checks it
from tracker.models.base import Base, FiniteNumeric, between, id_column, one_of
from tracker.vitals import COLUMNS, MOMENTS, BloodPressure, VitalCheck, checks_of_saved, readings_of


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
    def vital_checks(self) -> list[VitalCheck]:
        """CLINICAL.md §7: the caution and hold checks shown beside this infusion's blood pressure."""
        hold_at = None
        session = object_session(self)
        if self.bp_hold_confirmed and session is not None:
            # Only a confirmed hold needs the clinic's level, to word each reading at it as a hold.
            clinic, patient = Base.metadata.tables["clinic"], Base.metadata.tables["patient"]
            row = session.execute(
                sa.select(clinic.c.bp_hold_systolic, clinic.c.bp_hold_diastolic)
                .join(patient, patient.c.clinic_id == clinic.c.id)
                .where(patient.c.id == self.patient_id)
            ).first()
            hold_at = BloodPressure(row[0], row[1]) if row is not None else None
        return checks_of_saved(self.readings, self.bp_hold_confirmed, hold_at)
