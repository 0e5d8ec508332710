"""Confirmations on the admin's pages and the patient's own pages show where the page lands (the redirect's
fragment, templates/clinic/_landed.html), not at the top of the page."""

from __future__ import annotations

import html as markup
import re
from typing import Any

from conftest import AuthActions, csrf_token_from
from factories import PASSWORD, Factory
from flask.testing import FlaskClient

from tracker.models import Clinic, User

NEW_PASSWORD = "a brand new passphrase"


def _post(client: FlaskClient, page: str, action: str | None = None, **fields: str) -> Any:
    token = csrf_token_from(client.get(page).get_data(as_text=True))
    return client.post(action or page, data={"csrf_token": token, **fields})


def landed(client: FlaskClient, answer: Any, anchor: str) -> str:
    """The redirect goes to `#anchor`, and the page it opens says the confirmation there and nowhere else."""
    assert answer.status_code in (302, 303), answer.get_data(as_text=True)[:500]
    path, _, fragment = answer.headers["Location"].partition("#")
    assert fragment == anchor
    html = client.get(path).get_data(as_text=True)
    assert re.search(rf'id="{re.escape(anchor)}"', html), "the page has no such place"
    said = re.findall(rf'data-landed="{re.escape(anchor)}">([^<]*)</p>', html)
    assert len(said) == 1, "the confirmation is not where the page lands"
    assert not re.search(r'class="flash(?! success landed)[^"]*"', html), "a confirmation at the top too"
    return markup.unescape(said[0])


# The admin's pages


def _admin(factory: Factory, auth: AuthActions) -> Clinic:
    clinic = factory.clinic()
    factory.user(clinic, role="admin", email="admin@example.org")
    assert auth.login("admin@example.org").status_code == 302
    return clinic


def test_deactivating_and_reactivating_say_so_at_the_members_row(
    client: FlaskClient, auth: AuthActions, factory: Factory
) -> None:
    clinic = _admin(factory, auth)
    doc = factory.user(clinic, email="doc@example.org")
    row = f"member-{doc.id}"
    off = _post(client, f"/admin/staff/{doc.id}/deactivate")
    assert landed(client, off, row).startswith("doc@example.org can no longer log in.")
    on = _post(client, "/admin/staff", f"/admin/staff/{doc.id}/reactivate")
    assert landed(client, on, row) == "doc@example.org is active again and can log in with their own password."
    renamed = _post(client, "/admin/staff", f"/admin/staff/{doc.id}/name", **{f"name-{doc.id}-display_name": "Dr Lee"})
    assert landed(client, renamed, row) == "doc@example.org is now shown as Dr Lee."


def test_an_invitation_refused_says_why_at_the_members_row(
    client: FlaskClient, auth: AuthActions, factory: Factory
) -> None:
    clinic = _admin(factory, auth)
    doc: User = factory.user(clinic, email="doc@example.org")  # has a password already
    again = _post(client, "/admin/staff", f"/admin/staff/{doc.id}/invite")
    assert landed(client, again, f"member-{doc.id}") == "doc@example.org has already set a password."


# The patient's own pages


def _patient(factory: Factory, auth: AuthActions) -> Any:
    patient = factory.patient(phone="+13125550777")
    assert auth.login(patient.phone).status_code == 302
    return patient


def test_reminders_saved_say_so_beside_the_reminders_link(
    client: FlaskClient, auth: AuthActions, factory: Factory
) -> None:
    _patient(factory, auth)
    saved = _post(client, "/me/reminders", enabled="y", local_time="18:45")
    assert landed(client, saved, "reminders") == "Your reminders are saved."


def test_a_booster_asked_for_says_so_beside_the_booster_link(
    client: FlaskClient, auth: AuthActions, factory: Factory
) -> None:
    _patient(factory, auth)
    asked = _post(client, "/me/booster", reason="Low again for a week.")
    assert landed(client, asked, "booster") == "Your clinic has your request and will be in touch."


def test_a_password_changed_says_so_beside_the_password_link(
    client: FlaskClient, auth: AuthActions, factory: Factory
) -> None:
    _patient(factory, auth)
    changed = _post(client, "/account/password", current=PASSWORD, password=NEW_PASSWORD, confirm=NEW_PASSWORD)
    assert landed(client, changed, "password") == "Your password is changed. Your other devices are logged out."
