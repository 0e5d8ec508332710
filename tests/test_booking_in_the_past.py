"""A new booking is for a visit still to come: refused in the past (or at this very moment) by the one rule of
tracker/infusions.py, on the patient page's form, the booster's booking form, the API and the service alike; an
infusion given in the past is still recorded at its time."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from conftest import TEST_NOW, AuthActions, csrf_token_from
from factories import Factory
from flask.testing import FlaskClient

from tracker.errors import Invalid
from tracker.infusions import BOOKING_IN_PAST, clean
from tracker.models import BoosterRequest, Clinic, Infusion, Patient, User
from tracker.services.boosters import booking
from tracker.services.boosters import requests as boosters
from tracker.services.course import queries as course_queries
from tracker.services.course import writes as course

Fetch = Callable[..., list[Any]]
PAST = TEST_NOW - timedelta(days=1)
SOON = TEST_NOW + timedelta(days=1)


def _booked(when: Any, touched: tuple[str, ...] = ("scheduled_for",)) -> list[tuple[str, str]]:
    _, problems, _ = clean({"kind": "booster", "status": "scheduled", "scheduled_for": when}, TEST_NOW, touched)
    return [(p.field, p.message) for p in problems]


@pytest.mark.parametrize("when", [PAST, TEST_NOW, TEST_NOW - timedelta(microseconds=1)])
def test_the_rule_refuses_a_booking_now_or_before(when: Any) -> None:
    assert _booked(when) == [("scheduled_for", BOOKING_IN_PAST)]
    assert BOOKING_IN_PAST == "A booking must be in the future"


def test_the_rule_takes_a_booking_to_come_and_a_passed_one_not_being_set() -> None:
    assert _booked(TEST_NOW + timedelta(microseconds=1)) == []
    # A booked time that has passed, not set now: the visit can still be recorded (or its notes edited).
    assert _booked(PAST, touched=("notes",)) == []
    _, given, _ = clean({"kind": "booster", "status": "given", "given_at": PAST}, TEST_NOW, ("given_at",))
    assert given == []


@pytest.mark.in_app_context
def test_the_service_refuses_a_past_booking_and_records_a_past_visit(clinician: User, patient: Patient) -> None:
    with pytest.raises(Invalid) as refused:
        course.record_infusion(patient, kind="maintenance", status="scheduled", scheduled_for=PAST, by=clinician)
    assert [(p.field, p.message) for p in refused.value.problems] == [("scheduled_for", BOOKING_IN_PAST)]
    given = course.record_infusion(patient, kind="maintenance", status="given", given_at=PAST, by=clinician)
    assert (given.infusion.status, given.infusion.given_at) == ("given", PAST)


@pytest.mark.in_app_context
def test_a_booking_whose_time_passed_is_recorded_as_given(clinician: User, patient: Patient, clock: Any) -> None:
    booked = course.record_infusion(patient, kind="maintenance", status="scheduled", scheduled_for=SOON, by=clinician)
    clock.advance(days=2)
    course.update_infusion(booked.infusion, {"notes": "Ride arranged."}, clinician)  # not a move: kept
    with pytest.raises(Invalid) as moved:
        course.update_infusion(booked.infusion, {"scheduled_for": SOON + timedelta(hours=1)}, clinician)  # past
    assert [(p.field, p.message) for p in moved.value.problems] == [("scheduled_for", BOOKING_IN_PAST)]
    given = course.update_infusion(booked.infusion, {"status": "given", "given_at": SOON}, clinician)
    assert (given.infusion.status, given.infusion.given_at) == ("given", SOON)


def test_the_api_answers_422_naming_scheduled_for(
    client: FlaskClient, clinician: User, patient: Patient, bearer: Callable[..., Any], fetch: Fetch
) -> None:
    path = f"/api/v1/clinic/patients/{patient.id}/infusions"
    headers = bearer(clinician)
    refused = client.post(
        path, json={"kind": "maintenance", "status": "scheduled", "scheduled_for": PAST.isoformat()}, headers=headers
    )
    assert refused.status_code == 422 and refused.mimetype == "application/problem+json"
    assert [(e["field"], e["message"]) for e in refused.get_json()["errors"]] == [("scheduled_for", BOOKING_IN_PAST)]
    assert fetch(sa.select(Infusion)) == []
    given = client.post(
        path, json={"kind": "maintenance", "status": "given", "given_at": PAST.isoformat()}, headers=headers
    )
    assert given.status_code == 201, given.get_json()


@pytest.mark.in_app_context
def test_booking_a_booster_in_the_past_is_refused_by_the_service(clinician: User, patient: Patient) -> None:
    request = boosters.raise_request(patient, "scan", None, None)
    with pytest.raises(Invalid) as refused:
        booking.schedule(request, clinician, PAST)
    assert [(p.field, p.message) for p in refused.value.problems] == [("scheduled_for", BOOKING_IN_PAST)]
    assert (request.status, course_queries.infusions_for_patient_view(patient)) == ("open", [])


def _open_request(factory: Factory, patient: Patient) -> BoosterRequest:
    request = BoosterRequest(
        patient_id=patient.id, clinic_id=patient.clinic_id, status="open", raised_by="scan", raised_at=TEST_NOW
    )
    with factory.session() as s:
        s.add(request)
    return request


def test_booking_a_booster_in_the_past_is_a_422_on_the_api(
    client: FlaskClient, factory: Factory, clinician: User, patient: Patient, bearer: Callable[..., Any], fetch: Fetch
) -> None:
    request = _open_request(factory, patient)
    answer = client.post(
        f"/api/v1/clinic/booster-requests/{request.id}/schedule",
        json={"scheduled_for": PAST.isoformat()},
        headers=bearer(clinician),
    )
    assert answer.status_code == 422, answer.get_json()
    assert [e["field"] for e in answer.get_json()["errors"]] == ["scheduled_for"]
    assert fetch(sa.select(Infusion)) == []
    assert [r.status for r in fetch(sa.select(BoosterRequest))] == ["open"]


def _post(client: FlaskClient, patient: Patient, action: str, prefix: str, **fields: str) -> Any:
    html = client.get(f"/clinic/patients/{patient.id}").get_data(as_text=True)
    data = {f"{prefix}-csrf_token": csrf_token_from(html), **{f"{prefix}-{k}": v for k, v in fields.items()}}
    version = re.search(rf'name="{prefix}-version" type="hidden" value="(\d+)"', html)
    if version:
        data[f"{prefix}-version"] = version.group(1)
    return client.post(action, data=data)


def test_the_forms_put_the_refusal_beside_the_time(
    client: FlaskClient, auth: AuthActions, factory: Factory, fetch: Fetch
) -> None:
    clinic: Clinic = factory.clinic(timezone="America/Chicago")  # TEST_NOW is 09:00 there
    patient = factory.patient(clinic, phase="maintenance")
    factory.user(clinic, email="doc@example.org")
    assert auth.login("doc@example.org").status_code == 302
    action = f"/clinic/patients/{patient.id}/infusions"
    fields = {"kind": "maintenance", "weight_kg": "70", "dose_mg_per_kg": "0.5", "duration_min": "40"}

    refused = _post(client, patient, action, "infusion", status="scheduled", when="2026-11-21T08:59", **fields)
    assert refused.status_code == 422
    assert 'id="infusion-when-error">A booking must be in the future' in refused.get_data(as_text=True)
    assert fetch(sa.select(Infusion)) == []

    given = _post(client, patient, action, "infusion", status="given", when="2026-11-20T09:00", **fields)
    assert given.status_code == 303
    [infusion] = fetch(sa.select(Infusion))
    assert (infusion.status, infusion.given_at) == ("given", TEST_NOW - timedelta(days=1))

    request = _open_request(factory, patient)
    booster = _post(
        client, patient, f"/clinic/booster-requests/{request.id}/schedule", "schedule", scheduled_for="2026-11-20T10:00"
    )
    assert booster.status_code == 422
    assert "A booking must be in the future" in booster.get_data(as_text=True)
    assert [r.status for r in fetch(sa.select(BoosterRequest))] == ["open"]
