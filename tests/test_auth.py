"""Logging in and out, CSRF, role homes, and clinic scoping on the web."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from conftest import AuthActions, csrf_token_from
from factories import PASSWORD, Factory
from flask import Flask
from flask.testing import FlaskClient

from tracker import create_app
from tracker.extensions import db
from tracker.models import AuditEvent, User


def test_login_by_email_lands_on_the_clinic_home(client: FlaskClient, auth: AuthActions, factory: Factory) -> None:
    clinician = factory.user(role="clinician", email="dr.lee@example.org")
    response = auth.login("DR.Lee@example.org ")
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert client.get("/").headers["Location"] == "/clinic/"
    page = client.get("/clinic/")
    assert page.status_code == 200
    assert "Needs attention" in page.get_data(as_text=True)  # the clinic's home is the attention queue
    assert clinician.email == "dr.lee@example.org"


def test_login_by_phone_in_any_spelling_lands_on_the_patient_home(
    client: FlaskClient, auth: AuthActions, factory: Factory
) -> None:
    factory.patient(display_name="Robin Q.", phone="+13125550777")
    assert auth.login("(312) 555-0777").status_code == 302
    assert client.get("/").headers["Location"] == "/me"
    assert "Hello, Robin Q." in client.get("/me").get_data(as_text=True)


def test_admin_lands_on_the_admin_home(client: FlaskClient, auth: AuthActions, factory: Factory) -> None:
    factory.user(role="admin", email="boss@example.org")
    auth.login("boss@example.org")
    assert client.get("/").headers["Location"] == "/admin/"


@pytest.mark.parametrize(
    ("username", "password"),
    [("dr.lee@example.org", "wrong password!"), ("nobody@example.org", PASSWORD), ("+13125550999", PASSWORD)],
)
def test_bad_credentials_get_the_same_answer(auth: AuthActions, factory: Factory, username: str, password: str) -> None:
    factory.user(email="dr.lee@example.org")
    response = auth.login(username, password)
    assert response.status_code == 401
    assert "do not match an account" in response.get_data(as_text=True)


def test_deactivated_user_cannot_log_in(auth: AuthActions, factory: Factory) -> None:
    factory.user(email="gone@example.org", active=False)
    assert auth.login("gone@example.org").status_code == 401


def test_empty_form_shows_errors_beside_fields(client: FlaskClient) -> None:
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    page = client.post("/login", data={"username": "", "password": "", "csrf_token": token})
    html = page.get_data(as_text=True)
    assert 'id="username-error">Enter your email or mobile number.' in html
    assert 'id="password-error">Enter your password.' in html


def test_form_without_csrf_token_is_refused(client: FlaskClient, factory: Factory) -> None:
    factory.user(email="dr.lee@example.org")
    response = client.post("/login", data={"username": "dr.lee@example.org", "password": PASSWORD})
    assert response.status_code == 400
    assert "Nothing was saved" in response.get_data(as_text=True)
    assert client.get("/clinic/").status_code == 302  # still logged out


def test_logout_ends_the_session(client: FlaskClient, auth: AuthActions, factory: Factory) -> None:
    factory.user(email="dr.lee@example.org")
    auth.login("dr.lee@example.org")
    assert client.get("/clinic/").status_code == 200
    assert auth.logout().status_code == 302
    assert client.get("/clinic/").headers["Location"].startswith("/login")


def test_logout_needs_its_csrf_token(client: FlaskClient, auth: AuthActions, factory: Factory) -> None:
    factory.user(email="dr.lee@example.org")
    auth.login("dr.lee@example.org")
    assert client.post("/logout").status_code == 400
    assert client.get("/clinic/").status_code == 200


def test_rotating_the_login_id_revokes_sessions(
    app: Flask, client: FlaskClient, auth: AuthActions, factory: Factory
) -> None:
    user = factory.user(email="dr.lee@example.org")
    auth.login("dr.lee@example.org")
    with app.app_context():
        db.session.get(User, user.id).revoke_sessions()  # type: ignore[union-attr]
        db.session.commit()
    assert client.get("/clinic/").status_code == 302


def test_next_parameter_stays_on_this_site(client: FlaskClient, factory: Factory) -> None:
    factory.user(email="dr.lee@example.org")
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    data = {"username": "dr.lee@example.org", "password": PASSWORD, "csrf_token": token}
    response = client.post("/login?next=https://evil.example.com/", data=data)
    assert response.headers["Location"] == "/"


def test_login_is_rate_limited(client: FlaskClient, factory: Factory) -> None:
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    statuses = [
        client.post("/login", data={"username": "x@example.org", "password": "nope", "csrf_token": token}).status_code
        for _ in range(11)
    ]
    assert statuses[:10] == [401] * 10
    assert statuses[10] == 429


def test_session_cookie_is_httponly_and_lax(client: FlaskClient, auth: AuthActions, factory: Factory) -> None:
    factory.user(email="dr.lee@example.org")
    response = auth.login("dr.lee@example.org")
    [cookie] = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("session=")]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


@pytest.mark.parametrize("path", ["/", "/me", "/clinic/", "/admin/", "/admin/staff"])
def test_pages_need_login(client: FlaskClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


@pytest.mark.parametrize(
    ("role", "path", "status"),
    [
        ("patient", "/clinic/", 403),
        ("patient", "/admin/staff", 403),
        ("clinician", "/admin/staff", 403),
        ("clinician", "/me", 403),
        ("admin", "/clinic/", 200),
        ("admin", "/admin/staff", 200),
    ],
)
def test_roles_see_only_their_pages(
    client: FlaskClient, auth: AuthActions, factory: Factory, role: str, path: str, status: int
) -> None:
    if role == "patient":
        factory.patient(phone="+13125550778")
        auth.login("+13125550778")
    else:
        factory.user(role=role, email="who@example.org")
        auth.login("who@example.org")
    assert client.get(path).status_code == status


def test_clinician_sees_only_their_clinics_patients(
    client: FlaskClient, auth: AuthActions, factory: Factory, fetch: Callable[..., list[Any]]
) -> None:
    clinic_a, clinic_b = factory.clinic("A"), factory.clinic("B")
    mine = factory.patient(clinic_b, display_name="Mine Patient")
    theirs = factory.patient(clinic_a, display_name="Their Patient")
    reader = factory.user(clinic_b, email="b@example.org")
    auth.login("b@example.org")

    listing = client.get("/clinic/patients").get_data(as_text=True)
    assert "Mine Patient" in listing and "Their Patient" not in listing
    assert client.get(f"/clinic/patients/{theirs.id}").status_code == 404
    assert client.get("/clinic/patients/not-an-id").status_code == 404
    assert client.get(f"/clinic/patients/{mine.id}").status_code == 200

    events = fetch(sa.select(AuditEvent).where(AuditEvent.action == "patient.read"))
    assert [(e.actor_id, e.patient_id, e.clinic_id) for e in events] == [(reader.id, mine.id, clinic_b.id)]
    assert events[0].ip == "127.0.0.1"


def test_patient_list_query_count_does_not_grow_with_patients(
    client: FlaskClient, auth: AuthActions, factory: Factory, count_queries: Callable[..., Any]
) -> None:
    clinic = factory.clinic()
    factory.user(clinic, email="doc@example.org")
    auth.login("doc@example.org")
    factory.patient(clinic)
    with count_queries() as few:
        assert client.get("/clinic/patients").status_code == 200
    for _ in range(5):
        factory.patient(clinic)
    with count_queries() as many:
        assert client.get("/clinic/patients").status_code == 200
    assert few.count > 0
    assert many.count == few.count


def test_production_stores_passwords_as_full_strength_scrypt(tmp_path: Path) -> None:
    """The test suite's cheap scrypt (FAST_PASSWORD_HASHES_IN_TESTS) has no effect on a production app."""
    environ = {
        "TRACKER_ENV": "production",
        "SECRET_KEY": "k" * 20 + "9f8e7d6c5b4a3210fedc",
        "PUBLIC_BASE_URL": "https://tracker.example.org",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'production.sqlite3'}",
        "SMS_BACKEND": "console",
    }
    production = create_app({"ENVIRON": environ, "FAST_PASSWORD_HASHES_IN_TESTS": True})
    user = User(role="clinician", email="dr.lee@example.org")
    with production.app_context():
        user.set_password(PASSWORD)
    assert user.password_hash is not None
    method, salt, digest = user.password_hash.split("$")
    assert method == "scrypt:32768:8:1"  # werkzeug's full strength: N=2**15, r=8, p=1
    assert len(salt) == 16 and len(digest) == 128
    assert user.check_password(PASSWORD) and not user.check_password("wrong password!")


@pytest.mark.parametrize(
    "target",
    ["/clinic/%0d%0aSet-Cookie:x=1", "/\\evil.example.com", "/clinic\r\nX: y", "//evil.example.com", "/\tclinic"],
)
def test_a_next_with_line_breaks_or_backslashes_goes_home(client: FlaskClient, factory: Factory, target: str) -> None:
    factory.user(email="dr.lee@example.org")
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    data = {"username": "dr.lee@example.org", "password": PASSWORD, "csrf_token": token}
    response = client.post("/login", query_string={"next": target}, data=data)
    assert response.status_code == 302
    location = response.headers["Location"]
    assert "\r" not in location and "\n" not in location and "evil" not in location
