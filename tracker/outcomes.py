"""Outcome measures of CLINICAL.md §4: baseline, change, response and remission.

Pure: check-ins and infusions in, an `Outcome` out. The window and reference low
come from `tracker.relapse`, so both modules read a window the same way.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from tracker.relapse import (
    CheckInPoint,
    InfusionPoint,
    reference_lows,
    sort_checkins,
    window,
)

# CLINICAL.md §4: remission is a total below 5.
REMISSION_BELOW = 5


@dataclass(frozen=True)
class Outcome:
    """A patient's standing against baseline, and the current §5 reference low."""

    baseline: int | None
    baseline_checkin_id: str | None
    current: int | None
    change: int | None
    response: bool | None
    remission: bool | None
    reference_low: int | None


def baseline_checkin(
    checkins: Sequence[CheckInPoint], first_induction_given_at: datetime | None
) -> CheckInPoint | None:
    """The last check-in taken strictly before the first induction infusion, if any."""
    if first_induction_given_at is None:
        return None
    # CLINICAL.md §4: baseline is the last PHQ-9 before the first induction infusion.
    before = [c for c in sort_checkins(checkins) if c.taken_at < first_induction_given_at]
    return before[-1] if before else None


# CLINICAL.md §1: an induction series is 6 infusions over 2–3 weeks; an induction infusion this long after the
# previous one (or after a maintenance or booster infusion) begins a new series, and so a new course (§4).
COURSE_GAP = timedelta(days=28)


def course_starts(
    induction_given: Sequence[datetime], other_given: Sequence[datetime], gap: timedelta = COURSE_GAP
) -> tuple[datetime, ...]:
    """When each course began: its first induction infusion (CLINICAL.md §4: a second series after a gap is a new
    course). A series ends at the first maintenance or booster infusion after it, or after `gap` without one."""
    starts: list[datetime] = []
    previous: datetime | None = None
    others = sorted(other_given)
    for given in sorted(induction_given):
        between = previous is not None and any(previous < other < given for other in others)
        if previous is None or between or given - previous > gap:
            starts.append(given)
        previous = given
    return tuple(starts)


def is_response(current: int, baseline: int) -> bool | None:
    """Whether current is at most half of baseline; None when baseline is 0.

    From a baseline of 0 there is no symptom to halve, so response is undefined.
    """
    if baseline == 0:
        return None
    # CLINICAL.md §4: response is a total <= 50% of baseline (2 x total <= baseline).
    return 2 * current <= baseline


def current_reference_low(checkins: Sequence[CheckInPoint], infusions: Sequence[InfusionPoint]) -> int | None:
    """The reference low (CLINICAL.md §5) of the latest check-in of the window."""
    lows = reference_lows(window(checkins, infusions))
    return lows[-1] if lows else None


def outcome(
    checkins: Sequence[CheckInPoint],
    infusions: Sequence[InfusionPoint],
    first_induction_given_at: datetime | None,
) -> Outcome:
    """Compare the latest check-in with baseline under the definitions of §4."""
    ordered = sort_checkins(checkins)
    base = baseline_checkin(ordered, first_induction_given_at)
    latest = ordered[-1] if ordered else None
    baseline = base.total if base is not None else None
    current = latest.total if latest is not None else None
    change: int | None = None
    response: bool | None = None
    remission: bool | None = None
    # CLINICAL.md §4: response and remission only once a baseline exists and an induction infusion has been given
    # (a baseline is taken before the first induction infusion, so it implies one): a low first score is not a
    # remission.
    if baseline is not None and current is not None:
        change = current - baseline
        response = is_response(current, baseline)
        # CLINICAL.md §4: remission is a total below 5.
        remission = current < REMISSION_BELOW
    return Outcome(
        baseline=baseline,
        baseline_checkin_id=base.id if base is not None else None,
        current=current,
        change=change,
        response=response,
        remission=remission,
        reference_low=current_reference_low(ordered, infusions),
    )


# CLINICAL.md §4: time to first booster is a Kaplan–Meier estimate, the median with a 95% Greenwood interval.
Z_95 = 1.959963984540054


@dataclass(frozen=True)
class SurvivalStep:
    """The estimate just after one time at which something happened (an event, a censoring, or both)."""

    time: float
    at_risk: int  # followed up to this time, the ones it happens to included
    events: int
    censored: int
    survival: float  # the Kaplan–Meier estimate S(time)
    std_error: float | None  # Greenwood's; None once S is 0 (no variance defined)
    lower: float  # the pointwise 95% interval (log(-log) transform of Greenwood's variance)
    upper: float


@dataclass(frozen=True)
class KaplanMeier:
    """A Kaplan–Meier estimate: the curve's steps, the counts, and the median with its 95% interval."""

    steps: tuple[SurvivalStep, ...]
    subjects: int
    events: int
    censored: int
    median: float | None  # None: the curve has not fallen to one half
    median_lower: float | None
    median_upper: float | None  # None: not reached (the interval is open above)


def kaplan_meier(observations: Sequence[tuple[float, bool]], z: float = Z_95) -> KaplanMeier:
    """The Kaplan–Meier estimate of (time, event happened) pairs; a False is censored at that time.

    Events at a time come before censorings at the same time (those censored are still at risk then). The
    variance is Greenwood's, S(t)^2 * sum d / (n (n - d)); the pointwise interval uses the log(-log) transform,
    which keeps it inside [0, 1]: S(t) ** exp(+-z * sqrt(sum d / (n (n - d))) / |log S(t)|). The median's
    interval is the times where that band holds one half (Brookmeyer and Crowley's construction): from the
    first time the lower limit is at or below 0.5 to the first time the upper limit is.
    """
    if any(time < 0 for time, _ in observations):
        raise ValueError("times must not be negative")
    by_time: dict[float, list[int]] = {}
    for time, event in observations:
        counts = by_time.setdefault(float(time), [0, 0])
        counts[0 if event else 1] += 1
    at_risk = len(observations)
    survival = 1.0
    greenwood = 0.0  # sum of d / (n (n - d)) so far
    steps = []
    for time in sorted(by_time):
        events, censored = by_time[time]
        if events:
            survival *= 1 - events / at_risk
            greenwood = greenwood + events / (at_risk * (at_risk - events)) if at_risk > events else float("inf")
        steps.append(SurvivalStep(time, at_risk, events, censored, survival, *_band(survival, greenwood, z)))
        at_risk -= events + censored
    median = next((s.time for s in steps if s.events and s.survival <= 0.5), None)
    lower = next((s.time for s in steps if s.events and s.lower <= 0.5), None)
    upper = next((s.time for s in steps if s.events and s.upper <= 0.5), None)
    total_events = sum(s.events for s in steps)
    return KaplanMeier(
        tuple(steps), len(observations), total_events, len(observations) - total_events, median, lower, upper
    )


def _band(survival: float, greenwood: float, z: float) -> tuple[float | None, float, float]:
    """Greenwood's standard error and the log(-log) pointwise interval at one step."""
    if survival <= 0 or greenwood == float("inf"):
        return None, 0.0, 0.0
    if survival >= 1:
        return 0.0, 1.0, 1.0
    std_error = survival * math.sqrt(greenwood)
    spread = z * math.sqrt(greenwood) / abs(math.log(survival))
    return std_error, survival ** math.exp(spread), survival ** math.exp(-spread)


@dataclass(frozen=True)
class BandOutcome:
    """Response and remission among the patients whose baseline fell in one severity band."""

    band: str
    evaluable: int  # a baseline and an assessed total
    response_evaluable: int  # ... and a baseline above 0
    responders: int
    remitters: int


def by_baseline_band(
    pairs: Sequence[tuple[int, int]], band_of: Callable[[int], str], bands: Sequence[str]
) -> list[BandOutcome]:
    """(baseline, assessed) totals grouped by the baseline's band, every band listed, in the order given.

    The same definitions for any instrument scored like the PHQ-9 (CLINICAL.md §4: response a total at most 50%
    of baseline, remission a total below 5); for the GAD-7 the bands are those of CLINICAL.md §6's end
    (5/10/15 = mild/moderate/severe), and a remission from a baseline already below 5 says little: it is shown
    in its band, not hidden.
    """
    grouped: dict[str, list[tuple[int, int]]] = {band: [] for band in bands}
    for baseline, assessed in pairs:
        grouped.setdefault(band_of(baseline), []).append((baseline, assessed))
    found = []
    for band, members in grouped.items():
        responses = [is_response(assessed, baseline) for baseline, assessed in members]
        found.append(
            BandOutcome(
                band=band,
                evaluable=len(members),
                response_evaluable=sum(1 for r in responses if r is not None),
                responders=sum(1 for r in responses if r),
                remitters=sum(1 for _baseline, assessed in members if assessed < REMISSION_BELOW),
            )
        )
    return found
