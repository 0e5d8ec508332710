"""GAD-7 in the demo's story (CLINICAL.md §7: "e.g. GAD-7 monthly in maintenance"): the printed login answers one in
the app a few minutes after every fourth weekly PHQ-9, except one month they skipped, so their page shows GAD-7 on
its own chart under the PHQ-9, with a gap. Pure, told with the story; the player submits them like any check-in.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from tracker.demo import steps

ASKED = 0  # the printed login: in the app, weekly for most of a year
EVERY = 4  # weekly PHQ-9s per GAD-7
SKIPPED = 6  # the month they did not answer it
AFTER = timedelta(minutes=4)
# Easing with their depression after induction. Written out, not drawn: the rest of the story keeps its random numbers.
TOTALS = (14, 12, 10, 9, 9, 8, 7, 7, 6, 5, 6, 5, 4)


def answers_for(total: int) -> tuple[int, ...]:
    """Seven answers of 0-3 that sum to `total` (0-21), the larger first."""
    base, rest = divmod(total, 7)
    return tuple(base + (1 if item < rest else 0) for item in range(7))


def told(story: Sequence[steps.Step], cutoff: datetime) -> list[steps.Step]:
    """The GAD-7 check-ins, after the login's own PHQ-9s in the app."""
    weekly = sorted(
        (
            s
            for s in story
            if isinstance(s, steps.CheckIn) and s.person == ASKED and s.source == "app" and s.instrument == "phq9"
        ),
        key=lambda s: s.at,
    )
    found: list[steps.Step] = []
    for n, phq9 in enumerate(weekly[::EVERY]):
        if n != SKIPPED and phq9.at + AFTER <= cutoff:
            total = TOTALS[min(n, len(TOTALS) - 1)]
            found.append(steps.CheckIn(phq9.at + AFTER, ASKED, answers_for(total), None, "app", "gad7"))
    return found
