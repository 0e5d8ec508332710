"""Each patient's stored list figures (models.patient_summary): kept current here, and only here.

Every service that changes a patient's check-ins or infusions calls `refresh` in the same transaction:
checkins.submit (every check-in, by app, web, text or clinic) and course.writes (an infusion recorded or changed).
A refresh recomputes the patient's figures from their PHQ-9s and given infusions with the same rules as the
patient's page (course.queries.outcomes_of, CLINICAL.md §4-§5), never by increments, so nothing drifts.
Those services lock the patient's row first (they set `changed_at`), so two writes for one patient refresh in
turn, the second seeing the first. `rebuild` recomputes every patient: the operator's `tracker
rebuild-summaries`, after a bulk load or a restore.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from tracker import clock, relapse
from tracker.extensions import db
from tracker.instruments import PHQ9
from tracker.models import Patient, PatientSummaryRow
from tracker.services.course import queries as course_queries
from tracker.services.course import relapse_inputs

REBUILD_BATCH = 1000
FIGURES = ("latest_total", "latest_severity", "latest_at", "baseline_total", "reference_low", "refreshed_at")


def compute(patient_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, dict[str, Any]]:
    """The figures of these patients as their check-ins and infusions say now (two queries)."""
    points = relapse_inputs.phq9_points(patient_ids)
    outcomes = course_queries.outcomes_of(patient_ids, points)
    now = clock.now()
    found = {}
    for patient_id in patient_ids:
        ordered = relapse.sort_checkins(points.get(patient_id, []))
        latest = ordered[-1] if ordered else None
        found[patient_id] = {
            "patient_id": patient_id,
            "latest_total": latest.total if latest else None,
            "latest_severity": PHQ9.severity_for(latest.total) if latest else None,
            "latest_at": latest.taken_at if latest else None,
            "baseline_total": outcomes[patient_id].baseline,
            "reference_low": outcomes[patient_id].reference_low,
            "refreshed_at": now,
        }
    return found


def refresh(patient_ids: Iterable[uuid.UUID]) -> None:
    """Recompute and store these patients' figures (three queries, whatever their number)."""
    ids = list(dict.fromkeys(patient_ids))
    if not ids:
        return
    db.session.flush()  # what the caller just added is part of the figures
    rows = list(compute(ids).values())
    table = cast(sa.Table, PatientSummaryRow.__table__)
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)
    upsert = insert.on_conflict_do_update(
        index_elements=[table.c.patient_id], set_={name: insert.excluded[name] for name in FIGURES}
    )
    db.session.execute(upsert, rows)


def rebuild() -> int:
    """Recompute every patient's figures, a batch at a time; how many patients."""
    done = 0
    after: uuid.UUID | None = None
    while True:
        query = sa.select(Patient.id).order_by(Patient.id).limit(REBUILD_BATCH)
        if after is not None:
            query = query.where(Patient.id > after)
        batch = list(db.session.scalars(query))
        if not batch:
            return done
        refresh(batch)
        done += len(batch)
        after = batch[-1]
