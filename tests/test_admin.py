"""The admin's staff page: inviting a clinician, deactivating one, and what others cannot do."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from conftest import AuthActions, csrf_token_from
from factories import Factory
from flask.testing import FlaskClient

from tracker.models import AuditEvent, User


def _staff_form(client: FlaskClient, **data: str) -> Any:
    data.setdefault("role", "clinician")
    token = csrf_token_from(client.get("/admin/staff").get_data(as_text=True))
    return client.post("/admin/staff", data={"csrf_token": token, **data})


INVITE_LINK = re.compile(r'id="invitation-link" type="text" readonly value="http://[^"]+/invite/([^"]+)"')


def _invite_link(html: str) -> str:
    match = INVITE_LINK.search(html)
    assert match, "the page shows no invitation link"
    return match.group(1)


def _set_password(client: FlaskClient, secret: str, password: str) -> Any:
    token = csrf_token_from(client.get(f"/invite/{secret}").get_data(as_text=True))
    return client.post(f"/invite/{secret}", data={"password": password, "confirm": password, "csrf_token": token})


def test_admin_invites_a_clinician_who_sets_a_password_through_the_link(
    app: Any, client: FlaskClient, auth: AuthActions, factory: Factory, fetch: Callable[..., list[Any]]
) -> None:
    clinic = factory.clinic()
    factory.user(clinic, role="admin", email="admin@example.org")
    auth.login("admin@example.org")
    response = _staff_form(client, email="New.Doc@Example.org", role="clinician")
    assert response.status_code == 303
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "does not send email" in html
    secret = _invite_link(html)
    [created] = fetch(sa.select(User).where(User.email == "new.doc@example.org"))
    assert (created.clinic_id, created.role, created.password_hash, created.active) == (
        clinic.id,
        "clinician",
        None,
        True,
    )
    assert fetch(sa.select(AuditEvent.action).where(AuditEvent.target_id == str(created.id))) == ["staff.invite"]
    assert "invited, no password yet" in client.get("/admin/staff").get_data(as_text=True)

    newcomer = app.test_client()
    assert _set_password(newcomer, secret, "a fine passphrase").status_code == 303
    assert newcomer.get("/clinic/").status_code == 200  # logged in, as clinic staff
    assert AuthActions(app.test_client()).login("new.doc@example.org", "a fine passphrase").status_code == 302
    assert app.test_client().get(f"/invite/{secret}").status_code == 410  # used once


def test_a_new_link_replaces_the_old_one_for_a_member_still_without_a_password(
    app: Any, client: FlaskClient, auth: AuthActions, factory: Factory, fetch: Callable[..., list[Any]]
) -> None:
    clinic = factory.clinic()
    factory.user(clinic, role="admin", email="admin@example.org")
    auth.login("admin@example.org")
    first = _invite_link(client.get(_staff_form(client, email="doc@example.org").headers["Location"]).get_data(True))
    [member] = fetch(sa.select(User).where(User.email == "doc@example.org"))
    token = csrf_token_from(client.get("/admin/staff").get_data(as_text=True))
    response = client.post(f"/admin/staff/{member.id}/invite", data={"csrf_token": token})
    assert response.status_code == 303
    second = _invite_link(client.get(response.headers["Location"]).get_data(as_text=True))
    assert second != first
    assert app.test_client().get(f"/invite/{first}").status_code == 410
    assert app.test_client().get(f"/invite/{second}").status_code == 200
    actions = fetch(sa.select(AuditEvent.action).where(AuditEvent.target_id == str(member.id)).order_by(AuditEvent.at))
    assert sorted(actions) == ["staff.invite", "staff.reinvite"]


def test_no_new_link_for_a_member_who_has_a_password(
    client: FlaskClient, auth: AuthActions, factory: Factory, fetch: Callable[..., list[Any]]
) -> None:
    clinic = factory.clinic()
    factory.user(clinic, role="admin", email="admin@example.org")
    doc = factory.user(clinic, email="doc@example.org")
    auth.login("admin@example.org")
    html = client.get("/admin/staff").get_data(as_text=True)
    assert f"/admin/staff/{doc.id}/invite" not in html
    token = csrf_token_from(html)
    response = client.post(f"/admin/staff/{doc.id}/invite", data={"csrf_token": token})
    assert response.status_code == 302
    assert "has already set a password" in client.get("/admin/staff").get_data(as_text=True)
    assert fetch(sa.select(AuditEvent).where(AuditEvent.action == "staff.reinvite")) == []


def test_bad_staff_input_shows_errors_beside_fields_and_keeps_nothing(
    client: FlaskClient, auth: AuthActions, factory: Factory, fetch: Callable[..., list[Any]]
) -> None:
    factory.user(role="admin", email="admin@example.org")
    auth.login("admin@example.org")
    response = _staff_form(client, email="not-an-email", role="clinician")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="email-error">Enter an email address' in html
    assert fetch(sa.select(User).where(User.email == "not-an-email")) == []
    assert _staff_form(client, email="x@example.org", role="owner").status_code == 422


@pytest.mark.parametrize("email", ["<script>@x.com", "a..b@example.org", "ann@example", "ann@-x.example.org"])
def test_an_email_that_is_no_address_is_refused_beside_the_field(
    client: FlaskClient, auth: AuthActions, factory: Factory, fetch: Callable[..., list[Any]], email: str
) -> None:
    factory.user(role="admin", email="admin@example.org")
    auth.login("admin@example.org")
    response = _staff_form(client, email=email, role="clinician")
    assert response.status_code == 422
    assert 'id="email-error">Enter an email address such as name@example.org.' in response.get_data(as_text=True)
    assert fetch(sa.select(User).where(User.email == email.lower())) == []


def test_duplicate_email_is_refused_beside_the_field(client: FlaskClient, auth: AuthActions, factory: Factory) -> None:
    factory.user(role="admin", email="admin@example.org")
    factory.user(email="taken@example.org")
    auth.login("admin@example.org")
    response = _staff_form(client, email="taken@example.org", role="clinician")
    assert response.status_code == 422
    # Neutral, as enrolment's CONTACT_TAKEN: nothing says whose account or which clinic has it.
    assert (
        'id="email-error">This email is already in use: look for the colleague in your staff list, or ask them for'
        in (response.get_data(as_text=True))
    )


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
    stranger = factory.user(factory.clinic(), email="elsewhere@example.org", password=None)
    auth.login("admin@example.org")
    assert "elsewhere@example.org" not in client.get("/admin/staff").get_data(as_text=True)
    token = csrf_token_from(client.get("/admin/staff").get_data(as_text=True))
    assert client.post(f"/admin/staff/{stranger.id}/deactivate", data={"csrf_token": token}).status_code == 404
    assert client.post(f"/admin/staff/{stranger.id}/invite", data={"csrf_token": token}).status_code == 404


def test_a_clinician_cannot_invite(client: FlaskClient, auth: AuthActions, factory: Factory) -> None:
    factory.user(email="doc@example.org")
    auth.login("doc@example.org")
    assert client.get("/admin/staff").status_code == 403


def _post(client: FlaskClient, url: str) -> Any:
    token = csrf_token_from(client.get("/admin/staff").get_data(as_text=True))
    return client.post(url, data={"csrf_token": token})


def test_deactivation_asks_first_and_nothing_changes_until_confirmed(
    client: FlaskClient, auth: AuthActions, factory: Factory, fetch: Callable[..., list[Any]]
) -> None:
    clinic = factory.clinic()
    factory.user(clinic, role="admin", email="admin@example.org")
    doc = factory.user(clinic, email="doc@example.org")
    auth.login("admin@example.org")
    html = client.get("/admin/staff").get_data(as_text=True)
    # The table only links to the question: no form there deactivates.
    assert f'<a href="/admin/staff/{doc.id}/deactivate">' in html
    assert f'action="/admin/staff/{doc.id}/deactivate"' not in html

    asked = client.get(f"/admin/staff/{doc.id}/deactivate")
    assert asked.status_code == 200
    page = asked.get_data(as_text=True)
    assert "Deactivate doc@example.org?" in page and "Keep them active" in page
    assert fetch(sa.select(User.active).where(User.id == doc.id)) == [True]
    assert fetch(sa.select(AuditEvent).where(AuditEvent.action == "staff.deactivate")) == []
    # Without the form's token the answer does nothing either.
    assert client.post(f"/admin/staff/{doc.id}/deactivate").status_code == 400
    assert fetch(sa.select(User.active).where(User.id == doc.id)) == [True]

    token = csrf_token_from(page)
    done = client.post(f"/admin/staff/{doc.id}/deactivate", data={"csrf_token": token}, follow_redirects=True)
    assert "doc@example.org can no longer log in" in done.get_data(as_text=True)
    assert fetch(sa.select(User.active).where(User.id == doc.id)) == [False]


def test_reactivation_undoes_a_deactivation_and_is_audited(
    app: Any, client: FlaskClient, auth: AuthActions, factory: Factory, fetch: Callable[..., list[Any]]
) -> None:
    clinic = factory.clinic()
    factory.user(clinic, role="admin", email="admin@example.org")
    doc = factory.user(clinic, email="doc@example.org")
    auth.login("admin@example.org")
    _post(client, f"/admin/staff/{doc.id}/deactivate")
    html = client.get("/admin/staff").get_data(as_text=True)
    assert f'action="/admin/staff/{doc.id}/reactivate"' in html and "deactivated" in html
    assert AuthActions(app.test_client()).login("doc@example.org").status_code == 401

    answer = _post(client, f"/admin/staff/{doc.id}/reactivate")
    assert answer.status_code == 302
    assert "active again and can log in with their own password" in client.get("/admin/staff").get_data(as_text=True)
    assert AuthActions(app.test_client()).login("doc@example.org").status_code == 302
    actions = fetch(sa.select(AuditEvent.action).where(AuditEvent.target_id == str(doc.id)))
    assert sorted(actions) == ["staff.deactivate", "staff.reactivate"]
    # Reactivating an active member changes nothing and says so.
    _post(client, f"/admin/staff/{doc.id}/reactivate")
    assert "is already active" in client.get("/admin/staff").get_data(as_text=True)
    assert len(fetch(sa.select(AuditEvent).where(AuditEvent.action == "staff.reactivate"))) == 1


def test_a_reset_link_given_before_deactivation_does_not_come_back_with_reactivation(
    app: Any, client: FlaskClient, auth: AuthActions, factory: Factory
) -> None:
    clinic = factory.clinic()
    factory.user(clinic, role="admin", email="admin@example.org")
    doc = factory.user(clinic, email="doc@example.org")
    auth.login("admin@example.org")
    html = client.get(_post(client, f"/admin/staff/{doc.id}/reset").headers["Location"]).get_data(as_text=True)
    match = re.search(r'value="http://[^"]+/reset/([^"]+)"', html)
    assert match
    assert app.test_client().get(f"/reset/{match[1]}").status_code == 200  # the admin's reset link works...
    _post(client, f"/admin/staff/{doc.id}/deactivate")
    _post(client, f"/admin/staff/{doc.id}/reactivate")
    assert app.test_client().get(f"/reset/{match[1]}").status_code == 410  # ...until the account is deactivated


def test_a_deactivated_email_invited_again_gets_its_own_account_back(
    app: Any, client: FlaskClient, auth: AuthActions, factory: Factory, fetch: Callable[..., list[Any]]
) -> None:
    clinic = factory.clinic()
    factory.user(clinic, role="admin", email="admin@example.org")
    doc = factory.user(clinic, email="doc@example.org")
    auth.login("admin@example.org")
    _post(client, f"/admin/staff/{doc.id}/deactivate")

    response = _staff_form(client, email="Doc@Example.org", role="admin")
    assert response.status_code == 303
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "deactivated account is active again" in html
    secret = _invite_link(html)
    [member] = fetch(sa.select(User).where(User.email == "doc@example.org"))  # no twin
    assert (member.id, member.role, member.active, member.password_hash) == (doc.id, "admin", True, None)
    # The old password no longer opens it; the new one chosen through the link does.
    assert AuthActions(app.test_client()).login("doc@example.org").status_code == 401
    assert _set_password(app.test_client(), secret, "a fresh passphrase").status_code == 303
    assert AuthActions(app.test_client()).login("doc@example.org", "a fresh passphrase").status_code == 302
    [detail] = fetch(
        sa.select(AuditEvent.detail).where(AuditEvent.action == "staff.invite", AuditEvent.target_id == str(doc.id))
    )
    assert detail == {"role": "admin", "reactivated": True}


def test_another_clinics_deactivated_email_is_not_taken_over(
    client: FlaskClient, auth: AuthActions, factory: Factory, fetch: Callable[..., list[Any]]
) -> None:
    factory.user(factory.clinic(), role="admin", email="admin@example.org")
    stranger = factory.user(factory.clinic(), email="elsewhere@example.org", active=False)
    auth.login("admin@example.org")
    response = _staff_form(client, email="elsewhere@example.org", role="clinician")
    assert response.status_code == 422
    # Neutral, as enrolment's CONTACT_TAKEN: nothing says whose account or which clinic has it.
    assert (
        'id="email-error">This email is already in use: look for the colleague in your staff list, or ask them for'
        in (response.get_data(as_text=True))
    )
    assert fetch(sa.select(User.active).where(User.id == stranger.id)) == [False]
    assert fetch(sa.select(User.clinic_id).where(User.email == "elsewhere@example.org")) == [stranger.clinic_id]
