"""A questionnaire's scores over time as SVG geometry, on a shared time axis: pure.

What every score chart of a patient's page draws the same way: a point per check-in that can be tapped to
read its value, a line that breaks where check-ins stopped for more than three weeks, the instrument's own
severity bands. charts.py draws the PHQ-9 trajectory with these; `score_chart` draws a small chart of another
instrument (GAD-7) under it, on the same time axis (time_axis.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from tracker.instruments.base import Instrument
from tracker.instruments.severity import label as severity_label
from tracker.local_time import in_range_utc
from tracker.web.time_axis import LEFT, RIGHT, WIDTH, TimeAxis

# A longer silence than this between two check-ins is drawn as a break in the line: joining the points would
# draw a trend nobody measured. Weekly check-ins that miss two weeks in a row still join up.
GAP = timedelta(days=21)
VALUE_ABOVE, VALUE_BELOW = "-0.9em", "1.6em"  # a tapped point's value, above it or (near the top) below it
EDGE = 90  # a value this near the plot's side is anchored inwards, so it is not cut by the frame


@dataclass(frozen=True)
class ScoreIn:
    """A check-in of one instrument."""

    id: str
    taken_at: datetime
    total: int
    item9_positive: bool = False


@dataclass(frozen=True)
class PlotPoint:
    id: str
    x: float
    y: float
    total: int
    severity: str
    item9_positive: bool
    taken_at: datetime
    # Where its value is written when the point is tapped or focused (text-anchor, dy in ems).
    value_anchor: str = "middle"
    value_dy: str = VALUE_ABOVE


@dataclass(frozen=True)
class Gap:
    """More than GAP without a check-in: the line stops at x1 and starts again at x2."""

    x1: float
    x2: float
    since: datetime
    until: datetime

    @property
    def weeks(self) -> int:
        return (self.until - self.since).days // 7


@dataclass(frozen=True)
class Band:
    low: int
    high: int
    severity: str
    label: str
    y: float
    height: float


@dataclass(frozen=True)
class Row:
    """A check-in as the table under a chart lists it."""

    taken_at: datetime
    total: int
    severity: str
    item9_positive: bool


class ScoreScale:
    """Scores onto y: 0 at the plot's bottom, the instrument's maximum at its top."""

    def __init__(self, top: float, bottom: float, max_total: int) -> None:
        self.top, self.bottom, self.max_total = top, bottom, max_total

    def __call__(self, total: float) -> float:
        return round(self.bottom - (self.bottom - self.top) * total / self.max_total, 1)


def bands_of(instrument: Instrument, y: ScoreScale) -> tuple[Band, ...]:
    """The instrument's severity bands (CLINICAL.md §2 for PHQ-9, the GAD-7 lines for GAD-7), tiling the plot."""
    bands = []
    for index, (low, severity) in enumerate(instrument.bands):
        high = instrument.bands[index + 1][0] - 1 if index + 1 < len(instrument.bands) else instrument.max_total
        # A band covers its whole scores: from low - 0.5 to high + 0.5, clipped to the plot.
        top, bottom = y(min(high + 0.5, instrument.max_total)), y(max(low - 0.5, 0))
        label = f"{low}–{high} {severity_label(severity)}"
        bands.append(Band(low, high, severity, label, top, round(bottom - top, 1)))
    return tuple(bands)


def plot_points(
    scores: Sequence[ScoreIn], instrument: Instrument, axis: TimeAxis, y: ScoreScale
) -> tuple[PlotPoint, ...]:
    """The check-ins on the axis, oldest first; each knows where its value goes when tapped."""
    # Stable by time only: check-ins arrive in the one order (taken, then stored), which breaks ties.
    shown = sorted((s for s in scores if axis.shows(s.taken_at)), key=lambda s: s.taken_at)
    placed = []
    for s in shown:
        px, py = axis.x(s.taken_at), y(s.total)
        anchor = "start" if px < axis.left + EDGE else "end" if px > axis.right - EDGE else "middle"
        dy = VALUE_BELOW if py < y.top + 30 else VALUE_ABOVE
        placed.append(
            PlotPoint(s.id, px, py, s.total, instrument.severity_for(s.total), s.item9_positive, s.taken_at, anchor, dy)
        )
    return tuple(placed)


def line_with_gaps(points: Sequence[PlotPoint], gap: timedelta = GAP) -> tuple[str, tuple[Gap, ...]]:
    """The path through the points, broken (a new M) after each silence longer than `gap`."""
    parts: list[str] = []
    gaps: list[Gap] = []
    previous: PlotPoint | None = None
    for p in points:
        if previous is not None and p.taken_at - previous.taken_at > gap:
            gaps.append(Gap(previous.x, p.x, previous.taken_at, p.taken_at))
        joined = previous is not None and not (gaps and gaps[-1].until == p.taken_at)
        parts.append(f"{'L' if joined else 'M'}{p.x},{p.y}")
        previous = p
    # A path of moves only draws nothing: no line for a single point, nor for points all apart.
    return (" ".join(parts) if any(part.startswith("L") for part in parts) else ""), tuple(gaps)


def rows_of(scores: Sequence[ScoreIn], instrument: Instrument, axis: TimeAxis) -> tuple[Row, ...]:
    """The table under a chart: the check-ins of the range, and any dated outside the calendar (not drawn)."""
    listed = [s for s in scores if axis.shows(s.taken_at) or not in_range_utc(s.taken_at)]
    return tuple(
        Row(s.taken_at, s.total, instrument.severity_for(s.total), s.item9_positive)
        for s in sorted(listed, key=lambda s: s.taken_at)
    )


# The small chart of a second instrument: the same width and plot sides as the trajectory, less tall.
SMALL_HEIGHT = 200
SMALL_TOP, SMALL_BOTTOM = 14, 150


@dataclass(frozen=True)
class ScoreChart:
    instrument: str  # its name (gad7)
    title: str  # its title (GAD-7)
    max_total: int
    width: int
    height: int
    left: int
    right: int
    top: int
    bottom: int
    bands: tuple[Band, ...]
    points: tuple[PlotPoint, ...]
    line: str
    gaps: tuple[Gap, ...]
    x_ticks: tuple[tuple[float, str], ...]
    y_ticks: tuple[tuple[float, str], ...]
    now_x: float
    rows: tuple[Row, ...]
    earlier: int  # check-ins before the range: not drawn, listed under "All"
    gap_weeks: int = 3  # a silence longer than this many weeks breaks the line

    @property
    def view_box(self) -> str:
        return f"0 0 {self.width} {self.height}"


def score_chart(scores: Sequence[ScoreIn], instrument: Instrument, axis: TimeAxis, gap: timedelta = GAP) -> ScoreChart:
    """A small chart of one instrument's totals on its own 0-max scale, under the trajectory on the same axis;
    an instrument asked less often than weekly breaks its line after a longer `gap`."""
    y = ScoreScale(SMALL_TOP, SMALL_BOTTOM, instrument.max_total)
    scores_marked = [*(low for low, _ in instrument.bands), instrument.max_total]
    points = plot_points(scores, instrument, axis, y)
    line, gaps = line_with_gaps(points, gap)
    return ScoreChart(
        instrument=instrument.name,
        title=instrument.title,
        max_total=instrument.max_total,
        width=WIDTH,
        height=SMALL_HEIGHT,
        left=LEFT,
        right=RIGHT,
        top=SMALL_TOP,
        bottom=SMALL_BOTTOM,
        bands=bands_of(instrument, y),
        points=points,
        line=line,
        gaps=gaps,
        x_ticks=axis.ticks,
        y_ticks=tuple((y(score), str(score)) for score in scores_marked),
        now_x=axis.now_x,
        rows=rows_of(scores, instrument, axis),
        earlier=sum(1 for s in scores if in_range_utc(s.taken_at) and s.taken_at < axis.since),
        gap_weeks=gap.days // 7,
    )
