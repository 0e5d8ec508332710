"""The patient's own page: the next visit with its safety instructions, asking for a booster, reminders, the
password link, and a history that reads each questionnaire on its own scale."""

from __future__ import annotations

from collections.abc import Callable
from datetime import time, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from conftest import AuthActions, csrf_token_from
from factories import Factory
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tracker.clock import FrozenClock
from tracker.models import Alert, BoosterRequest, Clinic, Patient
from tracker.services.messaging import texts

PAGES = ["/me/booster", "/me/reminders"]
Fetch = Callable[..., list[Any]]


def log_in_patient(factory: Factory, auth: AuthActions, **fields: Any) -> Patient:
    patient = factory.patient(phone="+13125550777", **fields)
    assert auth.login(patient.phone).status_code == 302
    return patient


def page(client: FlaskClient, path: str = "/me") -> str:
    response = client.get(path)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def post_form(client: FlaskClient, path: str, **fields: str) -> TestResponse:
    return client.post(path, data={"csrf_token": csrf_token_from(page(client, path)), **fields})


@pytest.mark.parametrize("path", PAGES)
def test_pages_need_a_patient(client: FlaskClient, auth: AuthActions, factory: Factory, path: str) -> None:
    assert client.get(path).status_code == 302
    factory.user(role="clinician", email="staff@example.org")
    auth.login("staff@example.org")
    assert client.get(path).status_code == 403


# The next visit


def test_home_shows_the_next_booked_visit_with_the_safety_instructions(
    client: FlaskClient, auth: AuthActions, factory: Factory, clock: FrozenClock
) -> None:
    me = log_in_patient(factory, auth)
    factory.infusion(me, kind="booster", scheduled_for=clock() + timedelta(days=9))
    factory.infusion(me, kind="booster", scheduled_for=clock() + timedelta(days=2, hours=1))  # 10 AM CST Monday
    factory.infusion(me, kind="booster", scheduled_for=clock() - timedelta(days=1))  # past: not next
    html = page(client)
    assert "Monday, November 23 at 10:00 AM CST" in html
    assert texts.VISIT_SAFETY.replace("'", "&#39;") in html
    assert "no visit is booked" not in html.lower()
    assert "November 30" not in html  # the later booking is not the next one


def test_home_without_a_booked_visit_says_so(client: FlaskClient, auth: AuthActions, factory: Factory) -> None:
    log_in_patient(factory, auth)
    html = page(client)
    assert "No visit is booked" in html
    assert "ride home" not in html


def test_home_links_the_password_page(client: FlaskClient, auth: AuthActions, factory: Factory) -> None:
    log_in_patient(factory, auth)
    assert 'href="/account/password">Change your password' in page(client)


# Asking for a booster


def test_asking_for_a_booster_opens_a_request_and_alerts_the_clinic(
    client: FlaskClient, auth: AuthActions, factory: Factory, fetch: Fetch
) -> None:
    me = log_in_patient(factory, auth)
    response = post_form(client, "/me/booster", reason="The low days are back since last week.")
    assert response.status_code == 303
    requests = fetch(sa.select(BoosterRequest).where(BoosterRequest.patient_id == me.id))
    assert [(r.raised_by, r.patient_reason) for r in requests] == [
        ("patient", "The low days are back since last week.")
    ]
    alerts = fetch(sa.select(Alert).where(Alert.patient_id == me.id))
    assert [a.kind for a in alerts] == ["attention"]
    html = page(client)
    assert "Your clinic has your request" in html
    assert "Your booster request" in html
    assert "You asked on Nov 21" in page(client, "/me/booster")


def test_a_booster_request_needs_a_reason_beside_the_field(
    client: FlaskClient, auth: AuthActions, factory: Factory, fetch: Fetch
) -> None:
    me = log_in_patient(factory, auth)
    for reason in ("   ", "x" * 501):
        response = post_form(client, "/me/booster", reason=reason)
        assert response.status_code == 422
        html = response.get_data(as_text=True)
        assert 'class="field has-error"' in html and 'id="reason-error"' in html
    assert fetch(sa.select(BoosterRequest).where(BoosterRequest.patient_id == me.id)) == []


def test_a_second_request_while_one_is_open_is_a_plain_message(
    client: FlaskClient, auth: AuthActions, factory: Factory, fetch: Fetch
) -> None:
    me = log_in_patient(factory, auth)
    form_html = page(client, "/me/booster")  # a second tab, opened before the first request was sent
    assert post_form(client, "/me/booster", reason="first").status_code == 303
    response = client.post("/me/booster", data={"csrf_token": csrf_token_from(form_html), "reason": "second"})
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert "You have already asked; your clinic will be in touch." in html
    assert "Conflict" not in html
    rows = fetch(sa.select(BoosterRequest).where(BoosterRequest.patient_id == me.id))
    assert [r.patient_reason for r in rows] == ["first"]


def _ask_and_decide(
    client: FlaskClient, factory: Factory, bearer: Callable[[Any], dict[str, str]], clinic: Clinic, *steps: str
) -> None:
    """The patient asks on the web; the clinic then takes each step through the API, as its staff would."""
    assert post_form(client, "/me/booster", reason="The low days are back.").status_code == 303
    page(client)  # the home page it leads to shows, and so clears, the "we have your request" note
    staff = bearer(factory.user(clinic=clinic, role="clinician", email="decider@example.org"))
    [request] = client.get("/api/v1/clinic/booster-requests?status=open", headers=staff).get_json()["items"]
    bodies = {
        "approve": {"note": "ok"},
        "schedule": {"scheduled_for": "2026-11-24T16:30:00+00:00"},
        "decline": {"reason": "Your check-ins look steady; let us talk at the next visit."},
        "cancel": {"reason": "Asked twice."},
    }
    for step in steps:
        path = f"/api/v1/clinic/booster-requests/{request['id']}/{step}"
        assert client.post(path, json=bodies[step], headers=staff).status_code == 200


def test_the_booster_page_says_the_request_was_approved(
    client: FlaskClient, auth: AuthActions, factory: Factory, bearer: Callable[[Any], dict[str, str]]
) -> None:
    clinic = factory.clinic()
    me = log_in_patient(factory, auth, clinic=clinic)
    _ask_and_decide(client, factory, bearer, clinic, "approve")
    html = page(client, "/me/booster")
    assert "approved your request and will\ncontact you to book" in html
    assert "will be in touch" not in html and "Send my request" not in html
    mine = client.get("/api/v1/booster-requests", headers=bearer(me)).get_json()["items"]
    assert [r["status"] for r in mine] == ["approved"]  # the page and the API tell the same state


def test_the_booster_page_gives_the_booked_visit_in_the_patients_zone(
    client: FlaskClient, auth: AuthActions, factory: Factory, bearer: Callable[[Any], dict[str, str]]
) -> None:
    clinic = factory.clinic()
    me = log_in_patient(factory, auth, clinic=clinic)
    _ask_and_decide(client, factory, bearer, clinic, "approve", "schedule")
    html = page(client, "/me/booster")
    assert "booked your booster for Nov 24, 2026, 10:30 AM CST." in html  # 16:30 UTC, in Chicago
    assert client.get("/api/v1/me", headers=bearer(me)).get_json()["next_visit"]["status"] == "scheduled"
    assert "will be in touch" not in html and "Send my request" not in html


@pytest.mark.parametrize(("step", "words"), [("decline", "declined by your clinic"), ("cancel", "cancelled")])
def test_a_declined_or_cancelled_request_does_not_stop_asking_again(
    client: FlaskClient,
    auth: AuthActions,
    factory: Factory,
    bearer: Callable[[Any], dict[str, str]],
    fetch: Fetch,
    step: str,
    words: str,
) -> None:
    clinic = factory.clinic()
    me = log_in_patient(factory, auth, clinic=clinic)
    _ask_and_decide(client, factory, bearer, clinic, step)
    html = page(client, "/me/booster")
    assert f"Your request of Nov 21 was\n{words}." in html
    assert "will be in touch" not in html and "Send my request" in html
    assert post_form(client, "/me/booster", reason="Worse again this week.").status_code == 303
    rows = fetch(sa.select(BoosterRequest).where(BoosterRequest.patient_id == me.id))
    assert sorted(r.status for r in rows) == sorted(["open", "declined" if step == "decline" else "cancelled"])


# Reminders


def test_reminders_change_time_and_turn_off(
    client: FlaskClient, auth: AuthActions, factory: Factory, fetch: Fetch
) -> None:
    me = log_in_patient(factory, auth)
    assert post_form(client, "/me/reminders", enabled="y", local_time="18:45").status_code == 303
    (row,) = fetch(sa.select(Patient).where(Patient.id == me.id))
    assert (row.reminders_enabled, row.reminder_local_time) == (True, time(18, 45))
    assert "Reminders: on, 18:45" in page(client)
    assert post_form(client, "/me/reminders", local_time="18:45").status_code == 303
    (row,) = fetch(sa.select(Patient).where(Patient.id == me.id))
    assert row.reminders_enabled is False
    assert "Reminders: off" in page(client)


def test_a_bad_reminder_time_is_refused_beside_the_field(
    client: FlaskClient, auth: AuthActions, factory: Factory, fetch: Fetch
) -> None:
    me = log_in_patient(factory, auth)
    response = post_form(client, "/me/reminders", enabled="y", local_time="25:99")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="local_time-error"' in html
    (row,) = fetch(sa.select(Patient).where(Patient.id == me.id))
    assert row.reminder_local_time is None


@pytest.mark.parametrize("value", ["25:00", "abc", ""])
def test_a_bad_or_missing_time_saves_nothing_while_reminders_are_on(
    client: FlaskClient, auth: AuthActions, factory: Factory, fetch: Fetch, value: str
) -> None:
    me = log_in_patient(factory, auth, reminders_enabled=False, reminder_local_time=time(18, 45))
    response = post_form(client, "/me/reminders", enabled="y", local_time=value)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="local_time-error"' in html and "saved" not in html
    (row,) = fetch(sa.select(Patient).where(Patient.id == me.id))
    assert (row.reminders_enabled, row.reminder_local_time) == (False, time(18, 45))
    assert "Your reminders are saved." not in page(client)


def test_an_empty_time_is_fine_when_reminders_are_turned_off(
    client: FlaskClient, auth: AuthActions, factory: Factory, fetch: Fetch
) -> None:
    me = log_in_patient(factory, auth, reminder_local_time=time(18, 45))
    assert post_form(client, "/me/reminders", local_time="").status_code == 303
    (row,) = fetch(sa.select(Patient).where(Patient.id == me.id))
    assert (row.reminders_enabled, row.reminder_local_time) == (False, time(18, 45))


def test_a_time_in_quiet_hours_is_kept_and_says_when_the_reminder_comes(
    client: FlaskClient, auth: AuthActions, factory: Factory, fetch: Fetch
) -> None:
    clinic = factory.clinic(quiet_start=time(21, 0), quiet_end=time(8, 0))
    me = log_in_patient(factory, auth, clinic=clinic)
    # One time format on the page, the time box's (12-hour, as the browser shows a time input here).
    assert "between 9:00 PM and 8:00 AM; a reminder due then comes at 8:00 AM" in page(client, "/me/reminders")
    assert post_form(client, "/me/reminders", enabled="y", local_time="23:30").status_code == 303
    (row,) = fetch(sa.select(Patient).where(Patient.id == me.id))
    assert row.reminder_local_time == time(23, 30)  # as PATCH /me keeps it; the reminder job moves it
    html = page(client)
    assert "11:30 PM is within your clinic&#39;s quiet hours (9:00 PM to 8:00 AM)" in html
    assert "your reminder will come at 8:00 AM" in html
    assert post_form(client, "/me/reminders", enabled="y", local_time="18:30").status_code == 303
    assert "quiet hours" not in page(client)


# The history, each questionnaire on its own scale


def test_history_reads_each_instrument_on_its_own_scale(
    client: FlaskClient, auth: AuthActions, factory: Factory
) -> None:
    me = log_in_patient(factory, auth)
    factory.checkin(me, total=12, days_ago=1)
    factory.checkin(me, total=12, days_ago=2, instrument="gad7")
    html = page(client, "/me/history")
    assert "PHQ-9</span> <strong>12 of 27</strong>: moderate symptoms" in html
    assert "GAD-7</span> <strong>12 of 21</strong>: moderate symptoms" in html
    assert 'max="27" value="12"' in html and 'max="21" value="12"' in html
    # The key: each band's range on its own scale.
    assert "<strong>PHQ-9</strong>, 0 to 27" in html and "20–27 severe symptoms" in html
    assert "<strong>GAD-7</strong>, 0 to 21" in html and "15–21 severe symptoms" in html
