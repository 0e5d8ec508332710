"""The trajectory chart's geometry (tracker/web/charts.py): pure, so checked as numbers without a browser."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tracker.instruments import GAD7
from tracker.web import charts, score_chart, time_axis
from tracker.web.charts import InfusionIn, Point, RequestIn
from tracker.web.score_chart import ScoreIn

NOW = datetime(2026, 11, 21, 15, 0, tzinfo=UTC)
CHICAGO = ZoneInfo("America/Chicago")


def points(*totals: int, every: timedelta = timedelta(days=7)) -> list[Point]:
    """Check-ins with these totals, the last one a day before NOW."""
    start = NOW - timedelta(days=1) - every * (len(totals) - 1)
    return [Point(f"c{i}", start + every * i, total) for i, total in enumerate(totals)]


def test_one_point_per_check_in_scored_bottom_to_top() -> None:
    chart = charts.trajectory(points(0, 27, 13, 13), now=NOW)
    assert len(chart.points) == 4
    zero, top, middle, same = chart.points
    assert zero.y == charts.BOTTOM and top.y == charts.TOP  # 0 on the floor, 27 at the ceiling
    assert top.y < middle.y < zero.y and middle.y == same.y
    assert [p.x for p in chart.points] == sorted(p.x for p in chart.points)
    assert all(charts.LEFT <= p.x <= charts.RIGHT for p in chart.points)
    assert chart.line.startswith(f"M{zero.x},{zero.y} L") and chart.line.count("L") == 3
    assert chart.view_box == f"0 0 {charts.WIDTH} {charts.HEIGHT}"


def test_points_take_the_severity_of_their_band() -> None:
    chart = charts.trajectory(points(4, 5, 9, 10, 14, 15, 19, 20, 27), now=NOW)
    assert [p.severity for p in chart.points] == [
        "none-minimal",
        "mild",
        "mild",
        "moderate",
        "moderate",
        "moderately-severe",
        "moderately-severe",
        "severe",
        "severe",
    ]


def test_the_five_bands_tile_the_plot_from_0_to_27() -> None:
    """CLINICAL.md §2: 0–4, 5–9, 10–14, 15–19, 20–27, shaded without gap or overlap."""
    bands = charts.trajectory(points(5, 6), now=NOW).bands
    assert [(b.low, b.high, b.severity) for b in bands] == [
        (0, 4, "none-minimal"),
        (5, 9, "mild"),
        (10, 14, "moderate"),
        (15, 19, "moderately-severe"),
        (20, 27, "severe"),
    ]
    assert bands[0].y + bands[0].height == pytest.approx(charts.BOTTOM)
    assert bands[-1].y == pytest.approx(charts.TOP)
    for lower, upper in itertools.pairwise(bands):
        assert upper.y + upper.height == pytest.approx(lower.y, abs=0.11)  # the next band starts where one ends
    assert bands[2].label == "10–14 moderate"


def test_one_glyph_per_infusion_shaped_by_kind_and_marked_when_booked() -> None:
    infusions = [
        InfusionIn("i1", "induction", "given", NOW - timedelta(days=60)),
        InfusionIn("i2", "maintenance", "given", NOW - timedelta(days=30)),
        InfusionIn("i3", "booster", "given", NOW - timedelta(days=10)),
        InfusionIn("i4", "booster", "scheduled", NOW + timedelta(days=5)),
    ]
    chart = charts.trajectory(points(20, 8, 12), infusions, now=NOW)
    assert [(g.id, g.kind, g.status) for g in chart.infusions] == [
        ("i1", "induction", "given"),
        ("i2", "maintenance", "given"),
        ("i3", "booster", "given"),
        ("i4", "booster", "scheduled"),
    ]
    corners = [len(g.points.split()) for g in chart.infusions]
    assert corners == [4, 4, 3, 3]  # square, diamond, triangle, triangle
    assert len(chart.guides) == 3  # a guide line through the plot for each infusion given, none for a booking
    # A booked infusion after now stretches the time axis to show it.
    assert chart.end > NOW + timedelta(days=5)
    assert chart.infusions[-1].x <= charts.RIGHT and chart.now_x is not None and chart.now_x < chart.infusions[-1].x


def test_requests_are_flagged_when_raised_and_marked_when_decided() -> None:
    requests = [
        RequestIn("r1", NOW - timedelta(days=40), "routine", "declined", NOW - timedelta(days=39)),
        RequestIn("r2", NOW - timedelta(days=20), "urgent", "completed", NOW - timedelta(days=19)),
        RequestIn("r3", NOW - timedelta(days=2), "routine", "open"),
    ]
    chart = charts.trajectory(points(6, 15, 17), requests=requests, now=NOW)
    assert [(g.id, g.kind, g.status) for g in chart.requests] == [
        ("r1", "routine", "declined"),
        ("r2", "urgent", "completed"),
        ("r3", "routine", "open"),
    ]
    assert [(g.id, g.kind) for g in chart.decisions] == [("r1", "declined"), ("r2", "approved")]
    assert all(g.y == charts.REQUEST_TRACK < charts.TOP for g in chart.requests)


def test_baseline_spans_the_plot_and_the_reference_low_only_the_current_window() -> None:
    window_start = NOW - timedelta(days=20)
    chart = charts.trajectory(
        points(22, 8, 6, 12), baseline=22, reference_low=6, window_start=window_start, now=NOW, zone=CHICAGO
    )
    baseline, low = chart.rules
    assert (baseline.name, baseline.value, baseline.y) == ("baseline", 22, charts.y_for(22))
    assert (baseline.x1, baseline.x2) == (charts.LEFT, charts.RIGHT)
    assert (low.name, low.value, low.label) == ("reference-low", 6, "low 6")
    assert charts.LEFT < low.x1 < charts.RIGHT and low.x2 == charts.RIGHT  # CLINICAL.md §5: from the last infusion
    assert low.label_dy == charts.BELOW and baseline.label_dy == charts.ABOVE
    # A low near the floor puts its label above the line, inside the plot.
    near_floor = charts.trajectory(points(9, 1), reference_low=1, now=NOW).rules[0]
    assert near_floor.label_dy == charts.ABOVE


def test_no_lines_without_a_baseline_or_a_window() -> None:
    assert charts.trajectory(points(9), now=NOW).rules == ()


def test_date_ticks_are_few_and_in_the_clinics_zone() -> None:
    year = charts.trajectory(points(*([8] * 52)), now=NOW, zone=CHICAGO)
    assert 3 <= len(year.x_ticks) <= charts.MAX_X_TICKS
    assert all(len(t.label) <= 8 for t in year.x_ticks)
    assert year.x_ticks[0].label == "Dec 2025"  # the first month says which year
    assert [t.label for t in year.x_ticks[1:]] == ["Feb", "Apr", "Jun", "Aug", "Oct"]
    across = charts.date_ticks(datetime(2025, 10, 20, tzinfo=UTC), datetime(2026, 3, 20, tzinfo=UTC), CHICAGO)
    assert [label for _, label in across] == ["Nov 2025", "Dec", "Jan 2026", "Feb", "Mar"]
    weeks = charts.trajectory(points(9, 12, 15, every=timedelta(days=5)), now=NOW, zone=CHICAGO)
    assert 2 <= len(weeks.x_ticks) <= charts.MAX_X_TICKS
    assert all(t.label.startswith(("Oct", "Nov")) for t in weeks.x_ticks)
    xs = [t.at for t in weeks.x_ticks]
    assert xs == sorted(xs) and all(charts.LEFT <= x <= charts.RIGHT for x in xs)


def test_day_ticks_fall_on_local_midnight() -> None:
    start = datetime(2026, 11, 1, 6, 0, tzinfo=UTC)
    ticks = charts.date_ticks(start, start + timedelta(days=10), CHICAGO)
    assert ticks and all(t.astimezone(CHICAGO).hour == 0 for t, _ in ticks)
    assert ticks[0][1] == "Nov 2"


def test_a_single_check_in_gets_a_readable_span() -> None:
    chart = charts.trajectory([Point("only", NOW - timedelta(hours=2), 11)], now=NOW)
    assert chart.end - chart.start >= charts.MIN_SPAN
    assert chart.line == "" and len(chart.points) == 1


def test_an_empty_chart_still_has_its_frame() -> None:
    chart = charts.trajectory([], now=NOW)
    assert chart.points == () and len(chart.bands) == 5 and chart.x_ticks


def test_input_order_does_not_matter() -> None:
    given = points(3, 9, 14, 8)
    assert charts.trajectory(given, now=NOW) == charts.trajectory(list(reversed(given)), now=NOW)


def test_legend_glyphs_match_the_charts_shapes() -> None:
    assert len(charts.legend_points("induction").split()) == 4
    assert len(charts.legend_points("booster").split()) == 3
    assert len(charts.legend_points("request").split()) == 3
    assert len(charts.legend_points("decision").split()) == 6


def test_a_rules_label_keeps_clear_of_the_points() -> None:
    # The latest score sits on the baseline at the right end, where its label would go first.
    chart = charts.trajectory(points(16, 7, 6, 8, 16), baseline=16, now=NOW)
    [rule] = chart.rules
    left, top, right, bottom = charts._label_box(rule.label, rule.label_x, rule.y, rule.label_dy)
    assert rule.label_x < chart.points[-1].x  # moved left, off the latest point
    r = charts.POINT_RADIUS
    covered = [p for p in chart.points if p.x + r > left and p.x - r < right and p.y + r > top and p.y - r < bottom]
    assert covered == [] and left >= charts.LEFT
    # The reference low's label stays over its own line, which starts at the window.
    window = charts.trajectory(
        points(16, 7, 6, 6, 6, 6), reference_low=6, window_start=NOW - timedelta(days=16), now=NOW
    ).rules[0]
    assert window.label_x - charts._label_width(window.label) >= window.x1 or window.label_x == charts.RIGHT - 4
    # Nothing in the way: it stays at the right end.
    assert charts.trajectory(points(5, 6), baseline=16, now=NOW).rules[0].label_x == charts.RIGHT - 4


# --- gaps, crowded infusions, today, tapped values, ranges, legend, GAD-7 --------------------------------------


def test_more_than_three_weeks_without_a_check_in_breaks_the_line() -> None:
    weekly = points(12, 11, 10)
    after = [Point(f"late{i}", NOW - timedelta(days=3 - i), total) for i, total in enumerate((16, 15))]
    gap = [*(replace_at(p, p.taken_at - timedelta(days=40)) for p in weekly), *after]
    chart = charts.trajectory(gap, now=NOW)
    assert chart.line.count("M") == 2 and chart.line.count("L") == 3  # 3 joined, a break, 2 joined
    [hole] = chart.gaps
    assert (hole.x1, hole.x2) == (chart.points[2].x, chart.points[3].x)
    assert hole.weeks == (hole.until - hole.since).days // 7 >= 3
    assert ("gap", charts.LEGEND_WORDS["gap"]) in chart.legend
    # Exactly three weeks still joins up: only more than that is a gap.
    three = [Point("a", NOW - timedelta(days=22), 9), Point("b", NOW - timedelta(days=1), 12)]
    joined = charts.trajectory(three, now=NOW)
    assert joined.gaps == () and joined.line.count("L") == 1 and "gap" not in dict(joined.legend)
    # A point alone between two gaps is drawn, with no line to it.
    lone = [Point("a", NOW - timedelta(days=90), 9), Point("b", NOW - timedelta(days=50), 12), Point("c", NOW, 8)]
    chart = charts.trajectory(lone, now=NOW)
    assert len(chart.points) == 3 and len(chart.gaps) == 2 and chart.line == ""


def replace_at(point: Point, taken_at: datetime) -> Point:
    return Point(point.id, taken_at, point.total, point.item9_positive)


def course(first: datetime, count: int = 6, every: timedelta = timedelta(days=2)) -> list[InfusionIn]:
    """CLINICAL.md §1: typically 6 infusions over 2–3 weeks, often every other day."""
    return [InfusionIn(f"i{n}", "induction", "given", first + every * n) for n in range(count)]


def test_six_induction_infusions_in_two_weeks_are_drawn_apart_each_tied_to_its_day() -> None:
    infusions = course(NOW - timedelta(days=200))
    chart = charts.trajectory(points(*([9] * 40)), infusions, now=NOW)  # a year's axis: 2 days are ~3 units
    drawn = [g.x for g in chart.infusions]
    true = [g.mark_x for g in chart.infusions]
    assert all(b - a >= charts.GLYPH_STEP - 0.1 for a, b in itertools.pairwise(drawn))  # no glyph over another
    assert all(x is not None for x in true) and true == sorted(true)  # each keeps its true day, in order
    assert list(chart.guides) == true  # the guide lines run through the true days
    centre = sum(drawn) / len(drawn)
    assert centre == pytest.approx(sum(true) / len(true), abs=0.5)  # laid out around where they belong
    # An infusion on its own stays where it is.
    alone = charts.trajectory(points(9, 8), [InfusionIn("m", "maintenance", "given", NOW - timedelta(days=5))], now=NOW)
    assert alone.infusions[0].mark_x is None


def test_crowded_marks_stay_inside_the_plot_and_join_a_crowded_neighbour() -> None:
    assert charts.spread([charts.RIGHT - 1, charts.RIGHT]) == [charts.RIGHT - charts.GLYPH_STEP, charts.RIGHT]
    assert charts.spread([charts.LEFT, charts.LEFT + 1])[0] == charts.LEFT
    # Two runs that crowd each other once laid out become one.
    xs = [100, 101, 102, 120, 121]
    placed = charts.spread(xs)
    assert all(b - a == pytest.approx(charts.GLYPH_STEP) for a, b in itertools.pairwise(placed))
    assert charts.spread([100, 300]) == [100, 300]


def test_today_is_marked_and_labelled_on_the_side_with_room() -> None:
    chart = charts.trajectory(points(9, 12), now=NOW)
    assert chart.now_x is not None and chart.now_x > charts.RIGHT - 40 and chart.now_anchor == "end"
    booked = [InfusionIn("b", "booster", "scheduled", NOW + timedelta(days=300))]
    early = charts.trajectory([Point("a", NOW - timedelta(days=1), 9)], booked, now=NOW)
    assert early.now_x is not None and early.now_x < charts.LEFT + 80 and early.now_anchor == "start"


def test_a_tapped_points_value_is_placed_inside_the_plot() -> None:
    chart = charts.trajectory(points(27, 13, 2, every=timedelta(days=60)), now=NOW)
    first, middle, last = chart.points
    assert (first.value_anchor, first.value_dy) == ("start", score_chart.VALUE_BELOW)  # at the top left corner
    assert (middle.value_anchor, middle.value_dy) == ("middle", score_chart.VALUE_ABOVE)
    assert last.value_anchor == "end"


def test_unknown_ranges_are_ignored() -> None:
    assert [time_axis.parse_range(v) for v in ("3m", "1y", "all")] == ["3m", "1y", "all"]
    assert [time_axis.parse_range(v) for v in (None, "", "5y", "ALL", ["all"], "3m ")] == [None] * 6


def test_the_range_chooses_what_is_drawn_and_the_axis_follows() -> None:
    two_years = points(*([8] * 104))  # weekly for two years
    default = charts.trajectory(two_years, now=NOW, zone=CHICAGO)
    assert default.range_key == "1y" and default.start < NOW - timedelta(days=365) < default.start + timedelta(days=10)
    assert all(p.taken_at >= NOW - timedelta(days=365) for p in default.points)
    assert len(default.points) + default.earlier == 104 and default.earlier > 40
    assert len(default.rows) == len(default.points)  # the table lists the range's check-ins
    months = charts.trajectory(two_years, now=NOW, zone=CHICAGO, range_key="3m")
    assert months.range_key == "3m" and len(months.points) == 13
    assert months.start > NOW - timedelta(days=96) and months.x_ticks[0].label == "Sep 2026"
    assert [t.label for t in months.x_ticks] != [t.label for t in default.x_ticks]
    everything = charts.trajectory(two_years, now=NOW, zone=CHICAGO, range_key="all")
    assert len(everything.points) == 104 and everything.earlier == 0 and everything.x_ticks[0].label.endswith("2024")
    # The default with less than a year of history is all of it.
    short = charts.trajectory(points(9, 8, 7), now=NOW)
    assert short.range_key == "all" and short.earlier == 0


def test_the_legend_lists_only_what_is_drawn() -> None:
    assert charts.trajectory(points(9, 8), now=NOW).legend == ()
    infusions = [*course(NOW - timedelta(days=40)), InfusionIn("b", "booster", "scheduled", NOW + timedelta(days=3))]
    requests = [RequestIn("r", NOW - timedelta(days=9), "urgent", "declined", NOW - timedelta(days=8))]
    drawn = [*points(20, 8, 12), Point("s", NOW - timedelta(hours=3), 14, item9_positive=True)]
    chart = charts.trajectory(drawn, infusions, requests, baseline=20, now=NOW)
    assert [key for key, _ in chart.legend] == ["induction", "booked", "urgent", "declined", "baseline", "item9"]
    assert dict(chart.legend)["induction"] == "Induction infusion"


def test_gad7_has_its_own_scale_and_bands_on_the_same_time_axis() -> None:
    """CLINICAL.md (GAD-7 lines): total 0–21, bands 5/10/15 = mild/moderate/severe."""
    phq = points(14, 10, 8)
    gad = [ScoreIn("g0", NOW - timedelta(days=15), 0), ScoreIn("g1", NOW - timedelta(days=8), 21)]
    gad.append(ScoreIn("g2", NOW - timedelta(days=1), 15))
    axis = time_axis.axis_for([*charts.moments(phq), *(g.taken_at for g in gad)], now=NOW)
    trajectory = charts.trajectory(phq, now=NOW, axis=axis)
    small = score_chart.score_chart(gad, GAD7, axis)
    assert [(b.low, b.high, b.severity) for b in small.bands] == [
        (0, 4, "none-minimal"),
        (5, 9, "mild"),
        (10, 14, "moderate"),
        (15, 21, "severe"),
    ]
    zero, top, severe = small.points
    assert (zero.y, top.y) == (score_chart.SMALL_BOTTOM, score_chart.SMALL_TOP)
    assert severe.severity == "severe" and [t[1] for t in small.y_ticks] == ["0", "5", "10", "15", "21"]
    # The same day at the same x in both charts: the last PHQ-9 and the last GAD-7 were taken together.
    assert severe.x == trajectory.points[-1].x and small.x_ticks == tuple((t.at, t.label) for t in trajectory.x_ticks)
    assert small.now_x == trajectory.now_x and small.view_box == f"0 0 {charts.WIDTH} {score_chart.SMALL_HEIGHT}"


def test_a_monthly_instrument_breaks_its_line_only_after_a_missed_month() -> None:
    monthly = [ScoreIn(f"g{n}", NOW - timedelta(days=31 * n), 8) for n in (0, 1, 2, 4)]  # month 3 missed
    axis = time_axis.axis_for([g.taken_at for g in monthly], now=NOW, range_key="all")
    weekly_rule = score_chart.score_chart(monthly, GAD7, axis)
    assert weekly_rule.line == "" and len(weekly_rule.gaps) == 3  # every monthly step would be a gap
    small = score_chart.score_chart(monthly, GAD7, axis, timedelta(weeks=6))
    assert small.line.count("M") == 2 and small.line.count("L") == 2 and small.gap_weeks == 6
    [missed] = small.gaps
    assert missed.weeks == 8
