"""Web sessions that end (services/accounts/sessions.py): on the server at logout, idle, in all, everywhere."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from conftest import AuthActions, csrf_token_from
from factories import PASSWORD, Factory
from flask import Flask
from flask.testing import FlaskClient

from tracker.clock import FrozenClock


def logged_in(client: FlaskClient, username: str) -> None:
    response = AuthActions(client).login(username)
    assert response.status_code == 302


def copy_of(app: Flask, client: FlaskClient) -> FlaskClient:
    """Another browser holding the same cookie, as a thief with a copy would."""
    other = app.test_client()
    cookie = client.get_cookie("session")
    assert cookie is not None
    other.set_cookie("session", cookie.value)
    return other


def test_logout_ends_the_session_on_the_server(app: Flask, client: FlaskClient, factory: Factory) -> None:
    staff = factory.user()
    logged_in(client, staff.email or "")
    thief = copy_of(app, client)
    assert thief.get("/clinic/").status_code == 200  # the copy works while the session lives
    AuthActions(client).logout()
    assert client.get("/clinic/").status_code == 302
    assert thief.get("/clinic/").status_code == 302


def test_a_staff_session_ends_after_15_minutes_idle(client: FlaskClient, factory: Factory, clock: FrozenClock) -> None:
    logged_in(client, factory.user().email or "")
    for _ in range(4):  # each visit within the limit keeps it alive
        clock.advance(minutes=14)
        assert client.get("/clinic/").status_code == 200
    clock.advance(minutes=15, seconds=1)
    assert client.get("/clinic/").status_code == 302


def test_a_staff_session_ends_after_12_hours_however_busy(
    client: FlaskClient, factory: Factory, clock: FrozenClock
) -> None:
    logged_in(client, factory.user().email or "")
    for _ in range(12 * 6 - 1):
        clock.advance(minutes=10)
        assert client.get("/clinic/").status_code == 200
    clock.advance(minutes=10)
    assert client.get("/clinic/").status_code == 302


def test_a_patients_session_lasts_30_days(client: FlaskClient, factory: Factory, clock: FrozenClock) -> None:
    patient = factory.patient()
    logged_in(client, patient.phone)
    clock.advance(days=29)
    assert client.get("/me/history").status_code == 200
    clock.advance(days=1, seconds=1)
    assert client.get("/me/history").status_code == 302


def test_log_out_everywhere_on_the_web_ends_every_browser_and_token(
    app: Flask, client: FlaskClient, factory: Factory, bearer: Callable[..., Any]
) -> None:
    staff = factory.user()
    other_browser = app.test_client()
    logged_in(client, staff.email or "")
    logged_in(other_browser, staff.email or "")
    headers = bearer(staff)
    token = csrf_token_from(client.get("/clinic/").get_data(as_text=True))
    assert client.post("/logout/everywhere", data={"csrf_token": token}).status_code == 302
    assert client.get("/clinic/").status_code == 302
    assert other_browser.get("/clinic/").status_code == 302
    assert client.get("/api/v1/clinic/patients", headers=headers).status_code == 401


def test_delete_sessions_in_the_api_ends_every_browser_and_token(
    app: Flask, client: FlaskClient, factory: Factory, bearer: Callable[..., Any]
) -> None:
    staff = factory.user()
    browser = app.test_client()
    logged_in(browser, staff.email or "")
    first, second = bearer(staff), bearer(staff)
    assert client.delete("/api/v1/auth/sessions", headers=first).status_code == 204
    assert client.get("/api/v1/clinic/patients", headers=first).status_code == 401
    assert client.get("/api/v1/clinic/patients", headers=second).status_code == 401
    assert browser.get("/clinic/").status_code == 302


@pytest.mark.parametrize("who", ["staff", "patient"])
def test_the_csrf_secret_changes_at_login(client: FlaskClient, factory: Factory, who: str) -> None:
    username = factory.user().email if who == "staff" else factory.patient().phone
    client.get("/login")
    with client.session_transaction() as before:
        anonymous = before.get("csrf_token")
    assert anonymous is not None
    logged_in(client, username or "")
    client.get("/")
    with client.session_transaction() as after:
        assert after.get("csrf_token") != anonymous


def test_a_password_change_on_the_web_needs_the_current_one_and_logs_out_the_other_browsers(
    app: Flask, client: FlaskClient, factory: Factory, bearer: Callable[..., Any]
) -> None:
    staff = factory.user()
    other = app.test_client()
    logged_in(client, staff.email or "")
    logged_in(other, staff.email or "")
    headers = bearer(staff)
    page = client.get("/account/password")
    token = csrf_token_from(page.get_data(as_text=True))
    wrong = {
        "csrf_token": token,
        "current": "not my password",
        "password": "a new long passphrase",
        "confirm": "a new long passphrase",
    }
    refused = client.post("/account/password", data=wrong)
    assert refused.status_code == 422 and "current password is not right" in refused.get_data(as_text=True)
    assert other.get("/clinic/").status_code == 200  # nothing changed
    good = {**wrong, "current": PASSWORD}
    assert client.post("/account/password", data=good).status_code == 302
    assert client.get("/clinic/").status_code == 200  # this browser stays in
    assert other.get("/clinic/").status_code == 302
    assert client.get("/api/v1/clinic/patients", headers=headers).status_code == 401
    AuthActions(client).logout()
    assert AuthActions(client).login(staff.email or "", "a new long passphrase").status_code == 302


def test_a_password_change_in_the_api_keeps_only_the_calling_token(
    app: Flask, client: FlaskClient, factory: Factory, bearer: Callable[..., Any]
) -> None:
    patient = factory.patient()
    browser = app.test_client()
    logged_in(browser, patient.phone)
    calling, other = bearer(patient), bearer(patient)
    body = {"current_password": "wrong one here", "new_password": "a new long passphrase"}
    assert client.post("/api/v1/auth/password", json=body, headers=calling).status_code == 401
    weak = {"current_password": PASSWORD, "new_password": "short"}
    answer = client.post("/api/v1/auth/password", json=weak, headers=calling)
    assert answer.status_code == 422 and answer.get_json()["errors"][0]["field"] == "new_password"
    good = {"current_password": PASSWORD, "new_password": "a new long passphrase"}
    assert client.post("/api/v1/auth/password", json=good, headers=calling).status_code == 204
    assert client.get("/api/v1/me", headers=calling).status_code == 200
    assert client.get("/api/v1/me", headers=other).status_code == 401
    assert browser.get("/me/history").status_code == 302
