"""The admin's staff page: adding a clinician, deactivating one, and what others cannot do."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from conftest import AuthActions, csrf_token_from
from factories import Factory
from flask.testing import FlaskClient

from tracker.models import AuditEvent, User


def _staff_form(client: FlaskClient, **data: str) -> Any:
    token = csrf_token_from(client.get("/admin/staff").get_data(as_text=True))
    return client.post("/admin/staff", data={"csrf_token": token, **data})


def test_admin_adds_a_clinician_who_can_log_in(
    client: FlaskClient, auth: AuthActions, factory: Factory, fetch: Callable[..., list[Any]]
) -> None:
    clinic = factory.clinic()
    factory.user(clinic, role="admin", email="admin@example.org")
    auth.login("admin@example.org")
    response = _staff_form(client, email="New.Doc@Example.org", role="clinician", password="a fine passphrase")
    assert response.status_code == 302
    assert "new.doc@example.org" in client.get("/admin/staff").get_data(as_text=True)
    [created] = fetch(sa.select(User).where(User.email == "new.doc@example.org"))
    assert (created.clinic_id, created.role) == (clinic.id, "clinician")
    assert created.password_hash.startswith("scrypt:")
    assert fetch(sa.select(AuditEvent.action).where(AuditEvent.target_id == str(created.id))) == ["staff.create"]
    auth.logout()
    assert auth.login("new.doc@example.org", "a fine passphrase").status_code == 302


def test_bad_staff_input_shows_errors_beside_fields_and_keeps_nothing(
    client: FlaskClient, auth: AuthActions, factory: Factory, fetch: Callable[..., list[Any]]
) -> None:
    factory.user(role="admin", email="admin@example.org")
    auth.login("admin@example.org")
    response = _staff_form(client, email="not-an-email", role="clinician", password="short")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="email-error">Enter an email address' in html
    assert 'id="password-error">Use at least 10 characters.' in html
    assert fetch(sa.select(User).where(User.email == "not-an-email")) == []


def test_duplicate_email_is_refused_beside_the_field(client: FlaskClient, auth: AuthActions, factory: Factory) -> None:
    factory.user(role="admin", email="admin@example.org")
    factory.user(email="taken@example.org")
    auth.login("admin@example.org")
    response = _staff_form(client, email="taken@example.org", role="clinician", password="a fine passphrase")
    assert response.status_code == 422
    assert "already exists" in response.get_data(as_text=True)


def test_admin_deactivates_a_clinician_and_their_session_ends(
    app: Any, client: FlaskClient, auth: AuthActions, factory: Factory
) -> None:
    clinic = factory.clinic()
    factory.user(clinic, role="admin", email="admin@example.org")
    doc = factory.user(clinic, email="doc@example.org")
    other_client = app.test_client()
    AuthActions(other_client).login("doc@example.org")
    assert other_client.get("/clinic/").status_code == 200

    auth.login("admin@example.org")
    token = csrf_token_from(client.get("/admin/staff").get_data(as_text=True))
    assert client.post(f"/admin/staff/{doc.id}/deactivate", data={"csrf_token": token}).status_code == 302
    assert other_client.get("/clinic/").status_code == 302
    assert AuthActions(app.test_client()).login("doc@example.org").status_code == 401


def test_admin_cannot_touch_another_clinics_staff(client: FlaskClient, auth: AuthActions, factory: Factory) -> None:
    factory.user(factory.clinic(), role="admin", email="admin@example.org")
    stranger = factory.user(factory.clinic(), email="elsewhere@example.org")
    auth.login("admin@example.org")
    assert "elsewhere@example.org" not in client.get("/admin/staff").get_data(as_text=True)
    token = csrf_token_from(client.get("/admin/staff").get_data(as_text=True))
    assert client.post(f"/admin/staff/{stranger.id}/deactivate", data={"csrf_token": token}).status_code == 404
