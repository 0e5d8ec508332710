"""A clinician records a visit in Chromium with a blood pressure over the clinic's hold-and-review threshold, is
asked to confirm, confirms (CLINICAL.md §7); on a desktop and on a phone.

Screenshots go to test-artifacts/screenshots/vital-signs-<step>-<size>.png.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from browser import LiveServer
from conftest import TEST_NOW
from factories import PASSWORD, Factory
from playwright.sync_api import Page, ViewportSize, expect

from tracker.extensions import db
from tracker.models import Infusion, SchedulerHeartbeat

pytestmark = pytest.mark.browser

DESKTOP = ViewportSize(width=1280, height=800)
PHONE = ViewportSize(width=390, height=844)


def _rows(live_server: LiveServer, statement: sa.Select[Any]) -> list[Any]:
    with live_server.app.app_context():
        found = list(db.session.scalars(statement))
        db.session.expunge_all()
        return found


def _fits(page: Page) -> None:
    size = page.viewport_size
    assert size is not None and page.evaluate("document.documentElement.scrollWidth") <= size["width"]


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_a_visit_over_the_hold_threshold_is_confirmed_then_recorded(
    page: Page, live_server: LiveServer, screenshot: Callable[[Page, str], Path], viewport: ViewportSize
) -> None:
    size = "phone" if viewport["width"] < 720 else "desktop"
    factory = Factory(live_server.app)
    with factory.session() as s:
        s.merge(SchedulerHeartbeat(name="live:vital-signs", beat_at=TEST_NOW, started_at=TEST_NOW))
    clinic = factory.clinic("Lakeside Ketamine Clinic", oncall_phone="+13125550101")
    staff = factory.user(clinic)
    patient = factory.patient(clinic, display_name="Casey R.", phase="maintenance")
    factory.checkin(patient, total=16, taken_at=TEST_NOW - timedelta(days=20))
    factory.infusion(
        patient,
        "maintenance",
        given_at=TEST_NOW - timedelta(days=14),
        weight_kg=Decimal("70"),
        bp_before_systolic=126,
        bp_before_diastolic=80,
        bp_during_systolic=142,
        bp_during_diastolic=88,
    )
    booked = factory.infusion(patient, "maintenance", scheduled_for=TEST_NOW - timedelta(minutes=60))

    page.goto(f"{live_server.url}/login")
    page.get_by_label("Email or mobile number").fill(staff.email or "")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{live_server.url}/clinic/")
    page.goto(f"{live_server.url}/clinic/patients/{patient.id}")
    page.locator(f'tr[data-infusion="{booked.id}"]').get_by_role("link", name="Record as given…").click()
    expect(page.get_by_role("heading", name="Record the visit")).to_be_visible()

    page.get_by_label("Blood pressure before", exact=True).fill("138/86")
    page.get_by_label("Heart rate before", exact=True).fill("74")
    page.get_by_label("SpO2 before (%)").fill("98")
    page.get_by_label("Blood pressure at about 40 min").fill("186/104")
    page.get_by_label("Heart rate at about 40 min").fill("92")
    page.get_by_label("Blood pressure before discharge").fill("144/90")
    page.get_by_label("Observed for (min)").fill("150")
    page.get_by_label("Ride home confirmed").select_option("yes")
    page.get_by_role("button", name="Record as given").click()

    expect(page.locator(".confirm-box")).to_contain_text("hold-and-review level")
    expect(page.locator("#bp_during-warning")).to_have_text(
        "Check: Blood pressure 186/104 about 40 minutes in: at or above the clinic's hold-and-review level 180/110; "
        "confirm to record the infusion as given"
    )
    expect(page.locator("#bp_after-warning")).to_contain_text("at or above 140/90")  # a caution, beside its value
    expect(page.locator("#bp_before-warning")).to_have_count(0)
    assert _rows(live_server, sa.select(Infusion.status).where(Infusion.id == booked.id)) == ["scheduled"]
    _fits(page)
    screenshot(page, f"vital-signs-confirm-{size}")

    page.get_by_role("button", name="Save with these values").click()
    expect(page).to_have_url(re.compile(rf"/clinic/patients/{patient.id}#infusion-{booked.id}$"))
    hold = page.locator(f'[data-infusion-more="{booked.id}"] .infusion-checks.hold')  # drawn apart from cautions
    expect(hold).to_contain_text("186/104 about 40 minutes in: at or above the clinic's hold-and-review level 180/110")
    expect(hold).to_contain_text("; confirmed by ")
    [row] = _rows(live_server, sa.select(Infusion).where(Infusion.id == booked.id))
    assert (row.status, row.bp_hold_confirmed, row.bp_during_systolic, row.heart_rate_during) == (
        "given",
        True,
        186,
        92,
    )
    chart = page.locator('figure[data-chart="blood-pressure"]')
    expect(chart.locator(".bp-column")).to_have_count(2)
    expect(chart.locator(f'.bp-column[data-infusion="{booked.id}"]')).to_have_attribute("data-level", "hold")
    _fits(page)
    chart.scroll_into_view_if_needed()
    screenshot(page, f"vital-signs-saved-{size}")
