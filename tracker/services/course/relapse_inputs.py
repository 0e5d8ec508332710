"""What the relapse rule and the outcome read of a patient (CLINICAL.md §4, §5), loaded once for many patients.

The scan, the attention queue, the outcomes report and a patient's outcome all read their points here, so
there is one query for each fact, and check-ins come in the one order (services/checkins/queries.py).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from tracker import relapse
from tracker.extensions import db
from tracker.instruments import PHQ9
from tracker.models import BoosterRequest, CheckIn, Infusion
from tracker.services.boosters import queries as booster_queries
from tracker.services.checkins.queries import OLDEST_FIRST

# Patients by id, or a SELECT of their ids (a clinic's, say), so a whole clinic is one query, not one IN list.
Patients = Collection[uuid.UUID] | sa.Select[Any]


@dataclass(frozen=True)
class RelapseInputs:
    """A patient's rows as `relapse.assess` reads them, and the open request itself."""

    checkins: list[relapse.CheckInPoint] = field(default_factory=list)
    infusions: list[relapse.InfusionPoint] = field(default_factory=list)
    decisions: list[relapse.Decision] = field(default_factory=list)
    open_request: BoosterRequest | None = None

    @property
    def open_point(self) -> relapse.OpenRequest | None:
        request = self.open_request
        if request is None:
            return None
        cited = frozenset(str(evidence.checkin_id) for evidence in request.evidence)
        return relapse.OpenRequest(str(request.id), request.urgency, cited)


def phq9_points(patient_ids: Patients) -> dict[uuid.UUID, list[relapse.CheckInPoint]]:
    """CLINICAL.md §5 is a PHQ-9 rule: other instruments' totals are on another scale."""
    points: dict[uuid.UUID, list[relapse.CheckInPoint]] = defaultdict(list)
    if _none(patient_ids):
        return points
    rows = db.session.execute(
        sa.select(CheckIn.patient_id, CheckIn.id, CheckIn.taken_at, CheckIn.total, CheckIn.created_at)
        .where(CheckIn.patient_id.in_(patient_ids), CheckIn.instrument == PHQ9.name)
        .order_by(*OLDEST_FIRST)
    )
    for patient_id, checkin_id, taken_at, total, stored_at in rows:
        # CLINICAL.md §5: the stored time orders ties and says what a decision could have seen.
        points[patient_id].append(relapse.CheckInPoint(str(checkin_id), taken_at, total, stored_at))
    return points


def given_points(patient_ids: Patients) -> dict[uuid.UUID, list[relapse.InfusionPoint]]:
    """CLINICAL.md §5: the window follows the most recent infusion given, of any kind."""
    points: dict[uuid.UUID, list[relapse.InfusionPoint]] = defaultdict(list)
    if _none(patient_ids):
        return points
    rows = db.session.execute(
        sa.select(Infusion.patient_id, Infusion.id, Infusion.given_at)
        .where(Infusion.patient_id.in_(patient_ids), Infusion.status == "given", Infusion.given_at.is_not(None))
        .order_by(Infusion.given_at, Infusion.id)
    )
    for patient_id, infusion_id, given_at in rows:
        points[patient_id].append(relapse.InfusionPoint(str(infusion_id), given_at))
    return points


def blocking_decisions(patient_ids: Patients) -> dict[uuid.UUID, list[relapse.Decision]]:
    """CLINICAL.md §5: a decline or cancellation holds back the evidence it saw."""
    found: dict[uuid.UUID, list[relapse.Decision]] = defaultdict(list)
    if _none(patient_ids):
        return found
    rows = db.session.execute(
        sa.select(BoosterRequest.patient_id, BoosterRequest.id, BoosterRequest.decided_at, BoosterRequest.status)
        .where(
            BoosterRequest.patient_id.in_(patient_ids),
            BoosterRequest.status.in_(relapse.BLOCKING_OUTCOMES),
            BoosterRequest.decided_at.is_not(None),
        )
        .order_by(BoosterRequest.decided_at, BoosterRequest.id)
    )
    for patient_id, request_id, decided_at, status in rows:
        found[patient_id].append(relapse.Decision(str(request_id), decided_at, status))
    return found


def _none(patients: Patients) -> bool:
    return not isinstance(patients, sa.Select) and not patients


def load(patient_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, RelapseInputs]:
    """Four queries, whatever the number of patients."""
    checkins, infusions = phq9_points(patient_ids), given_points(patient_ids)
    decisions, requests = blocking_decisions(patient_ids), booster_queries.open_requests(patient_ids)
    return {
        patient_id: RelapseInputs(
            checkins.get(patient_id, []),
            infusions.get(patient_id, []),
            decisions.get(patient_id, []),
            requests.get(patient_id),
        )
        for patient_id in patient_ids
    }


def load_one(patient_id: uuid.UUID) -> RelapseInputs:
    return load([patient_id])[patient_id]
