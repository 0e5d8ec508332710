"""Blood pressure figures for the clinic's outcomes report (CLINICAL.md §7).

- Counted: the infusions given with at least one blood pressure reading (before the dose, about 40 minutes in or
  before discharge).
- Caution: the highest level of the visit's readings is caution, at or above 140/90 (the Spravato label's
  baseline) and under the clinic's hold-and-review threshold.
- Hold: a reading at or above the clinic's hold-and-review threshold as it stands now (tracker/vitals.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from tracker.extensions import db
from tracker.models import Clinic, Infusion, Patient, User
from tracker.services import scope
from tracker.vitals import CAUTION, COLUMNS, DEFAULT_HOLD_AT, HOLD, BloodPressure, bp_level, readings_of


@dataclass(frozen=True)
class BpFigures:
    given: int  # infusions given
    measured: int  # ... with a blood pressure reading
    caution: int  # ... whose highest reading was at the caution level
    hold: int  # ... with a reading at the hold-and-review level
    hold_at: BloodPressure

    def percent(self, count: int) -> int | None:
        return round(100 * count / self.measured) if self.measured else None


def figures(staff: User) -> BpFigures:
    """One query over the clinic's given infusions' readings, the clinic's hold threshold with them."""
    rows = db.session.execute(
        scope.scoped_to_clinic(
            staff,
            sa.select(Clinic.bp_hold_systolic, Clinic.bp_hold_diastolic, *(getattr(Infusion, name) for name in COLUMNS))
            .join(Patient, Patient.id == Infusion.patient_id)
            .join(Clinic, Clinic.id == Patient.clinic_id)
            .where(Infusion.status == "given"),
            Patient.clinic_id,
        )
    )
    hold_at = DEFAULT_HOLD_AT  # shown only with readings, which bring the clinic's own
    given = measured = caution = hold = 0
    for systolic, diastolic, *values in rows:
        hold_at = BloodPressure(systolic, diastolic)
        given += 1
        readings = [r for r in readings_of(dict(zip(COLUMNS, values, strict=True))).values() if r is not None]
        if not readings:
            continue
        measured += 1
        levels = {bp_level(r, hold_at) for r in readings}
        hold += HOLD in levels
        caution += HOLD not in levels and CAUTION in levels
    return BpFigures(given, measured, caution, hold, hold_at)
