"""Outcome measures of CLINICAL.md §4: baseline, change, response and remission.

Pure: check-ins and infusions in, an `Outcome` out. The window and reference low
come from `tracker.relapse`, so both modules read a window the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

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
    if baseline is not None and current is not None:
        change = current - baseline
        response = is_response(current, baseline)
    return Outcome(
        baseline=baseline,
        baseline_checkin_id=base.id if base is not None else None,
        current=current,
        change=change,
        response=response,
        # CLINICAL.md §4: remission is a total below 5.
        remission=current < REMISSION_BELOW if current is not None else None,
        reference_low=current_reference_low(ordered, infusions),
    )
