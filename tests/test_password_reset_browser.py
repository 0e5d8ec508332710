"""Password reset in a phone-sized Chromium: "Forgot password?", the texted link, a new password, logged in;
and the staff link an admin copies from the page that answers, used in another browser."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from browser import LiveServer
from factories import PASSWORD, Factory
from playwright.sync_api import Browser, Page, ViewportSize, expect

from tracker.extensions import db
from tracker.models import OutboundMessage

pytestmark = pytest.mark.browser

NEW_PASSWORD = "a brand new passphrase"
Screenshot = Callable[[Page, str], Path]
DESKTOP = ViewportSize(width=1280, height=900)


def texted_link(live_server: LiveServer, phone: str) -> str:
    """The link in the reset text queued for this number (not yet sent, so the row still holds it)."""
    with live_server.app.app_context():
        bodies = db.session.scalars(
            sa.select(OutboundMessage.body).where(
                OutboundMessage.to_phone == phone, OutboundMessage.purpose == "password_reset"
            )
        ).all()
    [body] = bodies
    match = re.search(r"https?://\S+/reset/[A-Za-z0-9_\-]+", body)
    assert match
    return match[0]


def test_a_patient_resets_a_forgotten_password_on_the_phone(
    page: Page, live_server: LiveServer, screenshot: Screenshot, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    factory = Factory(live_server.app)
    patient = factory.patient(factory.clinic("Lakeside Ketamine Clinic", oncall_phone="+13125550101"))
    page.goto(f"{live_server.url}/login")
    page.get_by_role("link", name="Forgot password?").tap()
    expect(page).to_have_url(f"{live_server.url}/reset")
    page.get_by_label("Email or mobile number").fill(patient.phone)
    page.get_by_role("button", name="Send the link").tap()
    expect(page.get_by_role("status")).to_contain_text("a text with a link to choose a new password is on its way")
    screenshot(page, "reset-sent")

    link = texted_link(live_server, patient.phone)
    page.goto(link.replace(live_server.app.config["PUBLIC_BASE_URL"], live_server.url))
    page.get_by_label("Choose a password").fill("short")
    page.get_by_label("Type it again").fill("short")
    page.get_by_role("button", name="Set new password").tap()
    expect(page.locator("#password-error")).to_have_text("Use at least 10 characters.")
    page.get_by_label("Choose a password").fill(NEW_PASSWORD)
    page.get_by_label("Type it again").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Set new password").tap()
    expect(page).to_have_url(f"{live_server.url}/me")
    expect(page.get_by_role("heading", name=f"Hello, {patient.display_name}")).to_be_visible()

    answer = page.goto(link.replace(live_server.app.config["PUBLIC_BASE_URL"], live_server.url))
    assert answer is not None and answer.status == 410
    expect(page.get_by_role("heading", name="This link no longer works")).to_be_visible()
    expect(page.get_by_role("link", name="Ask for a new link")).to_be_visible()
    screenshot(page, "reset-link-used")
    # The server logged each request line, and none holds the link's secret.
    assert "/reset/" not in caplog.text and "[password reset link]" in caplog.text
    assert link.rsplit("/", 1)[-1] not in caplog.text


def test_an_admin_copies_a_staff_reset_link_that_works_in_another_browser(
    browser: Browser, live_server: LiveServer
) -> None:
    """At a desk: the staff table is an admin's desktop page."""
    factory = Factory(live_server.app)
    clinic = factory.clinic("Reset Clinic")
    admin = factory.user(clinic, role="admin")
    member = factory.user(clinic)
    desk = browser.new_context(viewport=DESKTOP)
    page = desk.new_page()
    page.set_default_timeout(10_000)
    page.goto(f"{live_server.url}/login")
    page.get_by_label("Email or mobile number").fill(admin.email or "")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{live_server.url}/admin/")
    page.goto(f"{live_server.url}/admin/staff")
    page.get_by_role("button", name=f"Password reset link for {member.email}").click()
    link = page.get_by_label("One-time password reset link").input_value()
    assert "/reset/" in link
    page.goto(f"{live_server.url}/admin/staff")
    expect(page.locator("body")).not_to_contain_text(link.rsplit("/", 1)[-1])

    other = browser.new_context()
    try:
        tab = other.new_page()
        tab.goto(link.replace(live_server.app.config["PUBLIC_BASE_URL"], live_server.url))
        tab.get_by_label("Choose a password").fill(NEW_PASSWORD)
        tab.get_by_label("Type it again").fill(NEW_PASSWORD)
        tab.get_by_role("button", name="Set new password").click()
        expect(tab).to_have_url(re.compile(re.escape(live_server.url) + r"/clinic/?$"))
    finally:
        other.close()
        desk.close()
