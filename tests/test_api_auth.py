"""API authentication: tokens, their expiry and revocation, invitations, and no cookies (API.md)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from factories import PASSWORD, Factory
from flask import Flask
from flask.testing import FlaskClient

from tracker.clock import FrozenClock
from tracker.extensions import db
from tracker.models import ApiToken, OutboundMessage, User
from tracker.services.accounts import users as accounts

PROBLEM = "application/problem+json"

ONCALL = "+13125550100"  # a clinic takes patients only with an on-call phone


def test_token_by_email_and_by_phone(client: FlaskClient, factory: Factory) -> None:
    factory.user(role="clinician", email="doc@example.org")
    factory.patient(phone="+13125550600")
    for username, role in (("doc@example.org", "clinician"), ("+13125550600", "patient")):
        response = client.post("/api/v1/auth/token", json={"username": username, "password": PASSWORD})
        assert response.status_code == 201, response.get_json()
        body = response.get_json()
        assert body["token_type"] == "Bearer" and body["role"] == role
        assert len(body["access_token"]) >= 40
        assert "Set-Cookie" not in response.headers


@pytest.mark.parametrize("username", ["doc@example.org", "ghost@example.org"])
def test_bad_credentials_get_one_answer(client: FlaskClient, factory: Factory, username: str) -> None:
    factory.user(email="doc@example.org")
    response = client.post("/api/v1/auth/token", json={"username": username, "password": "not the password"})
    assert response.status_code == 401
    assert response.mimetype == PROBLEM
    assert response.get_json()["detail"] == "That username and password do not match an account."
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_token_is_stored_only_as_a_hash(client: FlaskClient, factory: Factory, fetch: Callable[..., list[Any]]) -> None:
    factory.user(email="doc@example.org")
    token = client.post("/api/v1/auth/token", json={"username": "doc@example.org", "password": PASSWORD}).get_json()
    [row] = fetch(sa.select(ApiToken))
    assert token["access_token"] not in row.token_hash and len(row.token_hash) == 64


def test_login_is_throttled_with_retry_after(client: FlaskClient) -> None:
    statuses = [
        client.post("/api/v1/auth/token", json={"username": "x@example.org", "password": "y"}).status_code
        for _ in range(11)
    ]
    assert statuses == [401] * 10 + [429]
    last = client.post("/api/v1/auth/token", json={"username": "x@example.org", "password": "y"})
    assert last.mimetype == PROBLEM and int(last.headers["Retry-After"]) > 0


def test_logout_revokes_that_token_only(client: FlaskClient, factory: Factory, bearer: Callable[..., Any]) -> None:
    patient = factory.patient()
    first, second = bearer(patient), bearer(patient)
    assert client.delete("/api/v1/auth/token", headers=first).status_code == 204
    assert client.get("/api/v1/me", headers=first).status_code == 401
    assert client.get("/api/v1/me", headers=second).status_code == 200


def test_expired_token_is_refused(
    client: FlaskClient, factory: Factory, bearer: Callable[..., Any], clock: FrozenClock
) -> None:
    patient = factory.patient()
    headers = bearer(patient)
    clock.advance(days=30, seconds=1)
    response = client.get("/api/v1/me", headers=headers)
    assert response.status_code == 401 and response.mimetype == PROBLEM


def test_password_change_and_deactivation_revoke_tokens(
    app: Flask, client: FlaskClient, factory: Factory, bearer: Callable[..., Any]
) -> None:
    doc = factory.user(email="doc@example.org")
    headers = bearer(doc)
    assert client.get("/api/v1/instruments/phq9", headers=headers).status_code == 200
    with app.app_context():
        accounts.change_password(db.session.get(User, doc.id), "another long password")  # type: ignore[arg-type]
        db.session.commit()
    assert client.get("/api/v1/instruments/phq9", headers=headers).status_code == 401
    headers = bearer(doc)
    with app.app_context():
        accounts.deactivate(db.session.get(User, doc.id))  # type: ignore[arg-type]
        db.session.commit()
    assert client.get("/api/v1/instruments/phq9", headers=headers).status_code == 401


@pytest.mark.parametrize("header", ["", "Bearer", "Bearer ", "Basic abc", "Bearer not-a-token", "bearer x y"])
def test_missing_or_bad_authorization_is_401(client: FlaskClient, header: str) -> None:
    response = client.get("/api/v1/me", headers={"Authorization": header} if header else {})
    assert response.status_code == 401
    assert response.get_json()["status"] == 401


def test_api_ignores_session_cookies(client: FlaskClient, factory: Factory) -> None:
    """A browser session must not work as API auth (no CSRF protection there)."""
    from conftest import AuthActions

    factory.patient(phone="+13125550601")
    assert AuthActions(client).login("+13125550601").status_code == 302
    assert client.get("/api/v1/me").status_code == 401


def test_staff_token_cannot_use_patient_endpoints_and_vice_versa(
    client: FlaskClient, factory: Factory, bearer: Callable[..., Any]
) -> None:
    doc = factory.user()
    patient = factory.patient()
    assert client.get("/api/v1/me", headers=bearer(doc)).status_code == 403
    response = client.post(
        "/api/v1/clinic/patients",
        json={"display_name": "X", "phone": "+13125550602", "timezone": "UTC"},
        headers=bearer(patient),
    )
    assert response.status_code == 403 and response.mimetype == PROBLEM


def _enrol(client: FlaskClient, headers: dict[str, str], phone: str = "+13125550610") -> Any:
    return client.post(
        "/api/v1/clinic/patients",
        json={"display_name": "Jo Doe", "phone": phone, "timezone": "America/New_York", "phase": "screening"},
        headers=headers,
    )


def test_enrolment_queues_an_invitation_and_the_link_logs_in_once(
    client: FlaskClient,
    factory: Factory,
    bearer: Callable[..., Any],
    fetch: Callable[..., list[Any]],
    clock: FrozenClock,
) -> None:
    clinic = factory.clinic("Riverside", oncall_phone=ONCALL)
    doc = factory.user(clinic)
    response = _enrol(client, bearer(doc))
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["phase"] == "screening"
    [sms] = fetch(sa.select(OutboundMessage))
    assert sms.to_phone == "+13125550610" and sms.purpose == "invitation" and sms.status == "queued"
    assert "Riverside" in sms.body
    token = re.search(r"/invite/([\w-]+)", sms.body).group(1)  # type: ignore[union-attr]

    weak = client.post("/api/v1/auth/invitation", json={"token": token, "password": "short"})
    assert weak.status_code == 422 and weak.get_json()["errors"][0]["field"] == "password"
    accepted = client.post("/api/v1/auth/invitation", json={"token": token, "password": "a strong passphrase"})
    assert accepted.status_code == 201 and accepted.get_json()["role"] == "patient"
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {accepted.get_json()['access_token']}"})
    assert me.get_json()["display_name"] == "Jo Doe"
    again = client.post("/api/v1/auth/invitation", json={"token": token, "password": "a strong passphrase"})
    assert again.status_code == 410


def test_invitation_expires_after_72_hours(
    client: FlaskClient,
    factory: Factory,
    bearer: Callable[..., Any],
    fetch: Callable[..., list[Any]],
    clock: FrozenClock,
) -> None:
    _enrol(client, bearer(factory.user(factory.clinic(oncall_phone=ONCALL))))
    [sms] = fetch(sa.select(OutboundMessage))
    token = re.search(r"/invite/([\w-]+)", sms.body).group(1)  # type: ignore[union-attr]
    clock.advance(hours=72, seconds=1)
    response = client.post("/api/v1/auth/invitation", json={"token": token, "password": "a strong passphrase"})
    assert response.status_code == 410 and response.mimetype == PROBLEM


def test_enrolment_refuses_duplicates_and_bad_values(
    client: FlaskClient, factory: Factory, bearer: Callable[..., Any], fetch: Callable[..., list[Any]]
) -> None:
    headers = bearer(factory.user(factory.clinic(oncall_phone=ONCALL)))
    assert _enrol(client, headers).status_code == 201
    assert _enrol(client, headers).status_code == 409
    bad = client.post(
        "/api/v1/clinic/patients",
        json={"display_name": "X", "phone": "12", "timezone": "Mars/Base", "email": "nope"},
        headers=headers,
    )
    assert bad.status_code == 422
    assert {e["field"] for e in bad.get_json()["errors"]} == {"phone", "timezone", "email"}
    assert len(fetch(sa.select(OutboundMessage))) == 1


def test_unknown_invitation_is_404(client: FlaskClient) -> None:
    response = client.post("/api/v1/auth/invitation", json={"token": "x" * 43, "password": "a strong passphrase"})
    assert response.status_code == 404 and response.mimetype == PROBLEM


def test_me_and_patch_me(client: FlaskClient, factory: Factory, bearer: Callable[..., Any]) -> None:
    clinic = factory.clinic("Hillside", oncall_phone=ONCALL)
    patient = factory.patient(clinic, display_name="Sam")
    headers = bearer(patient)
    me = client.get("/api/v1/me", headers=headers).get_json()
    assert me["clinic"] == {"id": str(clinic.id), "name": "Hillside", "phone": None}
    # API.md /me: the crisis resources of the clinic's country (a US clinic: 988, then 911; it has no phone).
    assert [(r["kind"], r["phone"]) for r in me["crisis_resources"]] == [("line", "988"), ("emergency", "911")]
    assert me["reminders"] == {"enabled": True, "local_time": "10:00", "channel": "sms"}
    changed = client.patch(
        "/api/v1/me",
        json={"timezone": "Europe/Berlin", "reminders": {"enabled": False, "local_time": "18:30"}},
        headers=headers,
    )
    assert changed.status_code == 200
    assert changed.get_json()["timezone"] == "Europe/Berlin"
    assert changed.get_json()["reminders"] == {"enabled": False, "local_time": "18:30", "channel": "sms"}
    bad = client.patch(
        "/api/v1/me", json={"timezone": "Nowhere/Land", "reminders": {"local_time": "25:00"}}, headers=headers
    )
    assert bad.status_code == 422
    assert {e["field"] for e in bad.get_json()["errors"]} == {"reminders.local_time"}
    bad_zone = client.patch("/api/v1/me", json={"timezone": "Nowhere/Land"}, headers=headers)
    assert bad_zone.status_code == 422 and bad_zone.get_json()["errors"][0]["field"] == "timezone"
    assert client.get("/api/v1/me", headers=headers).get_json()["timezone"] == "Europe/Berlin"
    # A name too long to be a file of the tz database is a 422 like any unknown zone, never an OS error.
    for name in ("x" * 256, "Europe/" + "x" * 300, "../../../etc/passwd"):
        refused = client.patch("/api/v1/me", json={"timezone": name}, headers=headers)
        assert refused.status_code == 422, name
        assert refused.get_json()["errors"][0]["field"] == "timezone"


def test_token_expiry_is_thirty_days(client: FlaskClient, factory: Factory, clock: FrozenClock) -> None:
    factory.user(email="doc@example.org")
    body = client.post("/api/v1/auth/token", json={"username": "doc@example.org", "password": PASSWORD}).get_json()
    from datetime import datetime

    assert datetime.fromisoformat(body["expires_at"]) == clock.current + timedelta(days=30)


def test_a_clinic_without_an_on_call_phone_cannot_enrol_until_it_has_one(
    client: FlaskClient, factory: Factory, bearer: Callable[..., Any], fetch: Callable[..., list[Any]]
) -> None:
    clinic = factory.clinic("Nowhere", oncall_phone=None, backup_phone=None)
    headers = bearer(factory.user(clinic))
    refused = _enrol(client, headers)
    assert refused.status_code == 409 and "on-call phone" in refused.get_json()["detail"]
    assert fetch(sa.select(OutboundMessage)) == []
    backup_only = factory.clinic("Backup only", oncall_phone=None, backup_phone=ONCALL)
    assert _enrol(client, bearer(factory.user(backup_only))).status_code == 201  # the backup is paged instead
