"""The relapse rule, clause by clause (CLINICAL.md §5), and its properties."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tracker.relapse import (
    NO_ACTION,
    Action,
    Assessment,
    CheckInPoint,
    Decision,
    InfusionPoint,
    OpenRequest,
    Signal,
    Thresholds,
    Trigger,
    active_triggers,
    assess,
    confirm_checkin_due,
    decision_cutoff,
    evidence_ids,
    find_signals,
    find_triggers,
    next_action,
    reference_lows,
    sort_checkins,
    window,
    window_start,
)

BASE = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
DEFAULTS = Thresholds()


def at(days: float, seconds: int = 0) -> datetime:
    """A moment `days` (and `seconds`) after the fixed base."""
    return BASE + timedelta(days=days, seconds=seconds)


def ci(days: float, total: int, *, seconds: int = 0, id_: str | None = None) -> CheckInPoint:
    """A check-in on day `days`, named c<days> unless told otherwise."""
    return CheckInPoint(id_ or f"c{days:g}", at(days, seconds), total)


def infusion(days: float, id_: str = "i") -> InfusionPoint:
    return InfusionPoint(f"{id_}{days:g}", at(days))


def declined(days: float, request_id: str = "r1", outcome: str = "declined") -> Decision:
    return Decision(request_id, at(days), outcome)


def run(
    checkins: Sequence[CheckInPoint],
    *,
    phase: str = "maintenance",
    infusions: Sequence[InfusionPoint] = (infusion(0),),
    decisions: Sequence[Decision] = (),
    open_request: OpenRequest | None = None,
    thresholds: Thresholds = DEFAULTS,
) -> Assessment:
    """`assess` with the usual case: maintenance, one infusion on day 0."""
    return assess(phase, checkins, infusions, decisions, open_request, thresholds)


def apply(action: Action, open_request: OpenRequest | None, new_id: str) -> OpenRequest | None:
    """Carry out an action the way the booster service would."""
    if action.kind == "raise":
        assert action.urgency is not None
        return OpenRequest(new_id, action.urgency, frozenset(action.evidence))
    if action.kind == "add_evidence":
        assert open_request is not None and action.urgency is not None
        return OpenRequest(
            open_request.id,
            action.urgency,
            open_request.evidence | set(action.evidence),
        )
    return open_request


LOW = ci(1, 3)  # the window's first check-in: sets a low reference, never a signal


# --- pairs: confirm_min_days to confirm_max_days apart, inclusive ---------------------


def test_pair_five_days_apart_raises_routine() -> None:
    result = run([LOW, ci(10, 12), ci(15, 13)])
    assert result.signals == (
        Signal("c10", at(10), 12, 3),
        Signal("c15", at(15), 13, 3),
    )
    assert result.triggers == (Trigger("c15", at(15), "routine", "c10"),)
    assert result.action == Action("raise", "routine", ("c10", "c15"), None)
    assert result.confirm_checkin_due is None


def test_pair_four_days_apart_does_not_raise() -> None:
    result = run([LOW, ci(10, 12), ci(14, 13)])
    assert len(result.signals) == 2
    assert result.triggers == ()
    assert result.action == NO_ACTION


def test_pair_sixteen_days_apart_does_not_raise() -> None:
    result = run([LOW, ci(2, 12), ci(18, 13)])
    assert len(result.signals) == 2
    assert result.triggers == ()
    assert result.action == NO_ACTION


def test_pair_exactly_fifteen_days_raises_one_second_more_does_not() -> None:
    assert run([LOW, ci(2, 12), ci(17, 13)]).action.kind == "raise"
    later = run([LOW, ci(2, 12), ci(17, 13, seconds=1)])
    assert later.triggers == ()
    assert later.action == NO_ACTION


def test_pair_exactly_five_days_raises_one_second_less_does_not() -> None:
    assert run([LOW, ci(10, 12), ci(15, 13)]).action.kind == "raise"
    sooner = run([LOW, ci(10, 12), ci(15, 13, seconds=-1)])
    assert sooner.triggers == ()


def test_non_signal_between_breaks_the_pair() -> None:
    result = run([LOW, ci(10, 12), ci(12, 7), ci(15, 13)])
    assert [s.checkin_id for s in result.signals] == ["c10", "c15"]
    assert result.triggers == ()
    assert result.action == NO_ACTION


def test_signals_between_keep_the_pair_and_the_latest_partner_is_chosen() -> None:
    result = run([LOW, ci(10, 12), ci(11, 12), ci(16, 13)])
    # c10 (6 days) and c11 (5 days) both qualify; the nearer one is the pair.
    assert result.triggers == (Trigger("c16", at(16), "routine", "c11"),)
    assert result.action.evidence == ("c11", "c16")


# --- signals and urgent triggers ------------------------------------------------------


def test_single_total_of_twenty_with_the_rise_is_urgent() -> None:
    result = run([LOW, ci(5, 20)])
    assert result.triggers == (Trigger("c5", at(5), "urgent", None),)
    assert result.action == Action("raise", "urgent", ("c5",), None)


def test_twenty_without_the_rise_is_no_signal() -> None:
    result = run([ci(1, 18), ci(5, 22)])  # rise 4 above the reference low 18
    assert result.signals == ()
    assert result.action == NO_ACTION


def test_signal_needs_both_the_total_and_the_rise() -> None:
    # 9 has risen 6 but is below 10; 10 from 5 has risen exactly 5.
    result = run([ci(1, 3), ci(2, 9), ci(3, 5)])
    assert result.signals == ()
    assert run([ci(1, 5), ci(2, 10)]).signals == (Signal("c2", at(2), 10, 5),)


def test_first_checkin_of_a_window_is_never_a_signal() -> None:
    result = run([ci(1, 27)])
    assert result.signals == ()
    assert result.action == NO_ACTION


def test_pair_plus_urgent_total_is_urgent() -> None:
    result = run([LOW, ci(10, 12), ci(15, 21)])
    assert result.triggers == (Trigger("c15", at(15), "urgent", None),)
    assert result.action == Action("raise", "urgent", ("c15",), None)


# --- phases ---------------------------------------------------------------------------


@pytest.mark.parametrize("phase", ["screening", "induction", "discharged"])
def test_no_request_outside_maintenance_and_as_needed(phase: str) -> None:
    result = run([LOW, ci(5, 25)], phase=phase)
    assert result == Assessment(False, at(0), (), (), NO_ACTION, None)


def test_as_needed_is_eligible() -> None:
    result = run([LOW, ci(5, 25)], phase="as_needed")
    assert result.eligible is True
    assert result.action.kind == "raise"


# --- windows --------------------------------------------------------------------------


def test_an_infusion_starts_a_new_window() -> None:
    checkins = [LOW, ci(10, 12), ci(12, 1), ci(13, 3), ci(16, 14)]
    result = run(checkins, infusions=[infusion(0), infusion(12)])
    assert result.window_start == at(12)
    # c12 was taken at the infusion itself: outside the window, its 1 is no reference.
    assert result.signals == (Signal("c16", at(16), 14, 3),)
    assert result.triggers == ()  # c10 is six days earlier but in the old window
    assert result.action == NO_ACTION


def test_without_any_infusion_every_checkin_is_in_the_window() -> None:
    result = run([LOW, ci(10, 12), ci(15, 13)], infusions=())
    assert result.window_start is None
    assert result.action.kind == "raise"


# --- decisions ------------------------------------------------------------------------


PAIR = [LOW, ci(10, 12), ci(15, 13)]


def test_declined_request_is_not_raised_again_from_what_it_saw() -> None:
    result = run([*PAIR, ci(18, 14), ci(21, 14)], decisions=[declined(16)])
    # c18 pairs with c10, c21 with c15: each pair holds a signal the decision saw.
    assert [t.paired_with for t in result.triggers] == ["c10", "c10", "c15"]
    assert result.action == NO_ACTION


def test_fresh_pair_after_a_decline_raises() -> None:
    result = run([*PAIR, ci(18, 14), ci(21, 14), ci(23, 15)], decisions=[declined(16)])
    assert result.triggers[-1] == Trigger("c23", at(23), "routine", "c18")
    assert result.action == Action("raise", "routine", ("c18", "c23"), None)


def test_cancelled_blocks_like_declined_and_other_outcomes_do_not() -> None:
    assert run(PAIR, decisions=[declined(16, outcome="cancelled")]).action == NO_ACTION
    assert run(PAIR, decisions=[declined(16, outcome="approved")]).action.kind == "raise"


def test_urgent_trigger_after_a_decline_raises() -> None:
    result = run([*PAIR, ci(17, 22)], decisions=[declined(16)])
    assert result.action == Action("raise", "urgent", ("c17",), None)


def test_checkin_taken_at_the_moment_of_the_decision_counts_as_seen() -> None:
    assert run(PAIR, decisions=[declined(15)]).action == NO_ACTION
    assert run([LOW, ci(5, 22)], decisions=[declined(5)]).action == NO_ACTION
    assert run([LOW, ci(5, 22)], decisions=[declined(4)]).action.kind == "raise"


def test_decision_before_the_window_is_irrelevant() -> None:
    result = run(PAIR, infusions=[infusion(0)], decisions=[declined(-3)])
    assert result.action.kind == "raise"
    at_start = run(PAIR, infusions=[infusion(0)], decisions=[declined(0)])
    assert at_start.action.kind == "raise"


# --- open requests --------------------------------------------------------------------


def test_open_request_absorbs_new_evidence() -> None:
    open_request = OpenRequest("r1", "routine", frozenset({"c10", "c15"}))
    result = run([*PAIR, ci(17, 14)], open_request=open_request)
    assert result.action == Action("add_evidence", "routine", ("c17",), "r1")


def test_open_request_adds_a_missing_partner_too() -> None:
    open_request = OpenRequest("r1", "routine", frozenset({"c15"}))
    result = run(PAIR, open_request=open_request)
    assert result.action == Action("add_evidence", "routine", ("c10",), "r1")


def test_urgent_trigger_makes_an_open_routine_request_urgent() -> None:
    open_request = OpenRequest("r1", "routine", frozenset({"c10", "c15"}))
    result = run([*PAIR, ci(17, 21)], open_request=open_request)
    assert result.action == Action("add_evidence", "urgent", ("c17",), "r1")


def test_only_an_urgent_trigger_being_added_escalates() -> None:
    # c5 was already cited (and judged) when the request became routine again.
    open_request = OpenRequest("r1", "routine", frozenset({"c5"}))
    result = run([LOW, ci(5, 21), ci(10, 12)], open_request=open_request)
    assert result.triggers[-1] == Trigger("c10", at(10), "routine", "c5")
    assert result.action == Action("add_evidence", "routine", ("c10",), "r1")


def test_open_urgent_request_stays_urgent() -> None:
    open_request = OpenRequest("r1", "urgent", frozenset({"c5"}))
    result = run([LOW, ci(5, 21), ci(10, 12)], open_request=open_request)
    assert result.action == Action("add_evidence", "urgent", ("c10",), "r1")


def test_applying_the_raise_then_assessing_again_does_nothing() -> None:
    checkins = [*PAIR, ci(17, 14)]
    first = run(checkins)
    assert first.action == Action("raise", "routine", ("c10", "c15", "c17"), None)
    open_request = apply(first.action, None, "r1")
    assert run(checkins, open_request=open_request).action == NO_ACTION
    assert run(checkins) == first  # and the same data judged twice agrees


def test_unsorted_input_gives_the_same_result() -> None:
    checkins = [*PAIR, ci(17, 14), ci(18, 2)]
    infusions = [infusion(-30), infusion(0), infusion(-60)]
    decisions = [declined(-10), declined(-40)]
    ordered = run(checkins, infusions=infusions, decisions=decisions)
    shuffled = run(
        [checkins[3], checkins[0], checkins[4], checkins[2], checkins[1]],
        infusions=infusions[::-1],
        decisions=decisions[::-1],
    )
    assert shuffled == ordered
    assert ordered.action.evidence == ("c10", "c15", "c17")


# --- confirming check-in --------------------------------------------------------------


def test_confirming_checkin_due_after_a_first_unpaired_signal() -> None:
    assert run([LOW, ci(10, 12)]).confirm_checkin_due == at(15)


def test_confirming_checkin_counts_from_the_first_signal_of_the_run() -> None:
    assert run([LOW, ci(10, 12), ci(12, 13)]).confirm_checkin_due == at(15)


def test_confirming_checkin_counts_from_the_latest_when_the_run_has_expired() -> None:
    assert run([LOW, ci(2, 12), ci(18, 13)]).confirm_checkin_due == at(23)


def test_no_confirming_checkin_without_a_live_unpaired_signal() -> None:
    assert run([LOW]).confirm_checkin_due is None
    assert run([LOW, ci(10, 12), ci(12, 6)]).confirm_checkin_due is None  # run broken
    assert run(PAIR).confirm_checkin_due is None  # paired: a request was raised
    assert run([LOW, ci(5, 22)]).confirm_checkin_due is None  # urgent
    assert run([LOW, ci(10, 12)], phase="induction").confirm_checkin_due is None


def test_confirming_checkin_after_a_decision_counts_from_fresh_signals_only() -> None:
    # c15 closes a pair with c10 that the decision on day 11 saw: ask again from c15.
    result = run(PAIR, decisions=[declined(11)])
    assert result.action == NO_ACTION
    assert result.confirm_checkin_due == at(20)
    assert run([LOW, ci(10, 12)], decisions=[declined(11)]).confirm_checkin_due is None


# --- helpers and inputs ---------------------------------------------------------------


def test_window_helpers() -> None:
    checkins = [ci(3, 9), ci(-1, 20), ci(2, 4), ci(0, 15), ci(1, 7)]
    assert window_start([infusion(-5), infusion(0), infusion(-2)]) == at(0)
    assert window_start([]) is None
    inside = window(checkins, [infusion(-5), infusion(0)])
    assert [c.id for c in inside] == ["c1", "c2", "c3"]
    assert reference_lows(inside) == (None, 7, 4)
    assert reference_lows(()) == ()
    assert [c.id for c in sort_checkins(checkins)] == ["c-1", "c0", "c1", "c2", "c3"]


def test_sort_breaks_ties_by_id() -> None:
    b, a = ci(1, 5, id_="b"), ci(1, 9, id_="a")
    assert sort_checkins([b, a]) == (a, b)
    assert reference_lows(sort_checkins([b, a])) == (None, 9)


def test_signal_and_trigger_helpers() -> None:
    inside = window([LOW, ci(10, 12), ci(15, 13), ci(16, 24)], [infusion(0)])
    signals = find_signals(inside, DEFAULTS)
    assert [s.checkin_id for s in signals] == ["c10", "c15", "c16"]
    triggers = find_triggers(inside, signals, DEFAULTS)
    assert triggers == (
        Trigger("c15", at(15), "routine", "c10"),
        Trigger("c16", at(16), "urgent", None),
    )
    assert evidence_ids(triggers, inside) == ("c10", "c15", "c16")


def test_decision_helpers() -> None:
    inside = window(PAIR, [infusion(0)])
    triggers = find_triggers(inside, find_signals(inside, DEFAULTS), DEFAULTS)
    decisions = [declined(-1), declined(9), declined(12, outcome="approved")]
    assert decision_cutoff(decisions, at(0)) == at(9)
    assert decision_cutoff(decisions, None) == at(9)
    assert decision_cutoff([declined(-1)], at(0)) is None
    assert active_triggers(triggers, inside, at(9)) == triggers  # c10 and c15 came after
    assert active_triggers(triggers, inside, at(10)) == ()  # c10 at the decision: seen
    assert active_triggers(triggers, inside, at(12)) == ()  # c10 before it
    assert active_triggers(triggers, inside, None) == triggers


def test_next_action_and_confirm_helpers() -> None:
    inside = window(PAIR, [infusion(0)])
    signals = find_signals(inside, DEFAULTS)
    triggers = find_triggers(inside, signals, DEFAULTS)
    assert next_action((), inside, None) == NO_ACTION
    assert next_action(triggers, inside, None).kind == "raise"
    done = OpenRequest("r9", "routine", frozenset({"c10", "c15", "c99"}))
    assert next_action(triggers, inside, done) == NO_ACTION
    assert confirm_checkin_due(inside[:2], signals[:1], (), None, DEFAULTS) == at(15)
    assert confirm_checkin_due((), (), (), None, DEFAULTS) is None


def test_custom_thresholds_are_used() -> None:
    strict = Thresholds(
        signal_min_total=15,
        signal_min_rise=8,
        confirm_min_days=3,
        confirm_max_days=4,
        urgent_min_total=25,
    )
    assert run([LOW, ci(10, 14), ci(13, 14)], thresholds=strict).signals == ()
    result = run([LOW, ci(10, 16), ci(13, 24)], thresholds=strict)
    assert result.action == Action("raise", "routine", ("c10", "c13"), None)
    assert result.confirm_checkin_due is None


@pytest.mark.parametrize(
    "settings_",
    [
        {"signal_min_total": -1},
        {"confirm_min_days": 0},
        {"confirm_min_days": 16, "confirm_max_days": 15},
    ],
)
def test_bad_thresholds_are_refused(settings_: dict[str, int]) -> None:
    with pytest.raises(ValueError):
        Thresholds(**settings_)


def test_naive_datetimes_are_refused() -> None:
    naive = datetime(2025, 3, 3, 9, 0)
    with pytest.raises(ValueError):
        CheckInPoint("c", naive, 5)
    with pytest.raises(ValueError):
        InfusionPoint("i", naive)
    with pytest.raises(ValueError):
        Decision("r", naive, "declined")


# --- properties -----------------------------------------------------------------------

# Mostly days apart (exact multiples hit the 5- and 15-day bounds), sometimes hours.
gaps = st.one_of(
    st.integers(0, 8).map(lambda d: timedelta(days=d)),
    st.integers(0, 16 * 24).map(lambda h: timedelta(hours=h)),
)
# Lows and highs around the thresholds, so signals, pairs and urgent totals all occur.
totals = st.one_of(st.integers(0, 27), st.sampled_from([2, 4, 9, 10, 14, 15, 19, 20]))
# Each event, after a gap from the one before: ("checkin", total) or ("infusion", 0).
kinds = st.one_of(
    st.tuples(st.just("checkin"), totals),
    st.tuples(st.just("checkin"), totals),
    st.tuples(st.just("checkin"), totals),
    st.tuples(st.just("infusion"), st.just(0)),
)
events = st.lists(
    # An infusion never shares its moment with the event before it.
    st.tuples(gaps, kinds).filter(lambda e: e[1][0] == "checkin" or e[0] > timedelta(0)),
    max_size=30,
)
phases = st.sampled_from(["maintenance", "as_needed"])


def timeline(
    drawn: list[tuple[timedelta, tuple[str, int]]],
) -> list[CheckInPoint | InfusionPoint]:
    """Events in arrival order; ids sort in arrival order, so equal times keep it."""
    moment = BASE
    out: list[CheckInPoint | InfusionPoint] = []
    for index, (gap, (kind, total)) in enumerate(drawn):
        moment += gap
        if kind == "checkin":
            out.append(CheckInPoint(f"c{index:03d}", moment, total))
        else:
            out.append(InfusionPoint(f"i{index:03d}", moment))
    return out


@settings(max_examples=400, deadline=None)
@given(drawn=events, phase=phases)
def test_one_at_a_time_equals_all_at_once(drawn: list[tuple[timedelta, tuple[str, int]]], phase: str) -> None:
    """Judging check-ins as they arrive leaves the same request open as all at once.

    Same openness, urgency and evidence set. They must be equal: whether a check-in
    is a signal or trigger, and which signal it pairs with, depends only on the
    check-ins before it, so the batch finds exactly the triggers the arrivals did,
    and urgency only ever escalates. An infusion completes any open request and
    starts a new window, as the caller does. No decisions: a decision is about a
    request only the one-at-a-time run would have raised.
    """
    checkins: list[CheckInPoint] = []
    infusions: list[InfusionPoint] = []
    open_request: OpenRequest | None = None
    for event in timeline(drawn):
        if isinstance(event, InfusionPoint):
            infusions.append(event)
            open_request = None  # CLINICAL.md §5: the infusion completes the request
            continue
        checkins.append(event)
        step = assess(phase, checkins, infusions, (), open_request, DEFAULTS)
        open_request = apply(step.action, open_request, f"r{event.id}")
        again = assess(phase, checkins, infusions, (), open_request, DEFAULTS)
        assert again.action == NO_ACTION  # scanning the same data again creates nothing

    at_once = assess(phase, checkins, infusions, (), None, DEFAULTS).action
    if open_request is None:
        assert at_once == NO_ACTION
    else:
        assert at_once.kind == "raise"
        assert at_once.urgency == open_request.urgency
        assert frozenset(at_once.evidence) == open_request.evidence


decision_lists = st.lists(
    st.builds(
        Decision,
        st.sampled_from(["r1", "r2"]),
        st.integers(-5 * 24, 60 * 24).map(lambda h: at(0) + timedelta(hours=h)),
        st.sampled_from(["declined", "cancelled", "approved"]),
    ),
    max_size=3,
)


@settings(max_examples=300, deadline=None)
@given(
    drawn=events,
    phase=st.sampled_from(["maintenance", "as_needed", "induction"]),
    decisions=decision_lists,
    evidence=st.frozensets(st.sampled_from([f"c{i:03d}" for i in range(30)]), max_size=4),
    has_open=st.booleans(),
    data=st.data(),
)
def test_assess_is_deterministic_and_order_independent(
    drawn: list[tuple[timedelta, tuple[str, int]]],
    phase: str,
    decisions: list[Decision],
    evidence: frozenset[str],
    has_open: bool,
    data: st.DataObject,
) -> None:
    """The same data in any order gives the same Assessment; acting on it settles it."""
    events_ = timeline(drawn)
    checkins = [e for e in events_ if isinstance(e, CheckInPoint)]
    infusions = [e for e in events_ if isinstance(e, InfusionPoint)]
    open_request = OpenRequest("r0", "routine", evidence) if has_open else None
    first = assess(phase, checkins, infusions, decisions, open_request, DEFAULTS)
    assert assess(phase, checkins, infusions, decisions, open_request, DEFAULTS) == first
    shuffled = assess(
        phase,
        data.draw(st.permutations(checkins)),
        data.draw(st.permutations(infusions)),
        data.draw(st.permutations(decisions)),
        open_request,
        DEFAULTS,
    )
    assert shuffled == first
    settled = apply(first.action, open_request, "r-new")
    after = assess(phase, checkins, infusions, decisions, settled, DEFAULTS)
    assert after.action == NO_ACTION
    assert replace(after, action=first.action) == first
