"""An invitation or password reset link the admin issues is shown once: the POST redirects to its page, which a
reload or a later GET no longer shows, and no other link is minted by it. The link is neither logged nor audited."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from conftest import AuthActions, csrf_token_from
from factories import Factory
from flask.testing import FlaskClient

from tracker.models import AuditEvent, Invitation, User

Fetch = Callable[..., list[Any]]
LINK = re.compile(r'readonly value="http://[^"]+/(?:invite|reset)/([^"]+)"')


def _admin(factory: Factory, auth: AuthActions) -> Any:
    clinic = factory.clinic()
    factory.user(clinic, role="admin", email="admin@example.org")
    assert auth.login("admin@example.org").status_code == 302
    return clinic


def _post(client: FlaskClient, action: str, **data: str) -> Any:
    token = csrf_token_from(client.get("/admin/staff").get_data(as_text=True))
    return client.post(action, data={"csrf_token": token, **data})


def _shown_once(client: FlaskClient, answer: Any, member: User) -> str:
    """The page the POST redirects to shows the link, uncached; shown again, it is gone."""
    assert answer.status_code == 303
    location = answer.headers["Location"]
    assert location.endswith(f"/admin/staff/{member.id}/link")
    shown = client.get(location)
    assert shown.status_code == 200 and shown.headers["Cache-Control"] == "no-store"
    match = LINK.search(shown.get_data(as_text=True))
    assert match, "the page shows no link"
    again = client.get(location)  # a reload
    assert again.status_code == 302 and again.headers["Location"].endswith(f"/admin/staff#member-{member.id}")
    assert match[1] not in again.get_data(as_text=True)
    landed = client.get(again.headers["Location"]).get_data(as_text=True)
    assert "That link was shown once." in landed and match[1] not in landed
    return match[1]


def test_a_reset_link_page_reloaded_mints_no_new_link(
    client: FlaskClient, auth: AuthActions, factory: Factory, fetch: Fetch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    clinic = _admin(factory, auth)
    member = factory.user(clinic, email="doc@example.org")
    secret = _shown_once(client, _post(client, f"/admin/staff/{member.id}/reset"), member)
    links = fetch(sa.select(Invitation).where(Invitation.user_id == member.id))
    assert len(links) == 1  # the reload made none
    assert client.get(f"/admin/staff/{member.id}/reset").status_code == 405  # only a POST issues one
    assert secret not in caplog.text
    events = fetch(sa.select(AuditEvent).where(AuditEvent.target_id == str(member.id)))
    assert [e.action for e in events] == ["staff.password_reset_link"]
    assert all(secret not in str(e.detail) for e in events)


def test_an_invitation_page_reloaded_mints_no_new_link(
    client: FlaskClient, auth: AuthActions, factory: Factory, fetch: Fetch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    _admin(factory, auth)
    invited = _post(client, "/admin/staff", email="new@example.org", role="clinician")
    [member] = fetch(sa.select(User).where(User.email == "new@example.org"))
    first = _shown_once(client, invited, member)
    again = _shown_once(client, _post(client, f"/admin/staff/{member.id}/invite"), member)
    assert first != again
    assert len(fetch(sa.select(Invitation).where(Invitation.user_id == member.id))) == 2
    assert first not in caplog.text and again not in caplog.text


def test_a_link_held_for_one_member_is_not_shown_for_another(
    client: FlaskClient, auth: AuthActions, factory: Factory
) -> None:
    clinic = _admin(factory, auth)
    member, other = factory.user(clinic), factory.user(clinic)
    _post(client, f"/admin/staff/{member.id}/reset")
    elsewhere = client.get(f"/admin/staff/{other.id}/link")
    assert elsewhere.status_code == 302 and "/reset/" not in elsewhere.get_data(as_text=True)
