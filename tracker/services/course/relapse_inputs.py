"""What the relapse rule and the outcome read of a patient (CLINICAL.md §4, §5), loaded once for many patients.

The scan, the attention queue, the outcomes report and a patient's outcome all read their points here, so
there is one query for each fact, and check-ins come in the one order (services/checkins/queries.py).
The scan reads only the current window (`load_windows`): what came before the latest infusion never counts,
so its cost follows the window, not the patient's whole history.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import groupby
from operator import itemgetter
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm.attributes import set_committed_value

from tracker import relapse
from tracker.db import ids_in
from tracker.extensions import db
from tracker.instruments import PHQ9
from tracker.models import BoosterEvidence, BoosterRequest, CheckIn, Infusion, Patient
from tracker.services.boosters import queries as booster_queries
from tracker.services.checkins.queries import OLDEST_FIRST

# Before any moment stored (every one is bounded to 2000-2100): the window of a patient never given an infusion.
BEFORE_ALL = datetime(1900, 1, 1, tzinfo=UTC)

# Each patient's window: the infusion that opened it, and its check-ins.
Windows = tuple[dict[uuid.UUID, relapse.InfusionPoint], dict[uuid.UUID, list[relapse.CheckInPoint]]]

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
            _among(BoosterRequest.patient_id, patient_ids),
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


def _among(column: Any, patients: Patients) -> sa.ColumnElement[bool]:
    if isinstance(patients, sa.Select):
        result: sa.ColumnElement[bool] = column.in_(patients)
        return result
    return ids_in(db.session, column, list(patients))


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


def windows(patient_ids: Collection[uuid.UUID]) -> Windows:
    """CLINICAL.md §5: each patient's window, in two queries: the infusion that opened it (their latest given,
    if any), and the PHQ-9 check-ins taken after it.

    Each window is one range of the (patient, taken_at) index: the check-ins before it are never read.
    """
    openers: dict[uuid.UUID, relapse.InfusionPoint] = {}
    points: dict[uuid.UUID, list[relapse.CheckInPoint]] = defaultdict(list)
    if not patient_ids:
        return openers, points
    ids = list(patient_ids)
    db.session.flush()  # the reads below go through the connection, which does not autoflush as the session does
    # Per patient, one step down the (patient, given_at) index each: no join to all the infusions.
    given = (Infusion.patient_id == Patient.id, Infusion.status == "given", Infusion.given_at.is_not(None))
    latest = sa.select(Infusion.id).where(*given).order_by(Infusion.given_at.desc(), Infusion.id.desc()).limit(1)
    opened_at = sa.select(sa.func.max(Infusion.given_at)).where(*given).correlate(Patient).scalar_subquery()
    rows = db.session.connection().execute(
        sa.select(Patient.id, latest.correlate(Patient).scalar_subquery(), opened_at).where(
            ids_in(db.session, Patient.id, ids), opened_at.is_not(None)
        )
    )
    for patient_id, infusion_id, given_at in rows:
        openers[patient_id] = relapse.InfusionPoint(str(infusion_id), given_at)
    start = sa.func.coalesce(opened_at, sa.literal(BEFORE_ALL, Infusion.given_at.type))
    # Through the session's connection: plain rows, without the ORM's result machinery (a third of the cost).
    rows = db.session.connection().execute(_window_checkins(ids, start))
    point = relapse.CheckInPoint
    # In patient order: each patient's id is hashed once, not once for each of their check-ins.
    for patient_id, theirs in groupby(rows, key=itemgetter(0)):
        key = patient_id if isinstance(patient_id, uuid.UUID) else uuid.UUID(patient_id)
        points[key] = [
            point(str(checkin_id), taken_at, total, stored_at) for _, checkin_id, taken_at, total, stored_at in theirs
        ]
    return openers, points


def _window_checkins(ids: list[uuid.UUID], start: sa.ColumnElement[datetime | None]) -> sa.Select[Any]:
    """The PHQ-9s taken after each patient's window start (correlated to Patient), in the one order."""
    if db.session.get_bind().dialect.name == "postgresql":
        phq9 = (CheckIn.patient_id == Patient.id, CheckIn.instrument == PHQ9.name, CheckIn.taken_at > start)
        # LATERAL: one range of the (patient, taken_at) index per patient. A plain join lets the planner hash
        # all the check-ins against a large batch and work the start out again for every one of them; OFFSET 0
        # keeps it from flattening the LATERAL into that same join.
        # The id as PostgreSQL writes it, which is str(uuid): no UUID object made and turned back into text.
        checkin_id = sa.cast(CheckIn.id, sa.Text).label("id")
        ranges = sa.select(checkin_id, CheckIn.taken_at, CheckIn.total, CheckIn.created_at).where(*phq9)
        inside = ranges.offset(0).lateral()
        return (
            sa.select(sa.cast(Patient.id, sa.Text), inside.c.id, inside.c.taken_at, inside.c.total, inside.c.created_at)
            .join(inside, sa.true())
            .where(ids_in(db.session, Patient.id, ids))
            .order_by(Patient.id, inside.c.taken_at, inside.c.created_at, inside.c.id)
        )
    opened = sa.select(Patient.id.label("patient_id"), start.label("start")).where(Patient.id.in_(ids)).subquery()
    return (
        sa.select(CheckIn.patient_id, CheckIn.id, CheckIn.taken_at, CheckIn.total, CheckIn.created_at)
        .join(opened, sa.and_(CheckIn.patient_id == opened.c.patient_id, CheckIn.taken_at > opened.c.start))
        .where(CheckIn.instrument == PHQ9.name)
        .order_by(CheckIn.patient_id, *OLDEST_FIRST)
    )


def with_evidence(requests: Collection[BoosterRequest]) -> None:
    """Load the cited check-ins of many requests in one query, instead of one lazy load each."""
    if not requests:
        return
    cited: dict[uuid.UUID, list[BoosterEvidence]] = defaultdict(list)
    rows = db.session.scalars(
        sa.select(BoosterEvidence)
        .where(ids_in(db.session, BoosterEvidence.request_id, [request.id for request in requests]))
        .order_by(BoosterEvidence.added_at)  # the relationship's own order
    )
    for evidence in rows:
        cited[evidence.request_id].append(evidence)
    for request in requests:
        set_committed_value(request, "evidence", cited.get(request.id, []))


def load_windows(patient_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, RelapseInputs]:
    """What the scan reads, for a batch: five queries, whatever the number of patients or their history.

    The same Assessment as `load` gives: `relapse.assess` reads only the window's check-ins, the latest
    infusion (the window's start) and the decisions, and it filters the decisions by the window itself.
    """
    openers, checkins = windows(patient_ids)
    decisions, requests = blocking_decisions(patient_ids), booster_queries.open_requests(patient_ids)
    with_evidence(list(requests.values()))
    return {
        patient_id: RelapseInputs(
            checkins.get(patient_id, []),
            [opener] if (opener := openers.get(patient_id)) is not None else [],
            decisions.get(patient_id, []),
            requests.get(patient_id),
        )
        for patient_id in patient_ids
    }
