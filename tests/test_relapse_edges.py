"""The relapse rule's edges (CLINICAL.md §5), pure: the one order, what a decision saw, severe without a trigger."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from tracker.relapse import (
    NO_ACTION,
    CheckInPoint,
    Decision,
    InfusionPoint,
    OpenRequest,
    Thresholds,
    assess,
    sort_checkins,
)

BASE = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
DEFAULTS = Thresholds()
INFUSED = (InfusionPoint("i0", BASE),)


def at(days: float) -> datetime:
    return BASE + timedelta(days=days)


def ci(days: float, total: int, stored: float | None = None, id_: str | None = None) -> CheckInPoint:
    return CheckInPoint(id_ or f"c{days:g}", at(days), total, at(stored) if stored is not None else None)


def run(checkins, decisions=(), open_request=None, phase="maintenance"):  # type: ignore[no-untyped-def]
    return assess(phase, checkins, INFUSED, decisions, open_request, DEFAULTS)


def test_ties_in_taken_at_are_ordered_by_when_they_were_stored() -> None:
    # CLINICAL.md §5: ordered by taken_at, then by when they were stored; the id only breaks a full tie.
    late = CheckInPoint("a", at(1), 3, at(5))
    early = CheckInPoint("b", at(1), 4, at(2))
    assert [p.id for p in sort_checkins([late, early])] == ["b", "a"]


def test_a_pair_stored_before_a_decline_is_suppressed() -> None:
    points = [ci(1, 2), ci(3, 12), ci(9, 13)]
    assert run(points).action.kind == "raise"
    assert run(points, [Decision("r1", at(10), "declined")]).action == NO_ACTION


def test_evidence_stored_after_a_decline_is_new_even_when_taken_before_it() -> None:
    # The pair's later check-in was taken on day 9 but entered on day 11, after the decline on day 10.
    points = [ci(1, 2), ci(3, 12), ci(9, 13, stored=11)]
    assessment = run(points, [Decision("r1", at(10), "declined")])
    assert assessment.action.kind == "none"  # its pair's earlier signal (day 3) was seen by the decision
    points = [ci(1, 2), ci(3, 12, stored=10.5), ci(9, 13, stored=11)]
    assessment = run(points, [Decision("r1", at(10), "cancelled")])
    assert assessment.action.kind == "raise" and assessment.action.evidence == ("c3", "c9")


def test_a_trigger_stored_at_the_moment_of_the_decision_was_seen_by_it() -> None:
    points = [ci(1, 2), ci(3, 25, stored=10)]
    assert run(points, [Decision("r1", at(10), "declined")]).action == NO_ACTION


def test_severe_first_check_in_of_a_window_opens_an_alert_once_per_window() -> None:
    assessment = run([ci(1, 22)])
    assert assessment.action == NO_ACTION and assessment.severe_alert == "c1"
    assert assessment.window_start == BASE  # the caller keys the alert by the window


def test_severe_not_risen_enough_above_its_low_is_severe_without_a_trigger() -> None:
    assessment = run([ci(1, 18), ci(2, 21)])  # rise 3 < 5: no signal, but total >= 20
    assert assessment.triggers == () and assessment.severe_alert == "c2"


def test_severe_without_a_trigger_joins_an_open_request_and_makes_it_urgent() -> None:
    # c12: total 21, but its low is 18 (rise 3): no signal, so no trigger; with a request open it joins it.
    request = OpenRequest("r1", "routine", frozenset({"c3", "c9"}))
    points = [ci(1, 18), ci(3, 12), ci(9, 13), ci(12, 21)]
    assessment = run(points, open_request=request)
    assert assessment.severe_alert is None
    assert assessment.action.kind == "add_evidence" and assessment.action.urgency == "urgent"
    assert assessment.action.evidence == ("c12",)


def test_severe_only_check_in_with_a_routine_open_request_escalates_it() -> None:
    request = OpenRequest("r1", "routine", frozenset())
    assessment = run([ci(1, 23)], open_request=request)
    assert assessment.action.kind == "add_evidence"
    assert assessment.action.evidence == ("c1",) and assessment.action.urgency == "urgent"
    cited = OpenRequest("r1", "urgent", frozenset({"c1"}))
    assert run([ci(1, 23)], open_request=cited).action == NO_ACTION  # acting, then assessing again: nothing


def test_a_severe_check_in_a_decision_saw_raises_no_alert() -> None:
    assert run([ci(1, 23)], [Decision("r1", at(2), "declined")]).severe_alert is None


def test_severe_check_ins_join_a_request_a_trigger_raises() -> None:
    assessment = run([ci(1, 21), ci(2, 3), ci(4, 12), ci(10, 13)])
    assert assessment.action.kind == "raise" and assessment.action.urgency == "urgent"
    assert assessment.action.evidence == ("c1", "c4", "c10")


def test_the_rule_applies_only_past_induction_for_severe_too() -> None:
    assert run([ci(1, 25)], phase="induction").severe_alert is None


stored_points = st.lists(
    st.tuples(st.integers(0, 40), st.integers(0, 27), st.integers(0, 5)),
    min_size=0,
    max_size=10,
    unique_by=lambda t: t[0],
)


@settings(max_examples=200, deadline=None)
@given(stored_points, st.permutations(range(10)), st.one_of(st.none(), st.integers(0, 50)))
def test_the_same_data_in_any_order_gives_the_same_assessment(raw, order, decided) -> None:  # type: ignore[no-untyped-def]
    points = [ci(day, total, stored=day + lag) for day, total, lag in raw]
    shuffled = [points[i] for i in order if i < len(points)]
    decisions = [Decision("r", at(decided), "declined")] if decided is not None else []
    assert run(points, decisions) == run(shuffled, decisions)


@settings(max_examples=200, deadline=None)
@given(stored_points, st.one_of(st.none(), st.integers(0, 50)))
def test_acting_on_the_action_then_assessing_again_gives_no_new_action(raw, decided) -> None:  # type: ignore[no-untyped-def]
    points = [ci(day, total, stored=day + lag) for day, total, lag in raw]
    decisions = [Decision("r", at(decided), "declined")] if decided is not None else []
    first = run(points, decisions)
    if first.action.kind == "raise":
        request = OpenRequest("new", first.action.urgency or "routine", frozenset(first.action.evidence))
        assert run(points, decisions, request).action == NO_ACTION
