"""Correcting when a given infusion was given re-checks what its time decides (CLINICAL.md §5): whether it met the
open booster request's need, and where the induction count stands."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from factories import Factory

from tracker.clock import FrozenClock
from tracker.extensions import db
from tracker.models import AuditEvent, Clinic, User
from tracker.services.boosters import queries as booster_queries
from tracker.services.boosters import requests as boosters
from tracker.services.course import writes as course

pytestmark = pytest.mark.in_app_context


def test_a_time_corrected_to_after_the_request_completes_it(
    clock: FrozenClock, factory: Factory, clinic: Clinic, clinician: User
) -> None:
    patient = factory.patient(clinic, phase="as_needed")
    request = boosters.raise_request(patient, "scan", None, None)
    # Typed with last week's date: before the request was raised, so it did not meet its need.
    mistyped = course.record_infusion(
        patient, kind="booster", status="given", given_at=clock() - timedelta(days=7), by=clinician
    )
    assert mistyped.completed_request is None and request.status == "open"
    moment = clock.advance(hours=2)
    result = course.update_infusion(mistyped.infusion, {"given_at": clock() - timedelta(hours=1)}, clinician, "typo")
    assert result.completed_request is request
    assert request.status == "completed" and result.infusion.booster_request_id == request.id
    assert booster_queries.open_request_for(patient.id) is None
    assert patient.changed_at == moment  # a new window begins
    completed = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "booster.complete")).all()
    assert [event.target_id for event in completed] == [str(request.id)]


def test_a_time_still_before_the_evidence_completes_nothing(
    clock: FrozenClock, factory: Factory, clinic: Clinic, clinician: User
) -> None:
    patient = factory.patient(clinic, phase="as_needed")
    evidence = factory.checkin(patient, total=20, taken_at=clock() - timedelta(days=1))
    request = boosters.raise_request(patient, "scan", None, None, evidence_ids=[evidence.id])
    given = course.record_infusion(
        patient, kind="booster", status="given", given_at=clock() - timedelta(days=3), by=clinician
    ).infusion
    # Moved, but still before the check-in the request cites: the need it states came after it.
    still_before = course.update_infusion(given, {"given_at": clock() - timedelta(days=2)}, clinician, "wrong day")
    assert still_before.completed_request is None and request.status == "open"
    after = course.update_infusion(given, {"given_at": clock() - timedelta(hours=3)}, clinician, "wrong day again")
    assert after.completed_request is request and request.status == "completed"


def test_a_correction_that_leaves_the_time_alone_completes_nothing(
    clock: FrozenClock, factory: Factory, clinic: Clinic, clinician: User
) -> None:
    patient = factory.patient(clinic, phase="as_needed")
    request = boosters.raise_request(patient, "scan", None, None)
    given = course.record_infusion(
        patient, kind="booster", status="given", given_at=clock() - timedelta(days=7), by=clinician
    ).infusion
    same_time = {"given_at": given.given_at, "weight_kg": 72}
    assert course.update_infusion(given, same_time, clinician, "weighed again").completed_request is None
    assert request.status == "open"


def test_an_induction_time_corrected_into_the_series_ends_induction(
    clock: FrozenClock, factory: Factory, clinician: User
) -> None:
    clinic = factory.clinic(induction_infusion_count=2, post_induction_phase="maintenance")
    patient = factory.patient(clinic, phase="as_needed")
    staff = factory.user(clinic)
    clock.advance(days=1)
    course.change_phase(patient, "induction", staff, reason="Second series.")
    first = course.record_infusion(
        patient, kind="induction", status="given", given_at=clock() - timedelta(days=2), by=staff
    )
    assert patient.phase == "induction"  # dated before the series began, it does not count in it
    clock.advance(days=2)
    course.record_infusion(patient, kind="induction", status="given", by=staff)
    assert patient.phase == "induction"
    result = course.update_infusion(first.infusion, {"given_at": clock() - timedelta(days=1)}, staff, "date")
    assert patient.phase == "maintenance"
    assert result.phase_change is not None and result.phase_change.to_phase == "maintenance"
