"""A patient's blood pressure per infusion as SVG geometry, on the page's shared time axis: pure.

CLINICAL.md §7: the patient page shows each patient's blood pressure over time beside the PHQ-9. Each given
infusion with a reading is a column at its day (time_axis, so it sits under its glyph on the trajectory): the
systolic and diastolic of the reading before the dose as points joined across visits, and a whisker from the
lowest to the highest value read at the visit (before, about 40 minutes in, before discharge). The caution
(140/90) and the clinic's hold-and-review lines are drawn from tracker/vitals.py, which also judges each visit.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from tracker.local_time import in_range_utc
from tracker.models import Infusion
from tracker.vitals import CAUTION_AT, HOLD, BloodPressure, checks_of_saved
from tracker.web.charts import ABOVE, BELOW, LABEL_STEP, POINT_RADIUS, _label_box, _label_width
from tracker.web.time_axis import LEFT, RIGHT, WIDTH, TimeAxis

HEIGHT = 220
TOP, BOTTOM = 16, 180
LOW_MMHG, HIGH_MMHG = 40, 220  # the scale: readings beyond it are drawn at its edge (the table has them)
Y_TICKS = (60, 90, 120, 140, 180, 210)


def y_of(mmhg: int) -> float:
    clipped = min(max(mmhg, LOW_MMHG), HIGH_MMHG)
    return round(BOTTOM - (BOTTOM - TOP) * (clipped - LOW_MMHG) / (HIGH_MMHG - LOW_MMHG), 1)


@dataclass(frozen=True)
class BpIn:
    """A given infusion's readings (bp_before, bp_during, bp_after) and whether a hold was confirmed."""

    id: str
    at: datetime
    readings: Mapping[str, BloodPressure | None]
    hold_confirmed: bool = False
    hold_at: BloodPressure | None = None  # the level in force when the visit was saved


@dataclass(frozen=True)
class BpColumn:
    id: str
    at: datetime
    x: float
    level: str  # "", "caution" or "hold": the visit's highest (tracker/vitals.py)
    systolic_y: float | None  # the reading before the dose, when there was one
    diastolic_y: float | None
    whisker: tuple[float, float]  # y of the highest systolic and the lowest diastolic of the visit
    readings: tuple[tuple[str, BloodPressure], ...]  # (field, reading) in moment order, for the title and table


@dataclass(frozen=True)
class BpRule:
    name: str  # caution-systolic, caution-diastolic, hold-systolic, hold-diastolic
    value: int
    y: float
    label: str
    label_x: float = RIGHT - 4  # the label's right end, placed clear of the others (`_placed`)
    dy: str = ABOVE


Box = tuple[float, float, float, float]  # left, top, right, bottom


def _overlaps(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _today_boxes(now_x: float) -> list[Box]:
    """The dashed "today" line and its label (templates/clinic/_chart_parts.html now_mark, anchored as there)."""
    start = now_x < LEFT + 80
    label = (now_x + 5, TOP) if start else (now_x - 5 - _label_width("today"), TOP)
    left, top, right, bottom = _label_box("today", label[0] + _label_width("today"), TOP, "1em")
    return [(now_x - 2, TOP, now_x + 2, BOTTOM), (left - 2, top, right + 2, bottom)]


def _placed(rules: Sequence[BpRule], now_x: float, points: Sequence[tuple[float, float]]) -> tuple[BpRule, ...]:
    """Each rule's label where it covers no point (as charts._free_x keeps them), no label placed before it, nor
    the today line and its label: above its line, else below it, from the right end leftwards, the first rules
    first. With the caution and hold lines a few mmHg apart (a hold at 150/95) the labels sit side by side.

    Where points leave no free place (a dense course near the lines), a label may cover a point rather than
    another label: a point half hidden is still read in the table, two labels over each other are read by no one."""
    taken = _today_boxes(now_x)
    r = POINT_RADIUS
    placed = []
    for rule in rules:
        spot = None
        for clear_of_points in (True, False):
            for dy in (ABOVE, BELOW):
                x = float(RIGHT - 4)
                while spot is None and x - _label_width(rule.label) >= LEFT:
                    box = _label_box(rule.label, x, rule.y, dy)
                    left, top, right, bottom = box
                    covers = clear_of_points and any(
                        px + r > left and px - r < right and py + r > top and py - r < bottom for px, py in points
                    )
                    if not covers and not any(_overlaps(box, other) for other in taken):
                        spot = (x, dy, box)
                    x -= LABEL_STEP
                if spot is not None:
                    break
            if spot is not None:
                break
        if spot is None:  # nowhere free (a crowded phone-sized range): at the right end, as before
            spot = (float(RIGHT - 4), ABOVE, _label_box(rule.label, RIGHT - 4, rule.y, ABOVE))
        taken.append(spot[2])
        placed.append(replace(rule, label_x=spot[0], dy=spot[1]))
    return tuple(placed)


@dataclass(frozen=True)
class BpChart:
    width: int
    height: int
    left: int
    right: int
    top: int
    bottom: int
    columns: tuple[BpColumn, ...]
    systolic_line: str
    diastolic_line: str
    rules: tuple[BpRule, ...]
    x_ticks: tuple[tuple[float, str], ...]
    y_ticks: tuple[tuple[float, str], ...]
    now_x: float
    earlier: int  # visits with readings before the range: not drawn

    @property
    def view_box(self) -> str:
        return f"0 0 {self.width} {self.height}"


def visits_of(infusions: Iterable[Infusion]) -> list[BpIn]:
    """The given infusions with any blood pressure reading, as the chart takes them."""
    return [
        BpIn(str(i.id), i.given_at, i.readings, i.bp_hold_confirmed, i.hold_at)
        for i in infusions
        if i.status == "given" and i.given_at is not None and any(i.readings.values())
    ]


def moments(visits: Sequence[BpIn]) -> list[datetime]:
    """What this chart draws, for time_axis.axis_for (patient_charts.charts_of's `also`)."""
    return [v.at for v in visits if any(v.readings.values())]


def _path(points: Sequence[tuple[float, float]]) -> str:
    return " ".join(f"{'M' if i == 0 else 'L'}{x},{y}" for i, (x, y) in enumerate(points)) if len(points) > 1 else ""


def bp_chart(visits: Sequence[BpIn], axis: TimeAxis, hold_at: BloodPressure) -> BpChart:
    """The columns of the visits on the axis with any reading, oldest first, and the caution and hold lines."""
    recorded = [v for v in visits if any(v.readings.values())]
    shown = sorted((v for v in recorded if axis.shows(v.at)), key=lambda v: (v.at, v.id))
    columns = []
    for v in shown:
        readings = tuple((name, r) for name, r in v.readings.items() if r is not None)
        levels = {c.level for c in checks_of_saved(v.readings, v.hold_confirmed, v.hold_at)}
        before = v.readings.get("bp_before")
        columns.append(
            BpColumn(
                v.id,
                v.at,
                axis.x(v.at),
                HOLD if HOLD in levels else (levels.pop() if levels else ""),
                y_of(before.systolic) if before else None,
                y_of(before.diastolic) if before else None,
                (y_of(max(r.systolic for _, r in readings)), y_of(min(r.diastolic for _, r in readings))),
                readings,
            )
        )
    lines = (
        BpRule("caution-systolic", CAUTION_AT.systolic, y_of(CAUTION_AT.systolic), f"caution {CAUTION_AT.systolic}"),
        BpRule(
            "caution-diastolic", CAUTION_AT.diastolic, y_of(CAUTION_AT.diastolic), f"caution {CAUTION_AT.diastolic}"
        ),
        BpRule("hold-systolic", hold_at.systolic, y_of(hold_at.systolic), f"hold {hold_at.systolic}"),
        BpRule("hold-diastolic", hold_at.diastolic, y_of(hold_at.diastolic), f"hold {hold_at.diastolic}"),
    )
    drawn = [(c.x, y) for c in columns for y in (c.systolic_y, c.diastolic_y, *c.whisker) if y is not None]
    # The order they are drawn in (the page's description reads rules[2] and [3] as the hold), placed hold first.
    by_name = {r.name: r for r in _placed([lines[2], lines[3], lines[0], lines[1]], axis.now_x, drawn)}
    rules = tuple(by_name[r.name] for r in lines)
    return BpChart(
        width=WIDTH,
        height=HEIGHT,
        left=LEFT,
        right=RIGHT,
        top=TOP,
        bottom=BOTTOM,
        columns=tuple(columns),
        systolic_line=_path([(c.x, c.systolic_y) for c in columns if c.systolic_y is not None]),
        diastolic_line=_path([(c.x, c.diastolic_y) for c in columns if c.diastolic_y is not None]),
        rules=rules,
        x_ticks=axis.ticks,
        y_ticks=tuple((y_of(v), str(v)) for v in Y_TICKS),
        now_x=axis.now_x,
        earlier=sum(1 for v in recorded if in_range_utc(v.at) and v.at < axis.since),
    )
