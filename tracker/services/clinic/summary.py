"""Each patient's stored list figures (models.patient_summary): kept current here, and only here.

Every service that changes a patient's check-ins or infusions calls `refresh` in the same transaction:
checkins.submit (every check-in, by app, web, text or clinic) and course.writes (an infusion recorded or changed).
A refresh recomputes the patient's figures from their PHQ-9s and given infusions with the same rules as the
patient's page (course.queries.outcomes_of, CLINICAL.md §4-§5). The one increment is `add_phq9`, the common case
of a check-in taken after everything else the patient has (one statement instead of three); it recomputes in
full whenever the case is not that simple, and tests/test_patient_summary.py compares it with a recomputation
after random sequences of writes.
Those services lock the patient's row first (they set `changed_at`), so two writes for one patient refresh in
turn, the second seeing the first. `rebuild` recomputes every patient: the operator's `tracker
rebuild-summaries`, after a bulk load or a restore.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable
from datetime import datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from tracker import clock, relapse
from tracker.extensions import db
from tracker.instruments import PHQ9
from tracker.models import Infusion, Patient, PatientSummaryRow
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


def add_phq9(patient_id: uuid.UUID, total: int, taken_at: datetime) -> None:
    """Store the figures after one new PHQ-9 of this patient: one statement when it is taken after their latest
    and after every infusion given, a full `refresh` otherwise (a back-dated entry, a first check-in, a tie).

    Why it may: §5's order (CLINICAL.md) puts a check-in taken later than the stored latest after it; §4's
    baseline is a check-in taken before the course's first induction infusion, and this one is taken after every
    infusion given, so the baseline stands; and the window's reference low of the new latest is the lowest of
    the old low and the old latest when the old latest was in the window (taken strictly after the most recent
    infusion, §5), or none when the new check-in opens the window.
    """
    db.session.flush()  # what the caller just added is part of the figures
    table = cast(sa.Table, PatientSummaryRow.__table__)
    given = sa.select(Infusion.given_at).where(
        Infusion.patient_id == patient_id, Infusion.status == "given", Infusion.given_at.is_not(None)
    )
    window_start = given.with_only_columns(sa.func.max(Infusion.given_at)).scalar_subquery()
    old_latest_in_window = sa.or_(window_start.is_(None), table.c.latest_at > window_start)
    lowest = sa.case((table.c.reference_low < table.c.latest_total, table.c.reference_low), else_=table.c.latest_total)
    update = (
        sa.update(table)
        .where(
            table.c.patient_id == patient_id,
            table.c.latest_at < taken_at,
            table.c.latest_total.is_not(None),
            ~sa.exists(given.where(Infusion.given_at >= taken_at)),
        )
        .values(
            latest_total=total,
            latest_severity=PHQ9.severity_for(total),
            latest_at=taken_at,
            reference_low=sa.case((old_latest_in_window, lowest), else_=sa.null()),
            refreshed_at=clock.now(),
        )
    )
    if cast(sa.CursorResult[Any], db.session.execute(update)).rowcount != 1:
        refresh([patient_id])


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
