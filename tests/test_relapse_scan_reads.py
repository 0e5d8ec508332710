"""The scan's batch reads (services/course/relapse_inputs.py) give each patient exactly their own window.

On PostgreSQL the batch's ids go as one array and the window's check-ins are read per patient through a
LATERAL join; on SQLite as an IN list and a join. Either way the rows must be those of reading each patient
alone (CLINICAL.md §5: the check-ins taken after the latest given infusion, PHQ-9 only, in the one order).
"""

from __future__ import annotations

import random
import uuid
from datetime import timedelta

import sqlalchemy as sa
from factories import Factory

from tracker import relapse
from tracker.clock import FrozenClock
from tracker.db import ids_in
from tracker.extensions import db
from tracker.models import Patient
from tracker.services.course import relapse_inputs


def test_ids_in_matches_exactly_the_ids_given(ctx: None, factory: Factory) -> None:
    clinic = factory.clinic()
    patients = [factory.patient(clinic) for _ in range(5)]
    db.session.commit()
    wanted = [patients[1].id, patients[3].id] + [uuid.uuid4() for _ in range(1500)]  # many, most unknown
    found = db.session.scalars(sa.select(Patient.id).where(ids_in(db.session, Patient.id, wanted))).all()
    assert sorted(found) == sorted([patients[1].id, patients[3].id])
    assert db.session.scalars(sa.select(Patient.id).where(ids_in(db.session, Patient.id, []))).all() == []


def test_a_batch_reads_each_window_as_reading_the_patient_alone(
    ctx: None, factory: Factory, clock: FrozenClock
) -> None:
    """Windows of every shape in one batch: no infusion yet, one long ago, several, one after every check-in,
    ties in taken_at, another instrument, and no check-in at all."""
    rng = random.Random(5)
    clinic = factory.clinic()
    start = clock()
    patients = []
    for n in range(24):
        patient = factory.patient(clinic, phase="maintenance")
        for week in range(n % 9):
            taken = start - timedelta(days=70 - 7 * week) if n % 5 else start - timedelta(days=10)  # ties
            factory.checkin(patient, total=rng.randint(0, 24), taken_at=taken)
        for days in [80, 40, 12][: n % 4]:
            factory.infusion(patient, kind="maintenance", given_at=start - timedelta(days=days))
        if n % 6 == 1:
            factory.checkin(patient, instrument="gad7", answers=[2] * 7, taken_at=start - timedelta(days=3))
        patients.append(patient)
    db.session.commit()
    ids = [p.id for p in patients]

    batch = relapse_inputs.load_windows(ids)

    assert set(batch) == set(ids)
    for patient in patients:
        whole = relapse_inputs.load_one(patient.id)
        got = batch[patient.id]
        opened = relapse.window_start(whole.infusions)
        assert [i.given_at for i in got.infusions] == ([opened] if opened is not None else [])
        assert got.checkins == list(relapse.window(whole.checkins, whole.infusions))
        assert all(isinstance(point.id, str) and uuid.UUID(point.id) for point in got.checkins)
