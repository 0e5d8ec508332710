"""The course service under the clinic day's pages: unusual values confirmed before they are saved (CLINICAL.md §1),
a correction of a given infusion with its reason and the values it replaced in the audit log (API.md), and the
checks shown beside a saved infusion."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from conftest import TEST_NOW
from factories import Factory
from flask.testing import FlaskClient

from tracker.errors import Invalid
from tracker.extensions import db
from tracker.infusions import checks_of_saved, confirmation_key, unusual
from tracker.models import AuditEvent, Clinic, Infusion, Patient, User
from tracker.services.course import queries as course_queries
from tracker.services.course import writes as course

GIVEN: dict[str, Any] = {"kind": "maintenance", "status": "given", "weight_kg": 70}


def updates_of(infusion: Infusion) -> list[AuditEvent]:
    query = sa.select(AuditEvent).where(
        AuditEvent.target_id == str(infusion.id), AuditEvent.action == "infusion.update"
    )
    return list(db.session.scalars(query))


# Pure: the usual ranges, one source


def test_the_usual_ranges_and_the_checks_of_a_saved_infusion() -> None:
    assert unusual(Decimal("0.5"), 120) == []
    assert [w.field for w in unusual(Decimal("0.76"), 119)] == ["dose_mg_per_kg", "observed_min"]
    assert [w.field for w in unusual(Decimal("0.09"), None)] == ["dose_mg_per_kg"]
    # A booked infusion has no observation yet; a given one without a ride home is flagged (CLINICAL.md §1).
    assert checks_of_saved("scheduled", Decimal("0.5"), None, None) == []
    assert [c.field for c in checks_of_saved("given", Decimal("0.5"), 60, False)] == [
        "observed_min",
        "ride_home_confirmed",
    ]
    warnings = unusual(Decimal("0.9"), 60)
    assert confirmation_key({"dose_mg_per_kg": Decimal("0.900"), "observed_min": 60}, warnings) == (
        "dose_mg_per_kg=0.900;observed_min=60"
    )


# Confirmation before saving


@pytest.mark.in_app_context
def test_unusual_values_are_stored_only_once_confirmed(clinician: User, patient: Patient) -> None:
    with pytest.raises(course.NeedsConfirmation) as asked:
        course.record_infusion(patient, by=clinician, confirmed="", dose_mg_per_kg="0.9", **GIVEN)
    assert [w.field for w in asked.value.warnings] == ["dose_mg_per_kg"]
    assert db.session.scalars(sa.select(Infusion).where(Infusion.patient_id == patient.id)).all() == []
    with pytest.raises(course.NeedsConfirmation):  # a confirmation of another value does not cover this one
        course.record_infusion(patient, by=clinician, confirmed=asked.value.key, dose_mg_per_kg="0.95", **GIVEN)
    saved = course.record_infusion(patient, by=clinician, confirmed=asked.value.key, dose_mg_per_kg="0.9", **GIVEN)
    assert saved.infusion.dose_mg_per_kg == Decimal("0.9")
    assert [w.field for w in saved.warnings] == ["dose_mg_per_kg"]
    # The API's way: saved at once, the warnings in the answer.
    yesterday = TEST_NOW - timedelta(days=1)  # another day: one given today already asks about the day
    assert course.record_infusion(patient, by=clinician, dose_mg_per_kg="0.05", given_at=yesterday, **GIVEN).warnings


@pytest.mark.in_app_context
def test_usual_values_need_no_confirmation(clinician: User, patient: Patient) -> None:
    saved = course.record_infusion(patient, by=clinician, confirmed="", observed_min=150, **GIVEN)
    assert saved.warnings == [] and saved.infusion.observed_min == 150


# Corrections


@pytest.mark.in_app_context
def test_a_correction_needs_a_reason_and_the_audit_log_keeps_what_it_replaced(
    clinician: User, patient: Patient
) -> None:
    infusion = course.record_infusion(patient, by=clinician, observed_min=130, **GIVEN).infusion
    with pytest.raises(Invalid) as refused:
        course.update_infusion(infusion, {"weight_kg": "72"}, clinician)
    assert [p.field for p in refused.value.problems] == ["reason"]
    with pytest.raises(Invalid) as too_long:
        course.update_infusion(infusion, {"weight_kg": "72"}, clinician, reason="x" * 501)
    assert [p.field for p in too_long.value.problems] == ["reason"]
    assert infusion.weight_kg == Decimal("70")

    course.update_infusion(infusion, {"weight_kg": "72", "observed_min": 130}, clinician, reason="Weighed again.")
    [event] = updates_of(infusion)
    assert event.detail["reason"] == "Weighed again."
    # Only what changed: the observation sent again unchanged is not a correction.
    assert event.detail["before"] == {"total_mg": "35.0", "weight_kg": "70.0"}
    assert (infusion.weight_kg, infusion.total_mg) == (Decimal("72"), Decimal("36"))


@pytest.mark.in_app_context
def test_notes_and_unchanged_values_are_not_corrections(clinician: User, patient: Patient) -> None:
    infusion = course.record_infusion(patient, by=clinician, dose_mg_per_kg="0.9", **GIVEN).infusion
    # Sent again as the form shows them, the values change nothing, so nothing is asked and no reason is needed.
    same = course.update_infusion(
        infusion, {"dose_mg_per_kg": "0.900", "weight_kg": "70", "notes": "Tolerated well."}, clinician, confirmed=""
    )
    assert same.warnings == [] and infusion.notes == "Tolerated well."
    assert updates_of(infusion)[0].detail["before"] == {"notes": None}


@pytest.mark.in_app_context
def test_a_booked_infusion_given_is_asked_about_and_a_cancellation_keeps_its_reason(
    factory: Factory, clinic: Clinic, clinician: User
) -> None:
    patient = factory.patient(clinic)
    booked = factory.infusion(patient, "maintenance", scheduled_for=TEST_NOW)
    with pytest.raises(course.NeedsConfirmation) as asked:
        course.update_infusion(booked, {"status": "given", "observed_min": 45}, clinician, confirmed="")
    assert booked.status == "scheduled"
    course.update_infusion(booked, {"status": "given", "observed_min": 45}, clinician, confirmed=asked.value.key)
    assert booked.status == "given"

    later = factory.infusion(patient, "maintenance", scheduled_for=TEST_NOW + timedelta(days=7))
    course.update_infusion(later, {"status": "cancelled"}, clinician, reason="  Travelling.  ")
    [event] = updates_of(later)
    assert (event.detail["status"], event.detail["reason"]) == ("cancelled", "Travelling.")
    assert "before" not in event.detail  # a booked infusion replaces no record


@pytest.mark.in_app_context
def test_the_visit_form_starts_from_the_last_weight(factory: Factory, clinic: Clinic, clinician: User) -> None:
    patient = factory.patient(clinic)
    assert course_queries.latest_weight(patient) is None
    factory.infusion(patient, given_at=TEST_NOW - timedelta(days=20), weight_kg=Decimal("81"))
    factory.infusion(patient, given_at=TEST_NOW - timedelta(days=6), weight_kg=Decimal("79.5"))
    factory.infusion(patient, given_at=TEST_NOW - timedelta(days=2))  # no weight recorded
    assert course_queries.latest_weight(patient) == Decimal("79.5")
    row, owner = course_queries.infusion_for_staff(clinician, str(booked_id := factory.infusion(patient).id))
    assert (row.id, owner.id) == (booked_id, patient.id)
    [read] = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "infusion.read")).all()
    assert read.target_id == str(booked_id)


# The API speaks the same rules (API.md PATCH /clinic/infusions/{id})


def test_the_api_corrects_with_a_reason(
    client: FlaskClient, factory: Factory, bearer: Callable[..., Any], fetch: Callable[..., list[Any]]
) -> None:
    clinic = factory.clinic()
    staff = bearer(factory.user(clinic))
    patient = factory.patient(clinic)
    given = factory.infusion(patient, given_at=TEST_NOW - timedelta(hours=2), weight_kg=Decimal("70"))
    url = f"/api/v1/clinic/infusions/{given.id}"
    refused = client.patch(url, json={"weight_kg": 74}, headers=staff)
    assert refused.status_code == 422 and refused.get_json()["errors"][0]["field"] == "reason"
    fixed = client.patch(url, json={"weight_kg": 74, "reason": "Typo."}, headers=staff)
    assert fixed.status_code == 200 and fixed.get_json()["weight_kg"] == 74
    [event] = fetch(sa.select(AuditEvent).where(AuditEvent.target_id == str(given.id)))
    assert (event.detail["reason"], event.detail["before"]["weight_kg"]) == ("Typo.", "70.0")
    created = client.post(
        f"/api/v1/clinic/patients/{patient.id}/infusions",
        json={"kind": "booster", "status": "given", "reason": "x"},
        headers=staff,
    )
    assert created.status_code == 422  # a reason belongs to a change, not to a new record
