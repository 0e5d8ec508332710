"""Time to first booster as a Kaplan–Meier estimate (CLINICAL.md §4), checked against a published worked example.

Klein J.P. and Moeschberger M.L., Survival Analysis: Techniques for Censored and Truncated Data, 2nd ed. (Springer
2003), Example 4.1 and Table 4.1A: the 6-MP arm of Freireich et al.'s leukaemia trial (Gehan 1965), 21 patients,
9 relapses; the product-limit estimate and Greenwood's standard error at each relapse time.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tracker.outcomes import kaplan_meier

# Weeks in remission; False: censored (still in remission when last seen).
SIX_MP = [
    *[(t, True) for t in (6, 6, 6, 7, 10, 13, 16, 22, 23)],
    *[(t, False) for t in (6, 9, 10, 11, 17, 19, 20, 25, 32, 32, 34, 35)],
]
# Table 4.1A: time, at risk, deaths, S(t), Greenwood standard error.
TABLE_4_1A = [
    (6, 21, 3, 0.857, 0.0764),
    (7, 17, 1, 0.807, 0.0869),
    (10, 15, 1, 0.753, 0.0963),
    (13, 12, 1, 0.690, 0.1068),
    (16, 11, 1, 0.628, 0.1141),
    (22, 7, 1, 0.538, 0.1282),
    (23, 6, 1, 0.448, 0.1346),
]


def test_the_estimate_and_greenwoods_standard_error_match_klein_and_moeschberger_table_4_1a() -> None:
    km = kaplan_meier(SIX_MP)
    events = [step for step in km.steps if step.events]
    assert [(s.time, s.at_risk, s.events) for s in events] == [row[:3] for row in TABLE_4_1A]
    for step, (_t, _n, _d, survival, std_error) in zip(events, TABLE_4_1A, strict=True):
        assert step.survival == pytest.approx(survival, abs=0.001)  # the table gives three places
        assert step.std_error == pytest.approx(std_error, abs=0.00005)
    assert (km.subjects, km.events, km.censored) == (21, 9, 12)


def test_the_median_and_its_interval() -> None:
    km = kaplan_meier(SIX_MP)
    assert km.median == 23  # the first time S(t) is at or below one half (0.448 at 23 weeks)
    # The log(-log) band's lower limit first reaches 0.5 at 13 weeks (0.432; 0.503 at 10); its upper limit never
    # does (0.680 at 23, the last relapse): the interval is open above.
    assert (km.median_lower, km.median_upper) == (13, None)
    band = {s.time: (s.lower, s.upper) for s in km.steps}
    assert band[10][0] == pytest.approx(0.5033, abs=0.0005)
    assert band[13][0] == pytest.approx(0.4317, abs=0.0005)
    assert band[23][1] == pytest.approx(0.680, abs=0.001)


def test_no_events_gives_a_flat_curve_and_no_median() -> None:
    km = kaplan_meier([(5.0, False), (9.0, False)])
    assert [s.survival for s in km.steps] == [1.0, 1.0]
    assert (km.median, km.median_lower, km.median_upper, km.censored) == (None, None, None, 2)


def test_everyone_with_an_event_reaches_zero() -> None:
    km = kaplan_meier([(1.0, True), (2.0, True)])
    assert [s.survival for s in km.steps] == [0.5, 0.0]
    assert km.median == 1.0 and km.steps[-1].std_error is None


def test_an_empty_cohort() -> None:
    km = kaplan_meier([])
    assert km.steps == () and km.median is None and km.subjects == 0


@given(st.lists(st.tuples(st.integers(0, 400), st.booleans()), max_size=40))
def test_the_curve_never_rises_and_the_band_holds_it(observations: list[tuple[int, bool]]) -> None:
    km = kaplan_meier([(float(t), e) for t, e in observations])
    survival = [s.survival for s in km.steps]
    assert survival == sorted(survival, reverse=True)
    assert all(0 <= s.lower <= s.survival + 1e-12 and s.survival - 1e-12 <= s.upper <= 1 for s in km.steps)
    assert km.events + km.censored == km.subjects == len(observations)
    if km.median is not None and km.median_lower is not None:
        assert km.median_lower <= km.median
    if km.median is not None and km.median_upper is not None:
        assert km.median <= km.median_upper
