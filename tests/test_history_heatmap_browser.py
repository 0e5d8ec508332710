"""In Chromium at phone width: the patient's history bars take their severity's colour, and the clinic's heat
map dates each column by its own check-in and keeps the oldest clear of the sticky item labels."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest
from browser import LiveServer
from factories import Factory
from playwright.sync_api import Page, ViewportSize, expect

from tracker import local_time
from tracker.clock import system_now

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"


def log_in(page: Page, live_server: LiveServer, login: str) -> None:
    page.goto(f"{live_server.url}/login")
    page.get_by_label("Email or mobile number").fill(login)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


DECODE = """async src => {
  const img = new Image(); img.src = src; await img.decode();
  const canvas = document.createElement('canvas'); canvas.width = img.width; canvas.height = img.height;
  const g = canvas.getContext('2d'); g.drawImage(img, 0, 0);
  return Array.from(g.getImageData(3, Math.floor(img.height / 2), 1, 1).data.slice(0, 3));
}"""


def bar_colour(page: Page, index: int) -> list[int]:
    """The colour Chromium drew at the filled start of a history bar (decoded on a blank page: no CSP there)."""
    png = page.locator("ol.history meter").nth(index).screenshot()
    blank = page.context.new_page()
    try:
        return list(blank.evaluate(DECODE, "data:image/png;base64," + base64.b64encode(png).decode()))
    finally:
        blank.close()


def test_history_bars_follow_severity(page: Page, live_server: LiveServer) -> None:
    factory = Factory(live_server.app)
    patient = factory.patient(factory.clinic(), display_name="Sam P.")
    factory.checkin(patient, total=3, days_ago=2)  # none-minimal
    factory.checkin(patient, total=24, days_ago=1)  # severe
    log_in(page, live_server, patient.phone)
    page.goto(f"{live_server.url}/me/history")
    expect(page.locator("ol.history li").first).to_contain_text("24 of 27: severe symptoms")
    severe, minimal = bar_colour(page, 0), bar_colour(page, 1)
    assert severe == [178, 24, 43]  # .sev-severe's red (app.css), not the meter's own green
    assert minimal == [74, 143, 74]  # none-minimal's green


def test_heat_map_dates_each_column_and_clips_none_at_390px(page: Page, live_server: LiveServer) -> None:
    factory = Factory(live_server.app)
    clinic = factory.clinic()
    patient = factory.patient(clinic, display_name="Dana R.", phase="maintenance")
    taken = [system_now() - timedelta(days=d, hours=2) for d in range(60, 0, -5)]
    for n, at in enumerate(taken):
        factory.checkin(patient, total=6 + n % 10, taken_at=at)
    factory.user(clinic, email="doc@example.org")
    page.set_viewport_size(ViewportSize(width=390, height=800))
    log_in(page, live_server, "doc@example.org")
    page.goto(f"{live_server.url}/clinic/patients/{patient.id}")
    zone = local_time.zone_of(clinic.timezone)
    headers = page.locator("table.heat thead th time")
    expect(headers).to_have_text([local_time.short_day(at, zone) for at in taken[-10:]])  # the latest ten

    wrap = page.locator(".heat-wrap")
    # It opens on the newest (right) end; scrolled to its far left, the oldest column sits beside the labels.
    wrap.evaluate("w => w.scrollBy(-w.scrollWidth, 0)")
    assert wrap.evaluate("w => w.scrollWidth > w.clientWidth")  # ten columns overflow a phone: it does scroll
    label = page.locator("table.heat thead th").first.bounding_box()
    oldest = page.locator("table.heat thead th").nth(1).bounding_box()
    assert label is not None and oldest is not None
    assert oldest["x"] >= label["x"] + label["width"] - 0.5, (label, oldest)
