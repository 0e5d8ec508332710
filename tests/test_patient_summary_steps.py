"""The stored list figures kept by one statement per new PHQ-9 (summary.add_phq9): equal to a recomputation after
every step of random sequences of check-ins (new, back-dated, at the same moment as the latest, GAD-7) and
infusions of every kind between them; and the common case costs one statement."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from factories import Factory
from test_patient_summary import assert_current, stored

from tracker.clock import FrozenClock
from tracker.extensions import db
from tracker.models import Patient, User
from tracker.services.checkins import submit as checkins
from tracker.services.course import writes as course


def phq9_answers(rng: random.Random) -> list[int]:
    # Item 9 mostly 0: a positive one also opens a safety alert, which is not what is compared here.
    return [rng.randint(0, 3) for _ in range(8)] + [rng.choice((0, 0, 0, 1))]


@pytest.mark.parametrize("seed", range(6))
def test_the_figures_equal_a_recomputation_after_every_step_of_a_random_sequence(
    ctx: None, factory: Factory, clock: FrozenClock, count_queries: Callable[[], Any], seed: int
) -> None:
    rng = random.Random(seed)
    clinic = factory.clinic()
    doc = db.session.get(User, factory.user(clinic).id)
    assert doc is not None
    patients = [db.session.get(Patient, factory.patient(clinic, phase="induction").id) for _ in range(2)]
    people = [p for p in patients if p is not None]
    paths: list[str] = []
    for _ in range(30):
        patient = rng.choice(people)
        step = rng.choices(("new", "backdated", "tie", "infusion", "gad7"), weights=(6, 2, 1, 2, 1))[0]
        clock.advance(hours=rng.randint(1, 60))
        now = clock()
        if step == "infusion":
            kind = rng.choice(("induction", "induction", "maintenance", "booster"))
            given_at = now - timedelta(hours=rng.choice((0, 0, 1, 30, 200)))
            course.record_infusion(patient, kind=kind, status="given", given_at=given_at, by=doc)
        elif step == "gad7":
            answers = [rng.randint(0, 3) for _ in range(7)]
            checkins.submit(patient, "gad7", answers, None, "clinic", taken_at=now, entered_by=doc)
        else:
            taken_at = now
            if step == "backdated":
                taken_at = now - timedelta(hours=rng.randint(1, 400))
            elif step == "tie":
                taken_at = stored().get(patient.id, (None,) * 3)[2] or now
            with count_queries() as counter:
                checkins.submit(patient, "phq9", phq9_answers(rng), None, "clinic", taken_at=taken_at, entered_by=doc)
            recomputed = any(s.lstrip().upper().startswith("INSERT INTO PATIENT_SUMMARY") for s in counter.statements)
            paths.append("recomputed" if recomputed else "one statement")
        assert_current(people)
    assert set(paths) == {"recomputed", "one statement"}  # the sequence took both roads


def test_a_checkin_after_everything_else_updates_the_figures_in_one_statement(
    ctx: None, factory: Factory, clock: FrozenClock, count_queries: Callable[[], Any]
) -> None:
    clinic = factory.clinic()
    doc = db.session.get(User, factory.user(clinic).id)
    patient = db.session.get(Patient, factory.patient(clinic, phase="induction").id)
    assert doc is not None and patient is not None
    checkins.submit(patient, "phq9", [3, 3, 2, 2, 2, 2, 2, 2, 0], None, "app")  # 18: the baseline to be
    clock.advance(hours=1)
    course.record_infusion(patient, kind="induction", status="given", given_at=clock(), by=doc)
    for hours, answers in ((24, [1, 1, 1, 1, 1, 1, 1, 1, 0]), (48, [2, 2, 2, 2, 2, 1, 1, 0, 0])):
        clock.advance(hours=hours)
        with count_queries() as counter:
            checkins.submit(patient, "phq9", answers, None, "app")
        figures = [s for s in counter.statements if "patient_summary" in s or "infusion" in s]
        assert len(figures) == 1 and figures[0].lstrip().upper().startswith("UPDATE")
    assert_current([patient])
    # 18 before the infusion; 8 then 12 after it: the latest's reference low is the 8 (CLINICAL.md §4-§5).
    assert stored()[patient.id][:1] + stored()[patient.id][3:] == (12, 18, 8)
