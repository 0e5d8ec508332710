"""The invitation link on the web: set a password once, then you are logged in."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from browser import LiveServer
from conftest import csrf_token_from
from factories import Factory
from flask import Flask
from flask.testing import FlaskClient
from playwright.sync_api import Page, expect

from tracker.clock import FrozenClock
from tracker.extensions import db
from tracker.models import User
from tracker.services.accounts import enrolment


@pytest.fixture
def link(app: Flask, factory: Factory) -> str:
    staff = factory.user(factory.clinic(oncall_phone="+13125550100"))
    with app.app_context():
        result = enrolment.enrol_patient(
            db.session.get(User, staff.id),  # type: ignore[arg-type]
            "Ada L.",
            "+13125550901",
            "America/Chicago",
        )
        db.session.commit()
    return result.invitation_url.split("/invite/")[1]


def _post(client: FlaskClient, secret: str, password: str, confirm: str | None = None) -> Any:
    token = csrf_token_from(client.get(f"/invite/{secret}").get_data(as_text=True))
    data = {"password": password, "confirm": password if confirm is None else confirm, "csrf_token": token}
    return client.post(f"/invite/{secret}", data=data)


def test_setting_a_password_logs_the_patient_in_once(client: FlaskClient, link: str, app: Flask) -> None:
    response = _post(client, link, "my long passphrase")
    # 303 straight to the patient's own page: the link's secret leaves the address bar and its history entry.
    assert (response.status_code, response.headers["Location"]) == (303, "/me")
    assert "Hello, Ada L." in client.get("/me").get_data(as_text=True)
    other = app.test_client()
    assert other.get(f"/invite/{link}").status_code == 410


@pytest.mark.parametrize(
    ("password", "confirm", "message"),
    [
        ("short", None, "Use at least 10 characters."),
        ("my long passphrase", "different words", "The two passwords differ."),
    ],
)
def test_bad_passwords_are_explained_beside_the_field(
    client: FlaskClient, link: str, password: str, confirm: str | None, message: str
) -> None:
    response = _post(client, link, password, confirm)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert client.get("/me").status_code == 302  # not logged in
    assert client.get(f"/invite/{link}").status_code == 200  # the link still works


def test_expired_and_unknown_links(
    client: FlaskClient, link: str, clock: FrozenClock, fetch: Callable[..., Any]
) -> None:
    assert client.get("/invite/not-a-real-link").status_code == 404
    clock.advance(hours=73)
    response = client.get(f"/invite/{link}")
    assert response.status_code == 410
    assert "Ask your clinic for a new one" in response.get_data(as_text=True)


@pytest.mark.browser
def test_the_browser_leaves_the_link_once_the_password_is_set(page: Page, live_server: LiveServer) -> None:
    factory = Factory(live_server.app)
    staff = factory.user(factory.clinic(oncall_phone="+13125550100"))
    with live_server.app.app_context():
        enrolled = enrolment.enrol_patient(
            db.session.get(User, staff.id),  # type: ignore[arg-type]
            "Grace H.",
            "+13125550902",
            "America/Chicago",
        )
        db.session.commit()
    secret = enrolled.invitation_url.split("/invite/")[1]
    page.goto(f"{live_server.url}/invite/{secret}")
    page.get_by_label("Choose a password").fill("my long passphrase")
    page.get_by_label("Type it again").fill("my long passphrase")
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.get_by_role("button", name="Set password").tap()
    assert posted.value.status == 303  # the browser fetches the home page afresh: a reload sends nothing again
    expect(page).to_have_url(f"{live_server.url}/me")
    expect(page.get_by_role("heading", name="Hello, Grace H.")).to_be_visible()
    assert secret not in page.url
