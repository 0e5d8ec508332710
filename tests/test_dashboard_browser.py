"""A clinician works the dashboard in Chromium, on a desktop and on a phone, over the demo's data.

The module empties the live server's database once and builds the demo in it (tracker.demo.build_demo in
the live app's context, committed), then keeps a copy; each test starts from that copy, restored into the
live database, so the phone and the desktop runs start from the same clinic.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from browser import PHONE, SCREENSHOTS, LiveServer, fits, rows
from conftest import TEST_NOW
from playwright.sync_api import Page, ViewportSize, expect

from tracker.demo import DEMO_PASSWORD, build_demo
from tracker.extensions import db
from tracker.models import Alert, Base, BoosterRequest, CheckIn, Infusion, OutboundMessage, SchedulerHeartbeat
from tracker.unit_of_work import transaction

pytestmark = pytest.mark.browser

Screenshot = Callable[[Page, str], Path]
DESKTOP = ViewportSize(width=1280, height=900)
VIEWPORTS = pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
INK = "rgb(27, 31, 36)"  # the focus ring: 16:1 on white


@dataclass(frozen=True)
class Demo:
    safety_alert: Alert
    urgent: BoosterRequest
    routine: BoosterRequest


@pytest.fixture(scope="module")
def built_demo(live_server: LiveServer) -> Iterator[tuple[sqlite3.Connection, dict[str, Any]]]:
    """The demo, alone in the live database, with a scheduler that has just beaten (no banner): built once,
    and copied into memory with SQLite's backup API, with its showcase."""
    with live_server.app.app_context():
        with transaction(db.session):  # as `tracker demo` runs it: one unit of work
            for table in reversed(Base.metadata.sorted_tables):
                db.session.execute(table.delete())
            shown = build_demo().showcase
            db.session.add(SchedulerHeartbeat(name="live:1", beat_at=TEST_NOW, started_at=TEST_NOW))
        copy = sqlite3.connect(":memory:")
        with db.engine.connect() as conn:
            conn.connection.driver_connection.backup(copy)  # type: ignore[union-attr]
    yield copy, shown
    copy.close()


@pytest.fixture
def demo(live_server: LiveServer, built_demo: tuple[sqlite3.Connection, dict[str, Any]]) -> Demo:
    """The built demo, restored over whatever the live database holds now (an earlier test's changes)."""
    copy, shown = built_demo
    with live_server.app.app_context(), db.engine.connect() as conn:
        copy.backup(conn.connection.driver_connection)  # type: ignore[arg-type]
    [alert] = rows(live_server, sa.select(Alert).where(Alert.id == shown["safety_alert"]))
    [urgent] = rows(live_server, sa.select(BoosterRequest).where(BoosterRequest.id == shown["urgent_request"]))
    [routine] = rows(live_server, sa.select(BoosterRequest).where(BoosterRequest.id == shown["routine_request"]))
    return Demo(alert, urgent, routine)


def log_in(page: Page, live_server: LiveServer) -> None:
    page.goto(f"{live_server.url}/login")
    page.get_by_label("Email or mobile number").fill("clinician@lakeside.example")
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{live_server.url}/clinic/")
    expect(page.get_by_role("heading", name="Needs attention")).to_be_visible()


def check_chart(page: Page, live_server: LiveServer, patient_id: Any) -> None:
    """One point per check-in and one marker per infusion given or booked, as the database has them."""
    checkins = rows(live_server, sa.select(CheckIn).where(CheckIn.patient_id == patient_id))
    infusions = rows(
        live_server, sa.select(Infusion).where(Infusion.patient_id == patient_id, Infusion.status != "cancelled")
    )
    chart = page.locator("svg.trajectory")
    expect(chart).to_be_visible()
    expect(chart.locator("circle.point[data-checkin]")).to_have_count(len(checkins))
    expect(chart.locator("polygon.infusion[data-infusion]")).to_have_count(len(infusions))
    box = chart.bounding_box()
    assert box is not None and box["height"] > 150  # readable on a phone too
    table = page.locator('details.chart-data[data-chart="phq9"]')  # the PHQ-9's, not another chart's
    table.locator("summary").click()
    expect(table.locator("tbody tr")).to_have_count(len(checkins))
    table.locator("summary").click()  # closed again, for the screenshots


def section_shot(page: Page, selector: str, name: str) -> None:
    """One part of a long page, at the size it is drawn, for a person to look at."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.locator(selector).first.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


@VIEWPORTS
def test_a_clinician_works_the_queue(
    page: Page, live_server: LiveServer, demo: Demo, screenshot: Screenshot, viewport: ViewportSize
) -> None:
    size = "phone" if viewport["width"] < 720 else "desktop"
    log_in(page, live_server)
    queue = page.locator("ol.queue > li")
    expect(queue.first).to_have_attribute("data-kind", "safety")
    expect(queue.first).to_have_attribute("data-target", str(demo.safety_alert.id))
    expect(queue.first).to_contain_text("due in 18 min")
    expect(queue.nth(1)).to_contain_text("Urgent booster request")
    expect(page.get_by_text("The scheduler is not running")).to_have_count(0)
    fits(page)
    screenshot(page, f"clinic-queue-{size}")

    # The safety alert (CLINICAL.md §3): open it from the queue, acknowledge it ("I am on it"), then resolve it,
    # first without a risk level, then with one.
    queue.first.locator("a").click()
    expect(page).to_have_url(re.compile(rf"/clinic/patients/{demo.safety_alert.patient_id}#alert-"))
    check_chart(page, live_server, demo.safety_alert.patient_id)
    fits(page)
    screenshot(page, f"clinic-patient-safety-{size}")
    section_shot(page, "#needs", f"clinic-part-alert-{size}")
    card = page.locator(f"#alert-{demo.safety_alert.id}")
    card.get_by_label("Note (optional, e.g. called, no answer)").fill("Called, no answer; trying again.")
    card.get_by_role("button", name="Acknowledge").click()
    expect(page.locator("p.flash")).to_have_text("Alert acknowledged: resolve it once followed up.")
    card = page.locator(f"#alert-{demo.safety_alert.id}")
    expect(card).to_contain_text("Acknowledged by")
    card.get_by_role("button", name="Resolve").click()
    expect(page.locator(f"#alert-{demo.safety_alert.id} p.error")).to_contain_text("Required for a safety alert")
    # CLINICAL.md §7: the C-SSRS screener; its suggested level is shown before anything is saved.
    card = page.locator(f"#alert-{demo.safety_alert.id}")
    for number, answer in (("1", "Yes"), ("2", "Yes"), ("3", "Yes"), ("4", "No"), ("5", "No"), ("6", "No")):
        card.get_by_role("group", name=re.compile(rf"^{number}\. ")).get_by_text(answer, exact=True).click()
    card.get_by_label("What was done").fill("Called back; safety plan reviewed.")
    card.get_by_role("button", name="Resolve").click()
    card = page.locator(f"#alert-{demo.safety_alert.id}")
    expect(card.locator(".confirm-box")).to_contain_text("The screener suggests: moderate risk.")
    expect(card.get_by_role("radio", name="Moderate")).to_be_checked()
    fits(page)
    section_shot(page, f"#alert-{demo.safety_alert.id}", f"clinic-part-screener-{size}")
    card.get_by_role("button", name="Resolve").click()
    expect(page.locator("p.flash")).to_have_text("Alert resolved.")
    [alert] = rows(live_server, sa.select(Alert).where(Alert.id == demo.safety_alert.id))
    assert (alert.status, alert.risk_level, alert.screener_suggested) == ("resolved", "moderate", "moderate")
    answers = page.locator(f'details.screener-answers[data-alert="{demo.safety_alert.id}"]')
    answers.locator("summary").click()
    expect(answers).to_contain_text("Have you been thinking about how you might do this?")
    section_shot(page, "#alerts", f"clinic-part-screener-answers-{size}")

    # The urgent request: approve, then book it in the clinic's time.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Queue").click()
    expect(page.locator("ol.queue > li").first).to_have_attribute("data-target", str(demo.urgent.id))
    page.locator("ol.queue > li").first.locator("a").click()
    # CLINICAL.md §7: the demo's patient on lamotrigine, on the clinic's list: a review, never advice.
    expect(page.locator("#medicines .review-notice")).to_contain_text("Lamotrigine 200 mg daily")
    section_shot(page, "#medicines", f"clinic-part-medicines-{size}")
    booster = page.locator("#booster")
    expect(booster).to_contain_text(re.compile(r"PHQ-9 22 on Nov \d+, low was \d+"))
    booster.get_by_role("button", name="Approve").click()
    expect(page.locator("p.flash")).to_contain_text("Booster approved.")
    page.locator("#booster").get_by_label("Date and time").fill("2026-11-24T10:00")
    page.locator("#booster").get_by_role("button", name="Book").click()
    expect(page.locator("p.flash")).to_contain_text("Booster booked. The patient will get a text")
    [urgent] = rows(live_server, sa.select(BoosterRequest).where(BoosterRequest.id == demo.urgent.id))
    assert urgent.status == "scheduled"
    [booked] = rows(live_server, sa.select(Infusion).where(Infusion.booster_request_id == demo.urgent.id))
    assert (booked.kind, booked.status, booked.scheduled_for.isoformat()) == (
        "booster",
        "scheduled",
        "2026-11-24T16:00:00+00:00",  # 10:00 in Chicago
    )
    texts = rows(
        live_server,
        sa.select(OutboundMessage).where(
            OutboundMessage.patient_id == demo.urgent.patient_id, OutboundMessage.purpose == "booster_scheduled"
        ),
    )
    assert [t.status for t in texts] == ["queued"]
    expect(page.locator("#booster")).to_contain_text("Booked for")
    screenshot(page, f"clinic-patient-booked-{size}")
    section_shot(page, "#booster", f"clinic-part-booked-{size}")

    # The routine request: decline it, with a reason.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Queue").click()
    row = page.locator(f'ol.queue > li[data-target="{demo.routine.id}"]')
    expect(row).to_contain_text(re.compile(r"PHQ-9 14 → 17 over 8 days, low was 6"))
    row.locator("a").click()
    decline = page.locator("#booster form", has=page.get_by_role("button", name="Decline"))
    decline.get_by_role("button", name="Decline").click()
    expect(page.locator("#booster p.error")).to_contain_text("Required")
    section_shot(page, "#booster", f"clinic-part-decline-error-{size}")
    decline = page.locator("#booster form", has=page.get_by_role("button", name="Decline"))
    decline.get_by_label("Reason").fill("Reviewed by phone: stable, recheck in a week.")
    decline.get_by_role("button", name="Decline").click()
    expect(page.locator("p.flash")).to_have_text("Booster request declined.")
    [routine] = rows(live_server, sa.select(BoosterRequest).where(BoosterRequest.id == demo.routine.id))
    assert (routine.status, routine.reason) == ("declined", "Reviewed by phone: stable, recheck in a week.")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Queue").click()
    expect(page.locator("ol.queue > li[data-kind=safety]")).to_have_count(0)
    expect(page.locator('ol.queue > li[data-kind="attention"]').first).to_contain_text("Missed check-ins")
    screenshot(page, f"clinic-queue-after-{size}")


@VIEWPORTS
def test_the_patient_list_and_a_patients_page(
    page: Page, live_server: LiveServer, demo: Demo, screenshot: Screenshot, viewport: ViewportSize
) -> None:
    size = "phone" if viewport["width"] < 720 else "desktop"
    log_in(page, live_server)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Patients").click()
    expect(page.get_by_role("heading", name=re.compile("Patients of Lakeside"))).to_be_visible()
    page.get_by_label("Sort by").select_option("latest_total")
    page.get_by_label("Order").select_option("desc")
    page.get_by_role("button", name="Show").click()
    first = page.locator("table.patients tbody tr").first
    expect(first).to_contain_text("22")
    fits(page)
    screenshot(page, f"clinic-patients-{size}")
    page.screenshot(path=str(SCREENSHOTS / f"clinic-part-patients-top-{size}.png"))  # what the screen shows first

    page.get_by_label("Name or phone").fill("Dakota")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("table.patients tbody tr")).to_have_count(1)
    page.locator("table.patients tbody tr").first.get_by_role("link").click()
    check_chart(page, live_server, demo.routine.patient_id)
    expect(page.locator("table.heat tbody tr")).to_have_count(10)  # nine items and the total
    expect(page.locator("#texts")).to_contain_text("delivered")
    fits(page)

    # The keyboard reaches the actions, and shows where it is with a dark ring.
    page.keyboard.press("Tab")
    focused = page.evaluate(
        "getComputedStyle(document.activeElement).outlineStyle + ' ' + "
        "getComputedStyle(document.activeElement).outlineWidth + ' ' + "
        "getComputedStyle(document.activeElement).outlineColor"
    )
    assert focused == f"solid 3px {INK}"
    screenshot(page, f"clinic-patient-{size}")
    expect(page.locator("#medicines")).to_contain_text("Sertraline")  # not on the clinic's list: no review
    expect(page.locator(".review-notice")).to_have_count(0)
    for part in ("outcome", "needs", "trajectory", "symptoms", "infusions", "texts"):
        section_shot(page, f"#{part}", f"clinic-part-{part}-{size}")


@pytest.mark.parametrize("viewport", [PHONE], ids=["phone"])
def test_no_staff_page_is_wider_than_a_phone(
    page: Page, live_server: LiveServer, demo: Demo, screenshot: Screenshot
) -> None:
    """At 360 px every main staff page fits: a wide table scrolls inside its own wrapper, never the page."""
    page.goto(f"{live_server.url}/login")
    page.get_by_label("Email or mobile number").fill("admin@lakeside.example")
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    paths = ["/clinic/", "/clinic/patients", f"/clinic/patients/{demo.safety_alert.patient_id}", "/clinic/calendar"]
    paths += ["/exports/outcomes", "/admin/", "/admin/staff", "/admin/settings", "/admin/audit"]
    wide = {}
    for path in paths:
        page.goto(f"{live_server.url}{path}")
        width = page.evaluate("document.documentElement.scrollWidth")
        name = path.strip("/").replace("/", "-")
        if width > PHONE["width"]:
            wide[path] = width
            screenshot(page, f"too-wide-{name}")
        elif path in ("/exports/outcomes", "/admin/audit"):  # their wide tables scroll in place
            screenshot(page, f"{name}-phone")
    assert wide == {}
