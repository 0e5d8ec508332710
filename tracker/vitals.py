"""Vital signs around the infusion (CLINICAL.md §7, first bullet): readings at three moments, their plausible
ranges, and the caution and hold-and-review levels of blood pressure. Pure.

The one source of these thresholds for the forms, the API, the patient page, the FHIR export and the report.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from tracker.errors import FieldProblem

# CLINICAL.md §7: before the dose, about 40 minutes in, and before discharge ("after", the API's bp_after).
MOMENTS = ("before", "during", "after")
MOMENT_WORDS = {"before": "before the dose", "during": "about 40 minutes in", "after": "before discharge"}
# Plausible ranges: outside them a value is a typing slip, refused (the model's check constraints say the same).
SYSTOLIC_LIMITS = (50, 260)
DIASTOLIC_LIMITS = (30, 160)
HEART_RATE_LIMITS = (20, 250)  # beats per minute
SPO2_LIMITS = (50, 100)  # percent
# Usual ranges, asked to be confirmed (not refused). These are common bedside-monitor alarm limits for adults,
# not CLINICAL.md values: a low-SpO2 alarm at 90%, and bradycardia/tachycardia alarms at 50 and 120 a minute.
SPO2_USUAL_LOW = 90  # percent; below it the clinician confirms
HEART_RATE_USUAL = (50, 120)  # beats per minute; outside it the clinician confirms
_BP_TEXT = re.compile(r"^\s*(\d{2,3})\s*/\s*(\d{2,3})\s*$")

CAUTION = "caution"
HOLD = "hold"


class BloodPressure(NamedTuple):
    systolic: int
    diastolic: int

    def __str__(self) -> str:
        return f"{self.systolic}/{self.diastolic}"


# CLINICAL.md §7: the Spravato label asks the prescriber to consider the risks when baseline blood pressure is
# above 140 systolic or 90 diastolic; the product cautions from those values on.
CAUTION_AT = BloodPressure(140, 90)
# CLINICAL.md §7: hold-and-review, the product's default; each clinic sets its own (Clinic.bp_hold_*).
DEFAULT_HOLD_AT = BloodPressure(180, 110)
# A clinic's hold threshold lies above the caution one and within the plausible range.
HOLD_SYSTOLIC_RANGE = (CAUTION_AT.systolic + 1, SYSTOLIC_LIMITS[1])
HOLD_DIASTOLIC_RANGE = (CAUTION_AT.diastolic + 1, DIASTOLIC_LIMITS[1])


def bp_field(moment: str) -> str:
    return f"bp_{moment}"


def heart_rate_field(moment: str) -> str:
    return f"heart_rate_{moment}"


def spo2_field(moment: str) -> str:
    return f"spo2_{moment}"


BP_FIELDS = tuple(bp_field(m) for m in MOMENTS)
NUMBER_LIMITS = {
    **{heart_rate_field(m): HEART_RATE_LIMITS for m in MOMENTS},
    **{spo2_field(m): SPO2_LIMITS for m in MOMENTS},
}
# The columns of the infusion table that hold each moment's readings.
COLUMNS = tuple(
    name
    for m in MOMENTS
    for name in (f"{bp_field(m)}_systolic", f"{bp_field(m)}_diastolic", heart_rate_field(m), spo2_field(m))
)


IMPLAUSIBLE_BP = (
    "not a plausible blood pressure: "
    f"systolic {SYSTOLIC_LIMITS[0]}–{SYSTOLIC_LIMITS[1]}, diastolic {DIASTOLIC_LIMITS[0]}–{DIASTOLIC_LIMITS[1]}"
)
DIASTOLIC_ABOVE = "the diastolic is above the systolic: check the reading"


def readings_of(columns: Mapping[str, Any]) -> dict[str, BloodPressure | None]:
    """Each moment's blood pressure from the infusion's column values (bp_before_systolic, ...)."""
    found: dict[str, BloodPressure | None] = {}
    for name in BP_FIELDS:
        systolic, diastolic = columns.get(f"{name}_systolic"), columns.get(f"{name}_diastolic")
        found[name] = BloodPressure(systolic, diastolic) if systolic is not None and diastolic is not None else None
    return found


def blood_pressure(name: str, value: Any, problems: list[FieldProblem]) -> BloodPressure | None:
    """A reading as "120/80", (120, 80) or {"systolic": 120, "diastolic": 80}; a problem naming `name` if not."""
    if value is None:
        return None
    parts: Any = value
    if isinstance(value, str):
        match = _BP_TEXT.match(value)
        parts = (int(match[1]), int(match[2])) if match else None
    elif isinstance(value, Mapping):
        parts = (value.get("systolic"), value.get("diastolic"))
    if not isinstance(parts, tuple | list) or len(parts) != 2 or not all(type(p) is int for p in parts):
        problems.append(FieldProblem(name, "give systolic/diastolic in mmHg, e.g. 120/80"))
        return None
    reading = BloodPressure(parts[0], parts[1])
    # A refused reading is not returned: judged against the caution and hold levels it would be mis-worded.
    (low_s, high_s), (low_d, high_d) = SYSTOLIC_LIMITS, DIASTOLIC_LIMITS
    if not (low_s <= reading.systolic <= high_s and low_d <= reading.diastolic <= high_d):
        problems.append(FieldProblem(name, IMPLAUSIBLE_BP))
        return None
    if reading.systolic <= reading.diastolic:
        problems.append(FieldProblem(name, DIASTOLIC_ABOVE))
        return None
    return reading


def whole_in_range(name: str, value: Any, problems: list[FieldProblem]) -> int | None:
    """A heart rate or SpO2: a whole number in its plausible range, or a problem naming `name`."""
    if value is None:
        return None
    low, high = NUMBER_LIMITS[name]
    if isinstance(value, bool) or not isinstance(value, int):
        problems.append(FieldProblem(name, "must be a whole number"))
        return None
    if not low <= value <= high:
        unit = "%" if name.startswith("spo2") else " beats a minute"
        problems.append(FieldProblem(name, f"must be {low}–{high}{unit}"))
    return value


def bp_level(reading: BloodPressure | None, hold_at: BloodPressure) -> str | None:
    """CLINICAL.md §7: HOLD at or above the clinic's threshold (either number), else CAUTION at or above 140/90."""
    if reading is None:
        return None
    if reading.systolic >= hold_at.systolic or reading.diastolic >= hold_at.diastolic:
        return HOLD
    if reading.systolic >= CAUTION_AT.systolic or reading.diastolic >= CAUTION_AT.diastolic:
        return CAUTION
    return None


def hold_words(hold_at: BloodPressure) -> str:
    return f"at or above the clinic's hold-and-review level {hold_at}"


def unusual_numbers(numbers: Mapping[str, int | None]) -> list[FieldProblem]:
    """Heart rates and SpO2 (by field) outside the usual ranges above: kept once the clinician confirms them."""
    found = []
    for moment in MOMENTS:
        rate, spo2 = numbers.get(heart_rate_field(moment)), numbers.get(spo2_field(moment))
        if rate is not None and not HEART_RATE_USUAL[0] <= rate <= HEART_RATE_USUAL[1]:
            low, high = HEART_RATE_USUAL
            words = f"heart rate {rate} {MOMENT_WORDS[moment]}: outside the usual {low}–{high} beats a minute"
            found.append(FieldProblem(heart_rate_field(moment), words))
        if spo2 is not None and spo2 < SPO2_USUAL_LOW:
            words = f"SpO2 {spo2}% {MOMENT_WORDS[moment]}: below the usual {SPO2_USUAL_LOW}%"
            found.append(FieldProblem(spo2_field(moment), words))
    return found


@dataclass(frozen=True)
class VitalCheck:
    """A blood pressure reading at the caution or hold level, shown beside it."""

    field: str
    level: str
    message: str


def _message(level: str, moment: str, reading: BloodPressure, hold_at: BloodPressure) -> str:
    if level == HOLD:
        return f"blood pressure {reading} {MOMENT_WORDS[moment]}: {hold_words(hold_at)}"
    return f"blood pressure {reading} {MOMENT_WORDS[moment]}: at or above {CAUTION_AT} (consider the risks)"


def checks(readings: Mapping[str, BloodPressure | None], hold_at: BloodPressure) -> list[VitalCheck]:
    """Each reading (by its field, bp_before/bp_during/bp_after) at the caution or hold level, in moment order."""
    found = []
    for moment in MOMENTS:
        reading = readings.get(bp_field(moment))
        level = bp_level(reading, hold_at)
        if reading is not None and level is not None:
            found.append(VitalCheck(bp_field(moment), level, _message(level, moment, reading, hold_at)))
    return found


def holds(readings: Mapping[str, BloodPressure | None], hold_at: BloodPressure) -> list[FieldProblem]:
    """CLINICAL.md §7: the readings that ask for a clinician's confirmation before the infusion is recorded as given."""
    return [
        FieldProblem(c.field, c.message + "; confirm to record the infusion as given")
        for c in checks(readings, hold_at)
        if c.level == HOLD
    ]


# Above every plausible reading: judged against it, a reading is at most a caution.
_NO_HOLD = BloodPressure(SYSTOLIC_LIMITS[1] + 1, DIASTOLIC_LIMITS[1] + 1)
HOLD_CONFIRMED_FIELD = "bp_hold_confirmed"


def checks_of_saved(
    readings: Mapping[str, BloodPressure | None], hold_confirmed: bool, hold_at: BloodPressure | None = None
) -> list[VitalCheck]:
    """The checks beside an infusion already saved: each reading at or above 140/90 as a caution; when the
    clinician confirmed giving it at the clinic's hold-and-review level (`hold_at`), the readings at that level
    as holds (who confirmed it and when are the audit log's). Unconfirmed, a reading is at most a caution (the
    clinic's level may have changed since); confirmed with no reading at today's level, the confirmation itself
    is shown (it was kept with the infusion)."""
    if not hold_confirmed:
        return checks(readings, _NO_HOLD)
    found = checks(readings, hold_at or _NO_HOLD)
    if not any(c.level == HOLD for c in found):
        message = "given at or above the clinic's hold-and-review blood pressure of the time"
        found.insert(0, VitalCheck(HOLD_CONFIRMED_FIELD, HOLD, message))
    return found
