"""A patient's PHQ-9 trajectory as SVG geometry: pure (no Flask, no database, no clock).

Why server-rendered SVG: the dashboard must work without JavaScript, under a CSP that allows no
inline script or style, on a clinician's phone as on a desktop. An SVG drawn on the server is plain
markup: every browser renders it at once, it scales with its viewBox, it prints, and its geometry is
tested here as numbers, without a browser. A chart library would bring script, weight and a second
source of truth for the severity bands.

The caller hands in check-ins, infusions, booster requests and the lines to draw (baseline,
reference low); `trajectory` returns where everything goes in a WIDTH x HEIGHT viewBox. The
template (templates/clinic/_chart.html) only writes the numbers out.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, tzinfo

from tracker.instruments import PHQ9
from tracker.instruments.severity import label as severity_label
from tracker.local_time import in_range_utc
from tracker.outcomes import SurvivalStep

# Nearer square than a desktop chart would be: on a phone the chart is the screen's width, and its height
# is what keeps the scores apart.
WIDTH = 560
HEIGHT = 360
# The plot area; above it a track for booster requests, below it a track for infusions, then the dates.
LEFT, RIGHT, TOP, BOTTOM = 44, 544, 40, 290
REQUEST_TRACK = 16  # y of the booster-request flags
DECISION_TRACK = 30  # y of the decisions, just under their flags
INFUSION_TRACK = 308  # y of the infusion glyphs
GLYPH = 7  # half the size of a glyph
ABOVE, BELOW = "-0.4em", "1.1em"  # a rule's label, just above or just below its line
MIN_SPAN = timedelta(days=14)  # a chart of a few days would spread two points across the page
MAX_X_TICKS = 6  # date labels must stay apart at a phone's font size

# CLINICAL.md §2: the severity bands, as the instrument defines them (not copied here).
SEVERITY_BANDS: tuple[tuple[int, str], ...] = PHQ9.bands
MAX_TOTAL = PHQ9.max_total


@dataclass(frozen=True)
class Point:
    """A PHQ-9 check-in."""

    id: str
    taken_at: datetime
    total: int
    item9_positive: bool = False


@dataclass(frozen=True)
class InfusionIn:
    """An infusion given or booked (cancelled ones are left out by the caller)."""

    id: str
    kind: str  # induction, maintenance, booster
    status: str  # given, scheduled
    at: datetime


@dataclass(frozen=True)
class RequestIn:
    """A booster request: when it was raised and, once a clinician decided, when and how."""

    id: str
    raised_at: datetime
    urgency: str
    status: str
    decided_at: datetime | None = None


@dataclass(frozen=True)
class Band:
    low: int
    high: int
    severity: str
    label: str
    y: float
    height: float


@dataclass(frozen=True)
class PlotPoint:
    id: str
    x: float
    y: float
    total: int
    severity: str
    item9_positive: bool
    taken_at: datetime


@dataclass(frozen=True)
class Row:
    """A check-in as the table under the chart lists it: every one, drawn or not."""

    taken_at: datetime
    total: int
    severity: str
    item9_positive: bool


@dataclass(frozen=True)
class Glyph:
    """A marker drawn as a polygon, so every shape is written out the same way."""

    id: str
    kind: str  # an infusion's kind, a request's urgency, or a decision's outcome
    status: str
    x: float
    y: float
    points: str
    at: datetime


@dataclass(frozen=True)
class Rule:
    """A horizontal reference line with its label."""

    name: str  # baseline, reference-low
    value: int
    x1: float
    x2: float
    y: float
    label: str
    label_x: float
    label_dy: str  # above or below the line, in ems: the font size changes with the screen (app.css)
    anchor: str  # SVG text-anchor


@dataclass(frozen=True)
class Tick:
    at: float  # x for a date, y for a score
    label: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    left: int
    right: int
    top: int
    bottom: int
    start: datetime
    end: datetime
    bands: tuple[Band, ...]
    points: tuple[PlotPoint, ...]
    line: str  # the path through the points, "" for fewer than two
    infusions: tuple[Glyph, ...]
    guides: tuple[float, ...]  # x of each given infusion: a faint vertical line through the plot
    requests: tuple[Glyph, ...]
    decisions: tuple[Glyph, ...]
    rules: tuple[Rule, ...]
    x_ticks: tuple[Tick, ...]
    y_ticks: tuple[Tick, ...]
    now_x: float | None
    # Check-ins, infusions and requests stored with a date outside 2000-2100 (before that was refused): not drawn,
    # since one would squeeze every other mark into a corner; the table under the chart still lists them.
    left_out: int = 0
    rows: tuple[Row, ...] = ()

    @property
    def view_box(self) -> str:
        return f"0 0 {self.width} {self.height}"


def severity_of(total: int) -> str:
    """CLINICAL.md §2 band of a total, by the instrument's own rule."""
    return PHQ9.severity_for(total)


def y_for(total: float) -> float:
    """Higher scores sit higher: 0 at the plot's bottom, the maximum at its top."""
    return round(BOTTOM - (BOTTOM - TOP) * total / MAX_TOTAL, 1)


class _TimeScale:
    def __init__(self, start: datetime, end: datetime) -> None:
        self.start, self.span = start, (end - start).total_seconds()

    def __call__(self, moment: datetime) -> float:
        return round(LEFT + (RIGHT - LEFT) * (moment - self.start).total_seconds() / self.span, 1)


SHAPES: dict[str, list[tuple[float, float]]] = {
    "square": [(-1, -1), (1, -1), (1, 1), (-1, 1)],
    "diamond": [(0, -1.3), (1.3, 0), (0, 1.3), (-1.3, 0)],
    "triangle": [(0, -1.2), (1.2, 1), (-1.2, 1)],
    "flag": [(-1, -1.2), (1, -1.2), (0, 1.2)],  # a triangle pointing down at the plot
    "circle": [(-0.7, -1), (0.7, -1), (1, 0), (0.7, 1), (-0.7, 1), (-1, 0)],  # a hexagon reads as a dot
}


def _polygon(shape: str, x: float, y: float, size: float = GLYPH) -> str:
    """Corner points of a glyph centred on (x, y)."""
    return " ".join(f"{round(x + dx * size, 1)},{round(y + dy * size, 1)}" for dx, dy in SHAPES[shape])


def decision_of(request: RequestIn) -> str:
    """What the clinic decided: yes (approved, booked, later completed) or no (declined, cancelled)."""
    return "declined" if request.status in ("declined", "cancelled") else "approved"


INFUSION_SHAPES = {"induction": "square", "maintenance": "diamond", "booster": "triangle"}


def _span(
    points: Sequence[Point], infusions: Sequence[InfusionIn], requests: Sequence[RequestIn], now: datetime
) -> tuple[datetime, datetime]:
    moments = [p.taken_at for p in points] + [i.at for i in infusions] + [r.raised_at for r in requests]
    moments += [r.decided_at for r in requests if r.decided_at is not None]
    start = min(moments, default=now - MIN_SPAN)
    end = max([*moments, now])
    if end - start < MIN_SPAN:
        start = end - MIN_SPAN
    # A little room at both ends, so the first and last glyphs are not cut by the frame.
    pad = (end - start) / 40
    return start - pad, end + pad


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


# A rule's label is kept clear of the points: its box at the largest font the chart uses (app.css: 22 units
# on a phone) is tried from the right end leftwards until no point falls inside it.
LABEL_FONT = 22
POINT_RADIUS = 7  # the largest point drawn (an item-9 positive one)
LABEL_STEP = 20


def _label_width(label: str) -> float:
    return len(label) * LABEL_FONT * 0.6


def _label_box(label: str, x: float, y: float, dy: str) -> tuple[float, float, float, float]:
    """(left, top, right, bottom) of a label whose right end is at x: capitals 0.72 em tall, descenders 0.15 em."""
    shift = float(dy.removesuffix("em")) * LABEL_FONT
    return x - _label_width(label), y + shift - 0.72 * LABEL_FONT, x, y + shift + 0.15 * LABEL_FONT


def _free_x(label: str, y: float, dy: str, x1: float, taken: Sequence[tuple[float, float]]) -> float:
    """The rightmost x (the label's right end) where the label covers no point; the right end if none is free."""
    x = float(RIGHT - 4)
    while x - _label_width(label) >= x1:
        left, top, right, bottom = _label_box(label, x, y, dy)
        r = POINT_RADIUS
        if not any(px + r > left and px - r < right and py + r > top and py - r < bottom for px, py in taken):
            return x
        x -= LABEL_STEP
    return float(RIGHT - 4)


def _rules(
    baseline: int | None,
    reference_low: int | None,
    window_start: datetime | None,
    x: _TimeScale,
    taken: Sequence[tuple[float, float]],
) -> tuple[Rule, ...]:
    rules = []
    if baseline is not None:
        y, label = y_for(baseline), f"baseline {baseline}"
        rules.append(
            Rule("baseline", baseline, LEFT, RIGHT, y, label, _free_x(label, y, ABOVE, LEFT, taken), ABOVE, "end")
        )
    if reference_low is not None:
        # CLINICAL.md §5: the reference low belongs to the current window, which opens at the last infusion.
        x1 = max(LEFT, x(window_start)) if window_start is not None else LEFT
        y, label = y_for(reference_low), f"low {reference_low}"
        # Below its line, unless the line runs so low that the label would leave the plot.
        dy = BELOW if reference_low >= 3 else ABOVE
        rules.append(
            Rule("reference-low", reference_low, x1, RIGHT, y, label, _free_x(label, y, dy, x1, taken), dy, "end")
        )
    return tuple(rules)


def trajectory(
    points: Sequence[Point],
    infusions: Sequence[InfusionIn] = (),
    requests: Sequence[RequestIn] = (),
    *,
    baseline: int | None = None,
    reference_low: int | None = None,
    window_start: datetime | None = None,
    now: datetime,
    zone: tzinfo = UTC,
) -> Chart:
    """The chart's geometry: bands, one point per check-in, one glyph per infusion and per request.

    Only moments in local_time's calendar (2000-2100) are drawn; `left_out` counts the rest.
    """
    given = len(points) + len(infusions) + len(requests)
    rows = tuple(Row(p.taken_at, p.total, severity_of(p.total), p.item9_positive) for p in points)
    points = [p for p in points if in_range_utc(p.taken_at)]
    infusions = [i for i in infusions if in_range_utc(i.at)]
    requests = [
        r if r.decided_at is None or in_range_utc(r.decided_at) else replace(r, decided_at=None)
        for r in requests
        if in_range_utc(r.raised_at)
    ]
    if window_start is not None and not in_range_utc(window_start):
        window_start = None
    # Stable by time only: points arrive in the one order (taken, then stored), which breaks ties.
    ordered = sorted(points, key=lambda p: p.taken_at)
    start, end = _span(ordered, infusions, requests, now)
    x = _TimeScale(start, end)
    bands = []
    for index, (low, severity) in enumerate(SEVERITY_BANDS):
        high = SEVERITY_BANDS[index + 1][0] - 1 if index + 1 < len(SEVERITY_BANDS) else MAX_TOTAL
        # A band covers its whole scores: from low - 0.5 to high + 0.5, clipped to the plot.
        top, bottom = y_for(min(high + 0.5, MAX_TOTAL)), y_for(max(low - 0.5, 0))
        label = f"{low}–{high} {severity_label(severity)}"
        bands.append(Band(low, high, severity, label, top, round(bottom - top, 1)))
    plotted = tuple(
        PlotPoint(p.id, x(p.taken_at), y_for(p.total), p.total, severity_of(p.total), p.item9_positive, p.taken_at)
        for p in ordered
    )
    line = " ".join(f"{'M' if i == 0 else 'L'}{p.x},{p.y}" for i, p in enumerate(plotted)) if len(plotted) > 1 else ""
    glyphs = tuple(
        Glyph(
            i.id,
            i.kind,
            i.status,
            x(i.at),
            INFUSION_TRACK,
            _polygon(INFUSION_SHAPES.get(i.kind, "circle"), x(i.at), INFUSION_TRACK),
            i.at,
        )
        for i in sorted(infusions, key=lambda i: (i.at, i.id))
    )
    flags = tuple(
        Glyph(
            r.id,
            r.urgency,
            r.status,
            x(r.raised_at),
            REQUEST_TRACK,
            _polygon("flag", x(r.raised_at), REQUEST_TRACK),
            r.raised_at,
        )
        for r in sorted(requests, key=lambda r: (r.raised_at, r.id))
    )
    decisions = tuple(
        Glyph(
            r.id,
            decision_of(r),
            r.status,
            x(r.decided_at),
            DECISION_TRACK,
            _polygon("circle", x(r.decided_at), DECISION_TRACK, 5),
            r.decided_at,
        )
        for r in sorted(requests, key=lambda r: (r.raised_at, r.id))
        if r.decided_at is not None
    )
    return Chart(
        width=WIDTH,
        height=HEIGHT,
        left=LEFT,
        right=RIGHT,
        top=TOP,
        bottom=BOTTOM,
        start=start,
        end=end,
        bands=tuple(bands),
        points=plotted,
        line=line,
        infusions=glyphs,
        guides=tuple(g.x for g in glyphs if g.status == "given"),
        requests=flags,
        decisions=decisions,
        rules=_rules(baseline, reference_low, window_start, x, [(p.x, p.y) for p in plotted]),
        x_ticks=tuple(Tick(x(moment), label) for moment, label in date_ticks(start, end, zone)),
        y_ticks=tuple(Tick(y_for(score), str(score)) for score in [*(low for low, _ in SEVERITY_BANDS), MAX_TOTAL]),
        now_x=x(now),
        left_out=given - len(points) - len(infusions) - len(requests),
        rows=tuple(sorted(rows, key=lambda row: row.taken_at)),
    )


def legend_points(kind: str) -> str:
    """A glyph centred on (0, 0), for the legend's small pictures: an infusion kind, 'request' or 'decision'."""
    shape = INFUSION_SHAPES.get(kind) or {"request": "flag"}.get(kind, "circle")
    return _polygon(shape, 0, 0)


# --- time to first booster: a Kaplan–Meier curve (CLINICAL.md §4) ---------------------------------------------

KM_WIDTH, KM_HEIGHT = 480, 240
KM_LEFT, KM_RIGHT, KM_TOP, KM_BOTTOM = 44, 464, 14, 196
KM_MIN_DAYS = 28.0
KM_TICK_STEPS = (7, 14, 28, 56, 91, 182, 364)


@dataclass(frozen=True)
class SurvivalChart:
    """Where the curve, its 95% band, the censored marks, the median and the axes go in the viewBox."""

    curve: str  # an SVG path: the estimate as steps
    lower: str  # the band's lower and upper limits, as steps
    upper: str
    censored: tuple[tuple[float, float], ...]  # (x, y) of each censoring mark, on the curve
    half_y: float  # y of S = 0.5
    median_x: float | None
    x_ticks: tuple[tuple[float, str], ...]
    y_ticks: tuple[tuple[float, str], ...]


def _km_steps(
    points: Sequence[tuple[float, float]], x_of: Callable[[float], float], y_of: Callable[[float], float], end_x: float
) -> str:
    """A step path through (time, value) points, starting at value 1 at time 0."""
    path = [f"M{KM_LEFT} {y_of(1.0):.1f}"]
    for time, value in points:
        path.append(f"H{x_of(time):.1f} V{y_of(value):.1f}")
    path.append(f"H{end_x:.1f}")
    return " ".join(path)


def survival_chart(steps: Sequence[SurvivalStep]) -> SurvivalChart:
    """Geometry of a Kaplan–Meier estimate (tracker.outcomes.kaplan_meier's steps): days across, share without a
    booster up; the x axis runs to the last time followed, at least four weeks."""
    span = max([KM_MIN_DAYS, *(float(step.time) for step in steps)])

    def x_of(days: float) -> float:
        return KM_LEFT + (KM_RIGHT - KM_LEFT) * days / span

    def y_of(share: float) -> float:
        return KM_BOTTOM - (KM_BOTTOM - KM_TOP) * share

    end = x_of(max((float(step.time) for step in steps), default=0.0))
    events = [step for step in steps if step.events]
    curve = _km_steps([(s.time, s.survival) for s in events], x_of, y_of, end)
    lower = _km_steps([(s.time, s.lower) for s in events], x_of, y_of, end)
    upper = _km_steps([(s.time, s.upper) for s in events], x_of, y_of, end)
    censored = tuple((round(x_of(step.time), 1), round(y_of(step.survival), 1)) for step in steps if step.censored)
    median = next((s.time for s in events if s.survival <= 0.5), None)
    step_days = next((s for s in KM_TICK_STEPS if span / s <= MAX_X_TICKS), KM_TICK_STEPS[-1])
    x_ticks = tuple(
        (round(x_of(day), 1), f"{day // 7} wk" if step_days % 7 == 0 else f"{day} d")
        for day in range(0, int(span) + 1, step_days)
    )
    y_ticks = tuple((round(y_of(share), 1), f"{round(share * 100)}%") for share in (0.0, 0.25, 0.5, 0.75, 1.0))
    return SurvivalChart(
        curve,
        lower,
        upper,
        censored,
        round(y_of(0.5), 1),
        round(x_of(median), 1) if median is not None else None,
        x_ticks,
        y_ticks,
    )
