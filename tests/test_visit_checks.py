"""What a clinician's test pass found on the visit form and the API: usual ranges of heart rate and SpO2, a ride
home not confirmed, a visit given on another day than booked or twice in a day (each asked to be confirmed),
blood pressure refusals in their own words, the bounds of a given or booked time, and cancelling."""

from __future__ import annotations

import html as markup
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from conftest import TEST_NOW, AuthActions, csrf_token_from
from factories import Factory
from flask.testing import FlaskClient

from tracker.errors import Conflict, FieldProblem, Invalid
from tracker.extensions import db
from tracker.infusions import BOOKING_TOO_FAR, GIVEN_IN_FUTURE, day_checks, to_confirm
from tracker.local_time import zone_of
from tracker.models import Clinic, Infusion, Patient, User
from tracker.services.course import writes as course
from tracker.vitals import DIASTOLIC_ABOVE, IMPLAUSIBLE_BP, BloodPressure, unusual_numbers
from tracker.web import bp_chart, charts
from tracker.web.time_axis import axis_for

Fetch = Callable[..., list[Any]]
GIVEN: dict[str, Any] = {"kind": "induction", "status": "given", "weight_kg": 70, "observed_min": 120}
CHICAGO = zone_of("America/Chicago")


# The rules, pure


@pytest.mark.parametrize(
    ("numbers", "fields"),
    [
        ({"spo2_before": 90, "heart_rate_before": 50, "heart_rate_after": 120}, []),  # at the limits: usual
        ({"spo2_before": 89}, ["spo2_before"]),
        ({"heart_rate_before": 20}, ["heart_rate_before"]),
        ({"heart_rate_during": 121}, ["heart_rate_during"]),
        ({"heart_rate_after": 49, "spo2_after": 50}, ["heart_rate_after", "spo2_after"]),
    ],
)
def test_heart_rate_and_spo2_outside_the_usual_ranges_are_named(numbers: dict[str, int], fields: list[str]) -> None:
    assert [w.field for w in unusual_numbers(numbers)] == fields


def test_the_warnings_say_the_value_the_moment_and_the_range() -> None:
    assert [w.message for w in unusual_numbers({"spo2_before": 50, "heart_rate_during": 240})] == [
        "SpO2 50% before the dose: below the usual 90%",
        "heart rate 240 about 40 minutes in: outside the usual 50–120 beats a minute",
    ]


def test_a_ride_home_not_confirmed_is_asked_only_of_a_visit_given() -> None:
    given = {"status": "given", "ride_home_confirmed": False}
    assert [w.field for w in to_confirm(given, {"ride_home_confirmed"})] == ["ride_home_confirmed"]
    assert to_confirm({**given, "ride_home_confirmed": None}, {"ride_home_confirmed"}) == []
    assert to_confirm({**given, "status": "scheduled"}, {"ride_home_confirmed"}) == []
    assert to_confirm(given, {"notes"}) == []  # not being set now: not asked again


def test_the_days_are_the_clinics_calendar_days() -> None:
    # 23:30 in Chicago on Dec 1 is Dec 2 in UTC: the same local day as a booking at 09:00 on Dec 1.
    given = datetime(2026, 12, 2, 5, 30, tzinfo=UTC)
    assert day_checks(given, datetime(2026, 12, 1, 15, 0, tzinfo=UTC), [], CHICAGO) == []
    [later] = day_checks(given, datetime(2026, 12, 4, 15, 0, tzinfo=UTC), [], CHICAGO)
    assert later == FieldProblem("given_at", "booked for Dec 4, not the day it is given")
    [twice] = day_checks(given, None, [datetime(2026, 12, 1, 14, 0, tzinfo=UTC)], CHICAGO)
    assert twice.message == "another infusion of this patient is recorded as given that day"
    assert day_checks(given, None, [datetime(2026, 12, 2, 14, 0, tzinfo=UTC)], CHICAGO) == []


# The service: asked (the web's key) or 422 on the API's way unless hold_confirmed


def _infusions(patient: Patient) -> list[Infusion]:
    return list(db.session.scalars(sa.select(Infusion).where(Infusion.patient_id == patient.id)))


@pytest.mark.in_app_context
def test_the_testers_visit_is_asked_about_then_saved_with_its_key(clinician: User, patient: Patient) -> None:
    visit = {**GIVEN, "spo2_before": 50, "heart_rate_before": 20, "heart_rate_during": 240}
    visit["ride_home_confirmed"] = False
    with pytest.raises(course.NeedsConfirmation) as asked:
        course.record_infusion(patient, by=clinician, confirmed="", **visit)
    assert [w.field for w in asked.value.warnings] == [
        "heart_rate_before",
        "spo2_before",
        "heart_rate_during",
        "ride_home_confirmed",
    ]
    assert _infusions(patient) == []
    saved = course.record_infusion(patient, by=clinician, confirmed=asked.value.key, **visit)
    assert (saved.infusion.spo2_before, saved.infusion.heart_rate_during) == (50, 240)
    assert saved.infusion.bp_hold_confirmed is False  # confirming these is not confirming a blood pressure hold


@pytest.mark.in_app_context
def test_the_api_way_refuses_them_unless_confirmed(clinician: User, patient: Patient) -> None:
    with pytest.raises(course.NeedsConfirmation) as refused:
        course.record_infusion(patient, by=clinician, spo2_during=88, **GIVEN)
    assert [p.field for p in refused.value.problems] == ["spo2_during"]
    saved = course.record_infusion(patient, by=clinician, spo2_during=88, hold_confirmed=True, **GIVEN)
    assert saved.infusion.spo2_during == 88


@pytest.mark.in_app_context
def test_bookings_given_early_and_twice_in_a_day_are_asked_about(clinician: User, patient: Patient, clock: Any) -> None:
    # The tester's pass: four bookings for later days recorded as given today, minutes apart.
    booked = [
        course.record_infusion(
            patient, kind="induction", status="scheduled", scheduled_for=TEST_NOW + timedelta(days=d), by=clinician
        ).infusion
        for d in (1, 3, 6, 9)
    ]
    with pytest.raises(course.NeedsConfirmation) as early:
        course.update_infusion(booked[0], {"status": "given"}, clinician, confirmed="")
    assert [(w.field, w.message) for w in early.value.warnings] == [
        ("given_at", "booked for Nov 22, not the day it is given")
    ]
    assert booked[0].status == "scheduled"
    course.update_infusion(booked[0], {"status": "given"}, clinician, hold_confirmed=True)
    clock.advance(minutes=5)
    with pytest.raises(course.NeedsConfirmation) as twice:
        course.update_infusion(booked[1], {"status": "given"}, clinician)
    assert [w.message for w in twice.value.problems] == [
        "booked for Nov 24, not the day it is given",
        "another infusion of this patient is recorded as given that day",
    ]
    assert [i.status for i in booked] == ["given", "scheduled", "scheduled", "scheduled"]
    # Given on its booked day, and the only one that day: nothing to ask.
    clock.advance(days=3)
    assert course.update_infusion(booked[1], {"status": "given"}, clinician).infusion.status == "given"


@pytest.mark.in_app_context
def test_a_correction_of_the_notes_does_not_ask_about_the_day_again(clinician: User, patient: Patient) -> None:
    first = course.record_infusion(patient, by=clinician, given_at=TEST_NOW - timedelta(hours=3), **GIVEN).infusion
    second = course.record_infusion(patient, by=clinician, hold_confirmed=True, **GIVEN).infusion
    course.update_infusion(second, {"notes": "Tolerated well."}, clinician, confirmed="")
    assert first.status == second.status == "given"


@pytest.mark.in_app_context
@pytest.mark.parametrize(
    ("reading", "message"),
    [("999/999", IMPLAUSIBLE_BP), ("80/120", DIASTOLIC_ABOVE), ("40/30", IMPLAUSIBLE_BP)],
)
def test_blood_pressures_that_cannot_be_are_refused_in_their_own_words(
    clinician: User, patient: Patient, reading: str, message: str
) -> None:
    with pytest.raises(Invalid) as refused:
        course.record_infusion(patient, by=clinician, bp_before=reading, **GIVEN)
    assert refused.value.problems == [FieldProblem("bp_before", message)]
    assert "hold" not in message and "140/90" not in message


@pytest.mark.in_app_context
def test_the_bounds_of_a_given_and_a_booked_time(clinician: User, patient: Patient) -> None:
    with pytest.raises(Invalid) as future:
        course.record_infusion(patient, by=clinician, given_at=datetime(2099, 12, 31, 23, 0, tzinfo=UTC), **GIVEN)
    assert future.value.problems == [FieldProblem("given_at", GIVEN_IN_FUTURE)]
    far = TEST_NOW + timedelta(days=2 * 366)
    with pytest.raises(Invalid) as booked:
        course.record_infusion(patient, kind="booster", status="scheduled", scheduled_for=far, by=clinician)
    assert booked.value.problems == [FieldProblem("scheduled_for", BOOKING_TOO_FAR)]
    ok = TEST_NOW + timedelta(days=2 * 365 - 1)
    course.record_infusion(patient, kind="booster", status="scheduled", scheduled_for=ok, by=clinician)


@pytest.mark.in_app_context
def test_a_cancellation_needs_a_reason_and_is_not_repeated(clinician: User, patient: Patient) -> None:
    booked = course.record_infusion(
        patient, kind="booster", status="scheduled", scheduled_for=TEST_NOW + timedelta(days=2), by=clinician
    ).infusion
    with pytest.raises(Invalid) as refused:
        course.update_infusion(booked, {"status": "cancelled"}, clinician, reason="   ")
    assert [p.field for p in refused.value.problems] == ["reason"] and booked.status == "scheduled"
    course.update_infusion(booked, {"status": "cancelled"}, clinician, reason="Patient unwell.")
    with pytest.raises(Conflict) as again:
        course.update_infusion(booked, {"status": "cancelled"}, clinician, reason="Again.")
    assert again.value.detail == "This infusion is already cancelled."


# The ways in: the visit form beside each field, the API's problem+json


def test_the_visit_form_asks_then_saves_and_refuses_in_the_right_words(
    client: FlaskClient, auth: AuthActions, factory: Factory, fetch: Fetch
) -> None:
    clinic = factory.clinic()
    factory.user(clinic, email="lee@example.org")
    auth.login("lee@example.org")
    patient = factory.patient(clinic)
    booked = factory.infusion(patient, "booster", scheduled_for=TEST_NOW + timedelta(hours=1))
    path = f"/clinic/infusions/{booked.id}/given"
    form = client.get(path).get_data(as_text=True)
    visit = {
        "csrf_token": csrf_token_from(form),
        "kind": "booster",
        "when": "2026-11-21T08:40",
        "dose_mg_per_kg": "0.5",
        "weight_kg": "72",
        "duration_min": "40",
        "bp_before": "999/999",
        "bp_during": "80/120",
        "heart_rate_before": "20",
        "spo2_before": "50",
        "heart_rate_during": "240",
        "observed_min": "120",
        "ride_home_confirmed": "no",
    }
    refused = client.post(path, data=visit).get_data(as_text=True)
    assert 'id="bp_before-error">Not a plausible blood pressure: systolic 50–260, diastolic 30–160' in refused
    assert 'id="bp_during-error">The diastolic is above the systolic: check the reading' in refused
    assert "261/161" not in refused and "bp_during-warning" not in refused
    future = client.post(path, data={**visit, "csrf_token": csrf_token_from(refused), "when": "2099-12-31T20:00"})
    assert 'id="when-error">Must not be in the future' in future.get_data(as_text=True)
    page = future.get_data(as_text=True)
    asked = client.post(path, data={**visit, "csrf_token": csrf_token_from(page), "bp_before": "", "bp_during": ""})
    page = asked.get_data(as_text=True)
    assert asked.status_code == 422 and "Not saved yet: please confirm." in page
    assert 'id="spo2_before-warning">Check: SpO2 50% before the dose: below the usual 90%' in page
    assert 'id="heart_rate_before-warning">Check: Heart rate 20 before the dose' in page
    assert 'id="heart_rate_during-warning">Check: Heart rate 240 about 40 minutes in' in page
    assert 'id="ride_home_confirmed-warning">Check: Not confirmed: no driving' in page
    [row] = fetch(sa.select(Infusion).where(Infusion.id == booked.id))
    assert row.status == "scheduled"
    key = re.search(r'name="confirmed" type="hidden" value="([^"]*)"', page)
    assert key is not None
    fields = {**visit, "bp_before": "", "bp_during": "", "csrf_token": csrf_token_from(page)}
    saved = client.post(path, data={**fields, "confirmed": markup.unescape(key.group(1))})
    assert saved.status_code == 303
    [row] = fetch(sa.select(Infusion).where(Infusion.id == booked.id))
    assert (row.status, row.spo2_before, row.ride_home_confirmed) == ("given", 50, False)


def test_cancelling_on_the_page_needs_a_reason_beside_the_field(
    client: FlaskClient, auth: AuthActions, factory: Factory, fetch: Fetch
) -> None:
    clinic = factory.clinic()
    factory.user(clinic, email="lee@example.org")
    auth.login("lee@example.org")
    booked = factory.infusion(factory.patient(clinic), "booster", scheduled_for=TEST_NOW + timedelta(days=2))
    page = client.get(f"/clinic/infusions/{booked.id}/change").get_data(as_text=True)
    action = f"/clinic/infusions/{booked.id}/cancel"
    refused = client.post(action, data={"cancel-csrf_token": csrf_token_from(page), "cancel-reason": " "})
    assert refused.status_code == 422
    assert 'id="cancel-reason-error">Say why the infusion is cancelled' in refused.get_data(as_text=True)
    [row] = fetch(sa.select(Infusion).where(Infusion.id == booked.id))
    assert row.status == "scheduled"


def test_the_api_refuses_until_hold_confirmed_and_names_each_field(
    client: FlaskClient, factory: Factory, clinic: Clinic, bearer: Callable[..., Any], fetch: Fetch
) -> None:
    headers = bearer(factory.user(clinic))
    patient = factory.patient(clinic)
    body = {"kind": "booster", "status": "given", "given_at": (TEST_NOW - timedelta(hours=2)).isoformat()}
    body |= {"spo2_before": 50, "heart_rate_during": 240, "ride_home_confirmed": False}
    path = f"/api/v1/clinic/patients/{patient.id}/infusions"
    refused = client.post(path, json=body, headers=headers)
    assert refused.status_code == 422 and refused.content_type == "application/problem+json"
    fields = [e["field"] for e in refused.get_json()["errors"]]
    assert fields == ["spo2_before", "heart_rate_during", "ride_home_confirmed"]
    assert fetch(sa.select(Infusion).where(Infusion.patient_id == patient.id)) == []
    saved = client.post(path, json={**body, "hold_confirmed": True}, headers=headers)
    assert saved.status_code == 201, saved.get_json()
    row = saved.get_json()
    cancel = client.post(
        path,
        json={"kind": "booster", "status": "scheduled", "scheduled_for": (TEST_NOW + timedelta(days=1)).isoformat()},
        headers=headers,
    ).get_json()
    patch = f"/api/v1/clinic/infusions/{cancel['id']}"
    no_reason = client.patch(patch, json={"status": "cancelled"}, headers=headers)
    assert no_reason.status_code == 422 and no_reason.get_json()["errors"][0]["field"] == "reason"
    assert client.patch(patch, json={"status": "cancelled", "reason": "Unwell."}, headers=headers).status_code == 200
    again = client.patch(patch, json={"status": "cancelled", "reason": "Unwell."}, headers=headers)
    assert again.status_code == 409 and again.get_json()["detail"] == "This infusion is already cancelled."
    assert row["spo2_before"] == 50


# The blood pressure chart's labels


def _label_boxes(chart: bp_chart.BpChart) -> dict[str, tuple[float, float, float, float]]:
    boxes = {r.name: charts._label_box(r.label, r.label_x, r.y, r.dy) for r in chart.rules}
    today = bp_chart._today_boxes(chart.now_x)
    return {**boxes, "today-line": today[0], "today": today[1]}


@pytest.mark.parametrize("hold", [BloodPressure(150, 95), BloodPressure(180, 110), BloodPressure(141, 91)])
@pytest.mark.parametrize("range_key", ["3m", "all"])
def test_no_two_labels_of_the_chart_overlap(hold: BloodPressure, range_key: str) -> None:
    visits = [
        bp_chart.BpIn(str(d), TEST_NOW - timedelta(days=d), {"bp_before": BloodPressure(150 + d, 96)})
        for d in (1, 8, 15, 40)
    ]
    axis = axis_for(bp_chart.moments(visits), now=TEST_NOW, range_key=range_key)
    chart = bp_chart.bp_chart(visits, axis, hold)
    boxes = _label_boxes(chart)
    overlapping = [
        (a, b)
        for i, (a, box) in enumerate(boxes.items())
        for b, other in list(boxes.items())[i + 1 :]
        if bp_chart._overlaps(box, other) and {a, b} != {"today", "today-line"}
    ]
    assert overlapping == []
    assert all(chart.left <= box[0] and box[2] <= chart.right for box in boxes.values())
