"""In Chromium, at a phone's width and a desktop's: a tap on a point of the trajectory shows its value, the
induction course's glyphs stand apart, the silence breaks the line, and GAD-7 sits under it on the same axis.
Screenshots of the charts go to test-artifacts/screenshots for a person to look at."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from browser import PHONE, SCREENSHOTS, LiveServer
from conftest import TEST_NOW
from factories import PASSWORD, Factory
from playwright.sync_api import Page, ViewportSize, expect

pytestmark = pytest.mark.browser

Screenshot = Callable[[Page, str], Path]
DESKTOP = ViewportSize(width=1280, height=900)


def seed(live_server: LiveServer, email: str) -> str:
    """A patient with a year of weekly PHQ-9s after a course of six induction infusions in ten days, a five-week
    silence, and a GAD-7 a month; returns the patient's id."""
    factory = Factory(live_server.app)
    clinic = factory.clinic()
    factory.user(clinic, email=email)
    patient = factory.patient(clinic, display_name="Robin G.", phase="maintenance")
    now = TEST_NOW  # the live app's clock
    first = now - timedelta(days=300)
    factory.checkin(patient, total=21, taken_at=first - timedelta(days=2))
    for n in range(6):
        factory.infusion(patient, "induction", given_at=first + timedelta(days=2 * n))
    week = first + timedelta(days=14)
    while week < now - timedelta(hours=6):
        if not now - timedelta(days=120) < week < now - timedelta(days=85):
            factory.checkin(patient, total=7 + (week.day % 6), taken_at=week)
        week += timedelta(days=7)
    for n in range(9):
        factory.checkin(patient, total=5 + n % 9, taken_at=now - timedelta(days=31 * n + 1), instrument="gad7")
    return str(patient.id)


def log_in(page: Page, live_server: LiveServer, email: str) -> None:
    page.goto(f"{live_server.url}/login")
    page.get_by_label("Email or mobile number").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{live_server.url}/clinic/")


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_a_tap_shows_a_points_value_and_the_course_reads_as_six_marks(
    page: Page, live_server: LiveServer, screenshot: Screenshot, viewport: ViewportSize
) -> None:
    size = "phone" if viewport["width"] < 720 else "desktop"
    email = f"charts-{size}@example.org"
    patient_id = seed(live_server, email)
    log_in(page, live_server, email)
    page.goto(f"{live_server.url}/clinic/patients/{patient_id}#trajectory")
    chart = page.locator("svg.trajectory")
    expect(chart).to_be_visible()

    # A point's value is hidden until the point is tapped (or clicked, or reached with Tab).
    point = chart.locator("g.pt").nth(-3)
    value = point.locator("text.value")
    expect(value).to_be_hidden()
    if size == "phone":
        point.tap()
    else:
        point.click()
    expect(value).to_be_visible()
    total = point.locator("circle.point").get_attribute("data-total")
    expect(value).to_have_text(f"{total} · " + (point.get_attribute("aria-label") or "").split(" on ")[1])
    shown = value.bounding_box()
    box = chart.bounding_box()
    assert shown is not None and box is not None
    assert box["x"] <= shown["x"] and shown["x"] + shown["width"] <= box["x"] + box["width"]  # inside the chart
    if size == "phone":
        section = page.locator("#trajectory")
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        section.screenshot(path=str(SCREENSHOTS / "chart-point-tapped-phone.png"))

    # The six induction infusions, ten days apart on a year's axis, do not cover one another.
    # (The shapes' own geometry: Chromium's boxes of stroked polygons are padded by the miter limit.)
    spans = chart.locator("polygon.infusion").evaluate_all(
        """marks => marks.map(m => {
             const b = m.getBBox(), c = m.getScreenCTM();
             return [b.x * c.a + c.e, (b.x + b.width) * c.a + c.e];
           })"""
    )
    spans = sorted(spans)
    assert len(spans) == 6 and all(right - left >= 8 for left, right in spans)  # big enough to see on a phone
    stroke = 1.5  # app.css: .infusion
    assert all(b[0] - a[1] - stroke >= 2 for a, b in itertools.pairwise(spans)), spans  # a clear gap between

    # GAD-7 under it, as wide, so the same day falls at the same place.
    gad7 = page.locator("svg.scorechart.gad7")
    expect(gad7).to_be_visible()
    small = gad7.bounding_box()
    assert small is not None and abs(small["width"] - box["width"]) < 1 and small["y"] > box["y"]
    expect(page.locator("ul.legend li[data-key='gap']")).to_have_count(1)
    expect(chart.locator("text.now-label")).to_have_text("today")

    # The range links redraw both charts for three months.
    page.get_by_role("link", name="3 months").click()
    expect(page.locator("nav.chart-ranges a[aria-current]")).to_have_text("3 months")
    expect(page.locator("svg.scorechart.gad7 g.pt")).to_have_count(3)
    page.get_by_role("link", name="1 year").click()
    page.locator("#trajectory").scroll_into_view_if_needed()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.locator("#trajectory").screenshot(path=str(SCREENSHOTS / f"chart-gap-gad7-induction-{size}.png"))
    screenshot(page, f"chart-patient-page-{size}")
