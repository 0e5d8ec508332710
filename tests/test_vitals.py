"""The vital-signs rule of CLINICAL.md §7 (tracker/vitals.py), pure: plausible ranges, the caution level (the
Spravato label's 140 systolic or 90 diastolic) and the clinic's hold-and-review level (default 180/110)."""

from __future__ import annotations

import pytest

from tracker.errors import FieldProblem
from tracker.vitals import (
    CAUTION,
    CAUTION_AT,
    DEFAULT_HOLD_AT,
    HOLD,
    BloodPressure,
    blood_pressure,
    bp_level,
    checks,
    checks_of_saved,
    holds,
    readings_of,
    whole_in_range,
)


def test_the_thresholds_are_clinicals() -> None:
    # CLINICAL.md §7: "above 140 systolic or 90 diastolic" caution; "our default 180/110" hold-and-review.
    assert BloodPressure(140, 90) == CAUTION_AT
    assert BloodPressure(180, 110) == DEFAULT_HOLD_AT


@pytest.mark.parametrize(
    ("reading", "level"),
    [
        ((139, 89), None),
        ((140, 60), CAUTION),  # at the systolic edge
        ((120, 90), CAUTION),  # at the diastolic edge
        ((179, 109), CAUTION),
        ((180, 80), HOLD),  # either number reaching the hold is a hold
        ((150, 110), HOLD),
        ((260, 160), HOLD),
    ],
)
def test_levels_at_their_edges(reading: tuple[int, int], level: str | None) -> None:
    assert bp_level(BloodPressure(*reading), DEFAULT_HOLD_AT) == level


def test_a_clinics_own_hold_threshold() -> None:
    strict = BloodPressure(160, 100)
    assert bp_level(BloodPressure(159, 99), strict) == CAUTION
    assert bp_level(BloodPressure(160, 99), strict) == HOLD
    assert bp_level(BloodPressure(150, 100), strict) == HOLD
    assert bp_level(None, strict) is None


def test_checks_name_each_reading_and_holds_ask_for_a_confirmation() -> None:
    readings = {"bp_before": BloodPressure(142, 88), "bp_during": BloodPressure(182, 98), "bp_after": None}
    found = checks(readings, DEFAULT_HOLD_AT)
    assert [(c.field, c.level) for c in found] == [("bp_before", CAUTION), ("bp_during", HOLD)]
    assert found[0].message == "blood pressure 142/88 before the dose: at or above 140/90 (consider the risks)"
    assert "about 40 minutes in" in found[1].message and "hold-and-review level 180/110" in found[1].message
    [asked] = holds(readings, DEFAULT_HOLD_AT)
    assert asked.field == "bp_during" and asked.message.endswith("confirm to record the infusion as given")
    assert holds({"bp_before": BloodPressure(179, 109)}, DEFAULT_HOLD_AT) == []


def test_a_saved_infusion_shows_cautions_and_the_hold_that_was_confirmed() -> None:
    readings = {"bp_before": BloodPressure(120, 80), "bp_during": BloodPressure(185, 100), "bp_after": None}
    # Not confirmed (recorded before the rule, or booked): at most a caution.
    assert [(c.field, c.level) for c in checks_of_saved(readings, False)] == [("bp_during", CAUTION)]
    confirmed = checks_of_saved(readings, True)
    assert [(c.field, c.level) for c in confirmed] == [("bp_hold_confirmed", HOLD), ("bp_during", CAUTION)]
    assert checks_of_saved({"bp_before": BloodPressure(139, 89)}, False) == []


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120/80", BloodPressure(120, 80)),
        (" 128 / 82 ", BloodPressure(128, 82)),
        ((141, 88), BloodPressure(141, 88)),
        ({"systolic": 50, "diastolic": 30}, BloodPressure(50, 30)),
        ("260/160", BloodPressure(260, 160)),
    ],
)
def test_readings_in_range_are_read(value: object, expected: BloodPressure) -> None:
    problems: list[FieldProblem] = []
    assert blood_pressure("bp_during", value, problems) == expected and problems == []


@pytest.mark.parametrize("value", ["49/30", "261/90", "120/29", "120/161", "80/90", "high", (120,), (120.0, 80)])
def test_implausible_readings_are_refused_naming_the_field(value: object) -> None:
    problems: list[FieldProblem] = []
    blood_pressure("bp_during", value, problems)
    assert [p.field for p in problems] == ["bp_during"]


@pytest.mark.parametrize(
    ("name", "value", "refused"),
    [
        ("heart_rate_before", 20, False),
        ("heart_rate_before", 250, False),
        ("heart_rate_during", 19, True),
        ("heart_rate_after", 251, True),
        ("spo2_before", 50, False),
        ("spo2_during", 100, False),
        ("spo2_after", 101, True),
        ("spo2_after", 49, True),
        ("spo2_after", True, True),
        ("heart_rate_after", "80", True),
    ],
)
def test_heart_rate_and_spo2_ranges(name: str, value: object, refused: bool) -> None:
    problems: list[FieldProblem] = []
    whole_in_range(name, value, problems)
    assert [p.field for p in problems] == ([name] if refused else [])


def test_readings_of_the_columns() -> None:
    columns = {"bp_before_systolic": 120, "bp_before_diastolic": 80, "bp_during_systolic": 130}
    assert readings_of(columns) == {"bp_before": BloodPressure(120, 80), "bp_during": None, "bp_after": None}
    assert str(BloodPressure(120, 80)) == "120/80"
