"""The charts of a patient's page on one time axis: the PHQ-9 trajectory, and GAD-7 under it when there is any.

The axis spans every mark of every chart (time_axis.axis_for), so a day sits at the same x in each. Another
chart of the page joins by handing its moments to `charts_of` (`also`) and drawing on `PatientCharts.axis`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from tracker.instruments import GAD7
from tracker.local_time import in_range_utc
from tracker.services.clinic.patient_page import PatientRecord
from tracker.web import charts
from tracker.web.score_chart import ScoreChart, ScoreIn, score_chart
from tracker.web.time_axis import RANGE_WORDS, TimeAxis, axis_for

# CLINICAL.md §7: GAD-7 is asked on a schedule such as monthly, not weekly; a missed month (over six weeks
# between two) is its gap, where three weeks would break every monthly step.
GAD7_GAP = timedelta(weeks=6)


@dataclass(frozen=True)
class PatientCharts:
    axis: TimeAxis
    trajectory: charts.Chart
    gad7: ScoreChart | None  # None when the patient has no GAD-7 check-in to draw
    ranges: tuple[tuple[str, str], ...] = tuple(RANGE_WORDS.items())  # (key, words) of the ranges to choose


def trajectory_inputs(
    record: PatientRecord,
) -> tuple[list[charts.Point], list[charts.InfusionIn], list[charts.RequestIn]]:
    """The record's PHQ-9s, infusions given or booked, and booster requests, as the trajectory takes them."""
    points = [charts.Point(str(c.id), c.taken_at, c.total, c.item9_positive) for c in record.checkins]
    infusions = [
        charts.InfusionIn(str(i.id), i.kind, i.status, at)
        for i in record.infusions
        # A cancelled infusion was never given: it has no place on the chart.
        if i.status in ("given", "scheduled") and (at := i.given_at or i.scheduled_for) is not None
    ]
    requests = [charts.RequestIn(str(r.id), r.raised_at, r.urgency, r.status, r.decided_at) for r in record.requests]
    return points, infusions, requests


def charts_of(
    record: PatientRecord,
    now: datetime,
    zone: tzinfo,
    range_key: str | None = None,
    also: Iterable[datetime] = (),
) -> PatientCharts:
    """The page's charts for the range asked (time_axis.RANGES; None for the default), on one axis that also
    spans the moments `also` gives (another chart's)."""
    points, infusions, requests = trajectory_inputs(record)
    gad7 = [ScoreIn(str(c.id), c.taken_at, c.total) for c in record.gad7]
    moments = [*charts.moments(points, infusions, requests), *(s.taken_at for s in gad7), *also]
    axis = axis_for(moments, now=now, zone=zone, range_key=range_key)
    trajectory = charts.trajectory(
        points,
        infusions,
        requests,
        baseline=record.outcome.baseline,
        reference_low=record.outcome.reference_low,
        window_start=record.window_start,
        now=now,
        zone=zone,
        axis=axis,
    )
    drawable = [s for s in gad7 if in_range_utc(s.taken_at)]
    return PatientCharts(axis, trajectory, score_chart(gad7, GAD7, axis, GAD7_GAP) if drawable else None)
