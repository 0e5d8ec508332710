"""GAD-7 figures for the clinic's outcomes report, where the clinic collects it (CLINICAL.md §6's end, §7).

Definitions, as for the PHQ-9 (CLINICAL.md §4):

- Baseline: the last GAD-7 before the first induction infusion given (`outcomes.baseline_checkin`).
- Assessed: the latest GAD-7 taken after the end of induction (outcomes_report's definition of that end). The
  GAD-7 is asked less often than the PHQ-9 (monthly in maintenance, say), so there is rarely one in the PHQ-9's
  7-28 day window; the latest is the patient's standing now, as on the patient's page.
- Response: assessed at most 50% of baseline (a baseline of 0 has none); remission: assessed below 5.
- By the baseline's band (CLINICAL.md §6's end: 5/10/15 = mild/moderate/severe).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from tracker.extensions import db
from tracker.instruments import GAD7
from tracker.models import CheckIn
from tracker.outcomes import BandOutcome, baseline_checkin, by_baseline_band
from tracker.relapse import CheckInPoint, sort_checkins
from tracker.services.checkins.queries import OLDEST_FIRST


@dataclass(frozen=True)
class Gad7Figures:
    collected: int  # patients with any GAD-7
    evaluable: int  # a baseline and an assessed GAD-7
    response_evaluable: int  # ... and a baseline above 0
    responders: int
    remitters: int
    bands: list[BandOutcome]

    @property
    def response_percent(self) -> int | None:
        return round(100 * self.responders / self.response_evaluable) if self.response_evaluable else None

    @property
    def remission_percent(self) -> int | None:
        return round(100 * self.remitters / self.evaluable) if self.evaluable else None


def gad7_points(patient_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, list[CheckInPoint]]:
    """Each patient's GAD-7 totals, in the one order of check-ins; one query."""
    points: dict[uuid.UUID, list[CheckInPoint]] = defaultdict(list)
    if not patient_ids:
        return points
    rows = db.session.execute(
        sa.select(CheckIn.patient_id, CheckIn.id, CheckIn.taken_at, CheckIn.total, CheckIn.created_at)
        .where(CheckIn.patient_id.in_(patient_ids), CheckIn.instrument == GAD7.name)
        .order_by(*OLDEST_FIRST)
    )
    for patient_id, checkin_id, taken_at, total, stored_at in rows:
        points[patient_id].append(CheckInPoint(str(checkin_id), taken_at, total, stored_at))
    return points


def pairs_of(
    points: Mapping[uuid.UUID, list[CheckInPoint]],
    induction_ends: Mapping[uuid.UUID, datetime | None],
    first_inductions: Mapping[uuid.UUID, datetime],
) -> list[tuple[int, int]]:
    """(baseline, assessed) for every patient who has both (see the module's docstring); pure."""
    pairs = []
    for patient_id, checkins in points.items():
        end, first = induction_ends.get(patient_id), first_inductions.get(patient_id)
        if end is None or first is None:
            continue
        base = baseline_checkin(checkins, first)  # CLINICAL.md §4: the last one before the first induction
        after = [c for c in sort_checkins(checkins) if c.taken_at > end]
        if base is not None and after:
            pairs.append((base.total, after[-1].total))
    return pairs


def figures(
    patient_ids: Collection[uuid.UUID],
    induction_ends: Mapping[uuid.UUID, datetime | None],
    first_inductions: Mapping[uuid.UUID, datetime],
) -> Gad7Figures:
    """The clinic's GAD-7 figures (one query); every band listed, empty ones too."""
    points = gad7_points(patient_ids)
    pairs = pairs_of(points, induction_ends, first_inductions)
    bands = by_baseline_band(pairs, GAD7.severity_for, [band for _low, band in GAD7.bands])
    return Gad7Figures(
        collected=sum(1 for found in points.values() if found),
        evaluable=sum(b.evaluable for b in bands),
        response_evaluable=sum(b.response_evaluable for b in bands),
        responders=sum(b.responders for b in bands),
        remitters=sum(b.remitters for b in bands),
        bands=bands,
    )
