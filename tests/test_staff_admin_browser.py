"""Staff administration in Chromium, at a desk and on a phone: deactivating asks first and can be undone, and a
deactivated member's email invited again gets its own account back. Every button in the staff table is checked to
be the thing a tap at its centre lands on (on a phone a long email once covered them).

Screenshots go to test-artifacts/screenshots/ (README.md), named staff-<step>-<size>.png.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from browser import LiveServer, size_of
from factories import PASSWORD, Factory
from playwright.sync_api import Locator, Page, ViewportSize, expect

from tracker.extensions import db
from tracker.models import AuditEvent, User

pytestmark = pytest.mark.browser

DESKTOP = ViewportSize(width=1280, height=800)
PHONE = ViewportSize(width=390, height=844)
Screenshot = Callable[[Page, str], Path]
_serial = itertools.count(1)


def log_in(page: Page, live_server: LiveServer, email: str) -> None:
    page.goto(f"{live_server.url}/login")
    page.get_by_label("Email or mobile number").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{live_server.url}/admin/")


def assert_tappable(control: Locator) -> None:
    """The control is on the screen, not pushed past its right edge by the table, is what a finger at its centre
    touches, and is at least 44 CSS pixels tall (WCAG 2.5.5)."""
    control.scroll_into_view_if_needed()
    box, size = control.bounding_box(), control.page.viewport_size
    assert box is not None and size is not None
    assert box["height"] >= 44, f"{control} is {box} high"
    assert box["x"] >= 0 and box["x"] + box["width"] <= size["width"], f"{control} at {box} is off the screen"
    hit = control.evaluate(
        "(el) => { const r = el.getBoundingClientRect();"
        " const top = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);"
        " return top !== null && (el === top || el.contains(top)); }"
    )
    assert hit, f"something covers {control}"


def assert_every_action_tappable(page: Page) -> None:
    actions = page.locator("table.staff td.staff-actions").get_by_role("button").all()
    actions += page.locator("table.staff td.staff-actions").get_by_role("link").all()
    assert actions
    for control in actions:
        assert_tappable(control)


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_deactivate_confirm_reactivate_and_invite_again(
    page: Page, live_server: LiveServer, screenshot: Screenshot
) -> None:
    size, n = size_of(page), next(_serial)
    factory = Factory(live_server.app)
    clinic = factory.clinic(f"Lakeside Ketamine Clinic {n}")
    admin = factory.user(clinic, role="admin", email=f"admin{n}@lakeside.example.org")
    # A long email: on a phone it must wrap, not spill over the buttons beside it.
    email = f"dr.alexandra.montgomery-whitfield.{n}@lakeside-ketamine-clinic.example.org"
    member = factory.user(clinic, email=email)
    factory.user(clinic, email=f"new.nurse.practitioner.{n}@lakeside-ketamine-clinic.example.org", password=None)

    log_in(page, live_server, admin.email or "")
    page.goto(f"{live_server.url}/admin/staff")
    assert_every_action_tappable(page)
    screenshot(page, f"staff-table-{size}")

    page.get_by_role("link", name=f"Deactivate {email}").tap()
    expect(page.get_by_role("heading", name=f"Deactivate {email}?")).to_be_visible()
    screenshot(page, f"staff-deactivate-confirm-{size}")
    page.get_by_role("link", name="Keep them active").tap()  # changing one's mind changes nothing
    expect(page.get_by_role("row", name=email)).to_contain_text("active")
    page.get_by_role("link", name=f"Deactivate {email}").tap()
    page.get_by_role("button", name=f"Yes, deactivate {email}").tap()

    expect(page.locator("p.flash")).to_contain_text(f"{email} can no longer log in")
    row = page.get_by_role("row", name=email)
    expect(row).to_contain_text("deactivated")
    assert_every_action_tappable(page)
    screenshot(page, f"staff-deactivated-{size}")

    row.get_by_role("button", name=f"Reactivate {email}").tap()
    expect(page.locator("p.flash")).to_contain_text(f"{email} is active again")
    expect(page.get_by_role("row", name=email)).not_to_contain_text("deactivated")
    screenshot(page, f"staff-reactivated-{size}")

    # Deactivated again, then invited again by email: the same account, with the role chosen now.
    page.get_by_role("link", name=f"Deactivate {email}").tap()
    page.get_by_role("button", name=f"Yes, deactivate {email}").tap()
    page.get_by_label("Email").fill(email.upper())
    page.get_by_label("Role").select_option("admin")
    page.get_by_role("button", name="Invite").tap()
    expect(page.locator("p.flash")).to_contain_text("deactivated account is active again")
    link = page.get_by_label("One-time invitation link").input_value()
    assert "/invite/" in link
    screenshot(page, f"staff-invited-again-{size}")
    page.get_by_role("link", name="Back to staff").tap()
    expect(page.get_by_role("row", name=email)).to_contain_text("invited, no password yet")
    assert_every_action_tappable(page)
    expect(page.locator("body")).not_to_contain_text(link.rsplit("/", 1)[-1])

    with live_server.app.app_context():
        accounts = db.session.scalars(sa.select(User).where(User.email == email)).all()
        actions = db.session.scalars(
            sa.select(AuditEvent.action).where(AuditEvent.target_id == str(member.id)).order_by(AuditEvent.at)
        ).all()
    assert [(a.id, a.role, a.active) for a in accounts] == [(member.id, "admin", True)]
    assert sorted(actions) == sorted(["staff.deactivate", "staff.reactivate", "staff.deactivate", "staff.invite"])
