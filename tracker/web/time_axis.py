"""The time axis every chart of a patient's page shares: pure (no Flask, no database, no clock).

The page builds one axis for the range the clinician chose (`axis_for`) from every moment it will draw
(check-ins of each instrument, infusions, requests, vital signs...), then hands that axis to each chart, so
the charts stacked under one another put the same day at the same x. The charts share WIDTH, LEFT and RIGHT
with charts.py, so the plots line up when they are drawn at the same width.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo

from tracker.local_time import in_range_utc

# The horizontal geometry all of a patient's charts share (charts.py draws in the same viewBox width).
WIDTH = 560
LEFT, RIGHT = 44, 544
MIN_SPAN = timedelta(days=14)  # a chart of a few days would spread two points across the page
MAX_X_TICKS = 6  # date labels must stay apart at a phone's font size

# The ranges a clinician can choose (?range=), the longest last; None is everything.
RANGES: dict[str, timedelta | None] = {"3m": timedelta(days=91), "1y": timedelta(days=365), "all": None}
RANGE_WORDS = {"3m": "3 months", "1y": "1 year", "all": "All"}
DEFAULT_RANGE = "1y"


def parse_range(value: object) -> str | None:
    """The range asked for, or None for an unknown or missing one (the default then applies)."""
    return value if isinstance(value, str) and value in RANGES else None


@dataclass(frozen=True)
class TimeAxis:
    """A span of time mapped onto x in [left, right], with its date ticks and where now falls."""

    start: datetime
    end: datetime
    since: datetime  # the range's first moment (start is a little earlier, for room at the frame)
    range_key: str  # the range shown: what was asked for, or "all" when everything fits in the default
    ticks: tuple[tuple[float, str], ...]  # (x, label)
    now: datetime
    left: float = LEFT
    right: float = RIGHT

    def x(self, moment: datetime) -> float:
        span = (self.end - self.start).total_seconds()
        return round(self.left + (self.right - self.left) * (moment - self.start).total_seconds() / span, 1)

    def shows(self, moment: datetime) -> bool:
        """Whether a moment lies on the axis (and in local_time's calendar, 2000-2100)."""
        return in_range_utc(moment) is not None and self.since <= moment <= self.end

    @property
    def now_x(self) -> float:
        return self.x(self.now)


def _month_starts(start: datetime, end: datetime, zone: tzinfo) -> list[datetime]:
    local = start.astimezone(zone)
    year, month = local.year, local.month
    found: list[datetime] = []
    while True:
        month += 1
        if month > 12:
            year, month = year + 1, 1
        moment = datetime(year, month, 1, tzinfo=zone)
        if moment > end:
            return found
        found.append(moment)


def _day_starts(start: datetime, end: datetime, zone: tzinfo, step_days: int) -> list[datetime]:
    local = start.astimezone(zone)
    moment = datetime(local.year, local.month, local.day, tzinfo=zone) + timedelta(days=1)
    found: list[datetime] = []
    while moment <= end:
        found.append(moment)
        moment += timedelta(days=step_days)  # wall-clock days in the zone: midnight stays midnight
    return found


def date_ticks(start: datetime, end: datetime, zone: tzinfo) -> list[tuple[datetime, str]]:
    """At most MAX_X_TICKS dates: month starts over long spans, days over short ones, in the clinic's zone."""
    days = (end - start).days
    if days > 75:
        starts = _month_starts(start, end, zone)
        ticks = starts[:: -(-len(starts) // MAX_X_TICKS)]  # every n-th month, n rounded up
        # The first tick and January carry the year, so a chart across New Year reads right.
        return [(t, f"{t:%b} {t.year}" if t.month == 1 or i == 0 else f"{t:%b}") for i, t in enumerate(ticks)]
    step_days = next(step for step in (1, 2, 7, 14, 28) if days / step <= MAX_X_TICKS)
    return [(t, f"{t:%b} {t.day}") for t in _day_starts(start, end, zone, step_days)]


def axis_for(
    moments: Iterable[datetime],
    *,
    now: datetime,
    zone: tzinfo = UTC,
    range_key: str | None = None,
    left: float = LEFT,
    right: float = RIGHT,
) -> TimeAxis:
    """The axis for a range: from its first moment (or the range's start, if later) to now or the latest
    moment (a booked visit), at least MIN_SPAN wide, padded a little so end marks are not cut by the frame.

    Moments outside local_time's calendar (2000-2100) are not counted: one would squeeze the rest into a corner.
    """
    drawable = [m for m in moments if in_range_utc(m)]
    start = min(drawable, default=now - MIN_SPAN)
    end = max([*drawable, now])
    asked = range_key if range_key in RANGES else DEFAULT_RANGE
    window = RANGES[asked]
    if window is not None and start < now - window:
        start = now - window
    elif range_key is None:
        asked = "all"  # everything fits in the default range: it is all there is
    since = start
    if end - start < MIN_SPAN:
        start = end - MIN_SPAN
    pad = (end - start) / 40
    start, end = start - pad, end + pad
    axis = TimeAxis(start, end, since, asked, (), now, left, right)
    ticks = tuple((axis.x(moment), label) for moment, label in date_ticks(start, end, zone))
    return TimeAxis(start, end, since, asked, ticks, now, left, right)
