"""A patient's PHQ-9 trajectory as SVG geometry: pure (no Flask, no database, no clock).

Why server-rendered SVG: the dashboard must work without JavaScript, under a CSP that allows no
inline script or style, on a clinician's phone as on a desktop. An SVG drawn on the server is plain
markup: every browser renders it at once, it scales with its viewBox, it prints, and its geometry is
tested here as numbers, without a browser. A chart library would bring script, weight and a second
source of truth for the severity bands.

The caller hands in check-ins, infusions, booster requests and the lines to draw (baseline,
reference low); `trajectory` returns where everything goes in a WIDTH x HEIGHT viewBox. The
template (templates/clinic/_chart.html) only writes the numbers out. The time axis comes from
time_axis.axis_for, so other charts of the page (score_chart.py: GAD-7) can share it; the points, the
line with its gaps and the bands are drawn by score_chart's helpers, the same way for every instrument.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, tzinfo

from tracker.instruments import PHQ9
from tracker.local_time import in_range_utc
from tracker.outcomes import SurvivalStep
from tracker.web.score_chart import (
    Band,
    Gap,
    PlotPoint,
    Row,
    ScoreIn,
    ScoreScale,
    bands_of,
    line_with_gaps,
    plot_points,
    rows_of,
)
from tracker.web.time_axis import LEFT, RIGHT, WIDTH, TimeAxis, axis_for
from tracker.web.time_axis import MAX_X_TICKS as MAX_X_TICKS  # the chart's time helpers, kept under their old names
from tracker.web.time_axis import MIN_SPAN as MIN_SPAN
from tracker.web.time_axis import date_ticks as date_ticks

# Nearer square than a desktop chart would be: on a phone the chart is the screen's width, and its height
# is what keeps the scores apart.
HEIGHT = 360
# The plot area (LEFT, RIGHT and WIDTH are time_axis's, shared by every chart of the page); above it a track for
# booster requests, below it a track for infusions, then the dates.
TOP, BOTTOM = 40, 290
REQUEST_TRACK = 16  # y of the booster-request flags
DECISION_TRACK = 30  # y of the decisions, just under their flags
INFUSION_TRACK = 308  # y of the infusion glyphs
GLYPH = 7  # half the size of a glyph
ABOVE, BELOW = "-0.4em", "1.1em"  # a rule's label, just above or just below its line
# Infusion glyphs closer than this are moved apart (a course of six in two weeks is one blot on a year's axis),
# each joined by a leader to its true day on the frame.
GLYPH_STEP = 2 * GLYPH + 8  # a clear 3 px between two glyphs at a phone's 360 px

# CLINICAL.md §2: the severity bands, as the instrument defines them (not copied here).
SEVERITY_BANDS: tuple[tuple[int, str], ...] = PHQ9.bands
MAX_TOTAL = PHQ9.max_total


Point = ScoreIn  # a PHQ-9 check-in


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
class Glyph:
    """A marker drawn as a polygon, so every shape is written out the same way."""

    id: str
    kind: str  # an infusion's kind, a request's urgency, or a decision's outcome
    status: str
    x: float
    y: float
    points: str
    at: datetime
    mark_x: float | None = None  # the glyph's true day on the frame, when it was moved apart from its neighbours


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
    rows: tuple[Row, ...] = ()  # the check-ins of the range, and those left out
    gaps: tuple[Gap, ...] = ()
    range_key: str = "all"  # time_axis.RANGES: the range drawn
    earlier: int = 0  # check-ins before the range: not drawn, nor in the table
    now_anchor: str = "end"  # the "today" label: left of its line, or right of it near the plot's left side
    legend: tuple[tuple[str, str], ...] = ()  # (key, words) of LEGEND_WORDS for what is drawn, in its order

    @property
    def view_box(self) -> str:
        return f"0 0 {self.width} {self.height}"


def severity_of(total: int) -> str:
    """CLINICAL.md §2 band of a total, by the instrument's own rule."""
    return PHQ9.severity_for(total)


y_for = ScoreScale(TOP, BOTTOM, MAX_TOTAL)  # higher scores sit higher: 0 at the plot's bottom, 27 at its top


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
    x: TimeAxis,
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
        x1 = max(LEFT, x.x(window_start)) if window_start is not None else LEFT
        y, label = y_for(reference_low), f"low {reference_low}"
        # Below its line, unless the line runs so low that the label would leave the plot.
        dy = BELOW if reference_low >= 3 else ABOVE
        rules.append(
            Rule("reference-low", reference_low, x1, RIGHT, y, label, _free_x(label, y, dy, x1, taken), dy, "end")
        )
    return tuple(rules)


def moments(
    points: Sequence[Point], infusions: Sequence[InfusionIn] = (), requests: Sequence[RequestIn] = ()
) -> list[datetime]:
    """Every moment the trajectory draws: what time_axis.axis_for spans, with the page's other charts' moments."""
    found = [p.taken_at for p in points] + [i.at for i in infusions] + [r.raised_at for r in requests]
    return found + [r.decided_at for r in requests if r.decided_at is not None]


def spread(xs: Sequence[float], step: float = GLYPH_STEP, lo: float = LEFT, hi: float = RIGHT) -> list[float]:
    """Where to draw marks at these x (in order) so that none is nearer than `step` to the next: each run of
    crowded marks is laid out `step` apart around its centre, kept inside [lo, hi]; others stay where they are."""
    runs: list[list[float]] = []

    def first(run: list[float]) -> float:
        width = (len(run) - 1) * step
        return min(max(sum(run) / len(run) - width / 2, lo), hi - width)

    for x in xs:
        runs.append([x])
        # A run pushed wider may now crowd the one before: join them, until every run stands clear.
        while len(runs) > 1 and first(runs[-2]) + len(runs[-2]) * step > first(runs[-1]):
            runs[-2:] = [runs[-2] + runs[-1]]
    return [round(first(run) + k * step, 1) for run in runs for k in range(len(run))]


LEGEND_WORDS = {
    "induction": "Induction infusion",
    "maintenance": "Maintenance infusion",
    "booster": "Booster infusion",
    "booked": "Booked",
    "urgent": "Urgent request",
    "routine": "Routine request",
    "approved": "Approved",
    "declined": "Declined or cancelled",
    "baseline": "Baseline",
    "reference-low": "Reference low (since the last infusion)",
    "item9": "Item 9 positive",
    "gap": "Over 3 weeks without a check-in: the line breaks",
}


def _legend(
    infusions: Sequence[Glyph],
    requests: Sequence[Glyph],
    decisions: Sequence[Glyph],
    rules: Sequence[Rule],
    points: Sequence[PlotPoint],
    gaps: Sequence[Gap],
) -> tuple[tuple[str, str], ...]:
    """(key, words) of LEGEND_WORDS for what is drawn, nothing else."""
    drawn = {g.kind for g in infusions if g.status == "given"} | {"booked" for g in infusions if g.status != "given"}
    drawn |= {g.kind for g in requests} | {g.kind for g in decisions} | {r.name for r in rules}
    drawn |= {"item9" for p in points if p.item9_positive} | ({"gap"} if gaps else set())
    return tuple((key, words) for key, words in LEGEND_WORDS.items() if key in drawn)


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
    range_key: str | None = None,
    axis: TimeAxis | None = None,
) -> Chart:
    """The chart's geometry: bands, one point per check-in, one glyph per infusion and per request, on `axis`
    (by default time_axis.axis_for the range asked, from these marks alone).

    Only moments on the axis and in local_time's calendar (2000-2100) are drawn; `left_out` counts those outside
    the calendar, `earlier` the check-ins before the range.
    """
    if axis is None:
        axis = axis_for(moments(points, infusions, requests), now=now, zone=zone, range_key=range_key)
    everything = [p.taken_at for p in points] + [i.at for i in infusions] + [r.raised_at for r in requests]
    left_out = sum(1 for moment in everything if not in_range_utc(moment))
    earlier = sum(1 for p in points if in_range_utc(p.taken_at) and p.taken_at < axis.since)
    infusions = sorted((i for i in infusions if axis.shows(i.at)), key=lambda i: (i.at, i.id))
    requests = sorted(
        (
            r if r.decided_at is None or axis.shows(r.decided_at) else replace(r, decided_at=None)
            for r in requests
            if axis.shows(r.raised_at)
        ),
        key=lambda r: (r.raised_at, r.id),
    )
    if window_start is not None and not in_range_utc(window_start):
        window_start = None
    x = axis.x
    plotted = plot_points(points, PHQ9, axis, y_for)
    line, gaps = line_with_gaps(plotted)
    marks = [x(i.at) for i in infusions]
    glyphs = tuple(
        Glyph(
            i.id,
            i.kind,
            i.status,
            at_x,
            INFUSION_TRACK,
            _polygon(INFUSION_SHAPES.get(i.kind, "circle"), at_x, INFUSION_TRACK),
            i.at,
            mark if abs(mark - at_x) > 0.5 else None,
        )
        for i, mark, at_x in zip(infusions, marks, spread(marks), strict=True)
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
        for r in requests
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
        for r in requests
        if r.decided_at is not None
    )
    rules = _rules(baseline, reference_low, window_start, axis, [(p.x, p.y) for p in plotted])
    now_x = axis.now_x
    return Chart(
        width=WIDTH,
        height=HEIGHT,
        left=LEFT,
        right=RIGHT,
        top=TOP,
        bottom=BOTTOM,
        start=axis.start,
        end=axis.end,
        bands=bands_of(PHQ9, y_for),
        points=plotted,
        line=line,
        infusions=glyphs,
        # Through each given infusion's true day, even when its glyph was moved apart from its neighbours.
        guides=tuple(g.x if g.mark_x is None else g.mark_x for g in glyphs if g.status == "given"),
        requests=flags,
        decisions=decisions,
        rules=rules,
        x_ticks=tuple(Tick(at, label) for at, label in axis.ticks),
        y_ticks=tuple(Tick(y_for(score), str(score)) for score in [*(low for low, _ in SEVERITY_BANDS), MAX_TOTAL]),
        now_x=now_x,
        left_out=left_out,
        rows=rows_of(points, PHQ9, axis),
        gaps=gaps,
        range_key=axis.range_key,
        earlier=earlier,
        now_anchor="start" if now_x < LEFT + 80 else "end",
        legend=_legend(glyphs, flags, decisions, rules, plotted, gaps),
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
