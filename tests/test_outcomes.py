"""Outcome measures (CLINICAL.md §4), hand-computed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tracker.outcomes import (
    Outcome,
    baseline_checkin,
    current_reference_low,
    is_response,
    outcome,
)
from tracker.relapse import CheckInPoint, InfusionPoint

BASE = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)


def at(days: float) -> datetime:
    return BASE + timedelta(days=days)


def ci(days: float, total: int) -> CheckInPoint:
    return CheckInPoint(f"c{days:g}", at(days), total)


def inf(days: float) -> InfusionPoint:
    return InfusionPoint(f"i{days:g}", at(days))


INDUCTION = [inf(0), inf(2), inf(4)]


def test_response_at_half_of_baseline() -> None:
    result = outcome([ci(-1, 20), ci(10, 9)], INDUCTION, at(0))
    assert result == Outcome(
        baseline=20,
        baseline_checkin_id="c-1",
        current=9,
        change=-11,
        response=True,
        remission=False,
        reference_low=None,  # one check-in in the window after the day-4 infusion
    )


def test_no_response_above_half_of_baseline() -> None:
    result = outcome([ci(-1, 20), ci(10, 11)], INDUCTION, at(0))
    assert result.response is False
    assert result.change == -9


def test_exactly_half_is_response_and_odd_baseline_rounds_strictly() -> None:
    assert outcome([ci(-1, 20), ci(10, 10)], INDUCTION, at(0)).response is True
    assert outcome([ci(-1, 21), ci(10, 10)], INDUCTION, at(0)).response is True
    assert outcome([ci(-1, 21), ci(10, 11)], INDUCTION, at(0)).response is False


def test_remission_below_five() -> None:
    assert outcome([ci(-1, 20), ci(10, 4)], INDUCTION, at(0)).remission is True
    assert outcome([ci(-1, 20), ci(10, 5)], INDUCTION, at(0)).remission is False


def test_no_baseline_without_a_checkin_before_induction() -> None:
    result = outcome([ci(1, 18), ci(10, 6)], INDUCTION, at(0))
    # CLINICAL.md §4 (amended): no remission is reported without a baseline.
    assert result == Outcome(None, None, 6, None, None, None, None)


def test_no_baseline_before_any_induction() -> None:
    result = outcome([ci(-3, 18), ci(-1, 16)], [], None)
    # CLINICAL.md §4 (amended): nor before an induction infusion has been given.
    assert result == Outcome(None, None, 16, None, None, None, 18)


def test_baseline_is_the_last_checkin_before_the_first_induction_infusion() -> None:
    checkins = [ci(-20, 25), ci(-2, 19), ci(1, 14), ci(3, 12), ci(10, 8)]
    result = outcome(checkins, INDUCTION, at(0))
    # Not c-20 (earlier), not c1 or c3 (after the first infusion, before later ones).
    assert result.baseline == 19
    assert result.baseline_checkin_id == "c-2"
    assert result.change == -11
    assert result.response is True


def test_checkin_at_the_moment_of_the_first_infusion_is_not_baseline() -> None:
    result = outcome([ci(-1, 17), ci(0, 22), ci(10, 8)], INDUCTION, at(0))
    assert result.baseline_checkin_id == "c-1"


def test_response_from_a_baseline_of_zero_is_undefined() -> None:
    result = outcome([ci(-1, 0), ci(10, 0)], INDUCTION, at(0))
    assert result.response is None
    assert result.change == 0
    assert result.remission is True
    assert is_response(0, 0) is None
    assert is_response(3, 6) is True
    assert is_response(4, 6) is False


def test_no_checkins_at_all() -> None:
    assert outcome([], INDUCTION, at(0)) == Outcome(None, None, None, None, None, None, None)


def test_reference_low_is_the_lowest_in_the_window_before_the_latest() -> None:
    checkins = [
        ci(3, 1),
        ci(5, 6),
        ci(8, 4),
        ci(12, 15),
        ci(6, 9),
    ]  # unsorted on purpose
    result = outcome([ci(-1, 20), *checkins], INDUCTION, at(0))
    # Window after the day-4 infusion: 6, 9, 4, then the latest 15; c3's 1 is outside.
    assert result.reference_low == 4
    assert result.current == 15
    assert current_reference_low(checkins, []) == 1
    assert current_reference_low([], INDUCTION) is None


def test_baseline_helper_ignores_input_order() -> None:
    checkins = [ci(-1, 12), ci(-5, 20), ci(2, 3)]
    found = baseline_checkin(checkins, at(0))
    assert found is not None and found.id == "c-1"
    assert baseline_checkin(checkins, None) is None


# CLINICAL.md §4: a second induction series after a gap is a new course.


def test_a_second_induction_series_after_a_gap_is_a_new_course() -> None:
    from tracker.outcomes import course_starts

    first = [at(d) for d in (0, 2, 4, 7, 9, 11)]
    second = [at(d) for d in (120, 122, 124)]
    assert course_starts([*first, *second], [at(40)]) == (at(0), at(120))
    # A long gap alone, with no maintenance or booster between, also starts one.
    assert course_starts([*first, *second], []) == (at(0), at(120))
    # Infusions 2–3 days apart are one series.
    assert course_starts(first, []) == (at(0),)
    assert course_starts([], [at(3)]) == ()
    # Its baseline is the last PHQ-9 before its own first infusion; the first course keeps its own.
    checkins = [ci(-1, 22), ci(30, 6), ci(110, 19), ci(130, 8)]
    assert outcome(checkins, INDUCTION, at(120)).baseline == 19
    assert outcome(checkins, INDUCTION, at(0)).baseline == 22
