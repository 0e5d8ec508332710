"""The queue and a patient's page in Chromium, desktop and phone: the queue reloads itself, the high-risk flag shows,
the open safety alert comes first on a phone, and a confirmation appears where the page lands."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from browser import PHONE, LiveServer
from conftest import TEST_NOW
from factories import PASSWORD, Factory
from playwright.sync_api import Page, ViewportSize, expect

from tracker.models import Alert, Patient, User
from tracker.services.alerts import writes as alerts

pytestmark = pytest.mark.browser

Screenshot = Callable[[Page, str], Path]
DESKTOP = ViewportSize(width=1280, height=900)
VIEWPORTS = pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
_serial = itertools.count(1)


@dataclass(frozen=True)
class Clinic:
    email: str
    at_risk: Patient  # resolved at high risk: flagged
    waiting: Patient  # an open safety alert
    alert: Alert


def _safety_alert(factory: Factory, patient: Patient) -> Alert:
    raised = TEST_NOW - timedelta(minutes=8)
    row = Alert(
        patient_id=patient.id,
        clinic_id=patient.clinic_id,
        kind="safety",
        cause="safety",
        reason="PHQ-9 item 9 answered above 0",
        raised_at=raised,
        deadline=raised + timedelta(minutes=30),
    )
    with factory.session() as s:
        s.add(row)
    return row


@pytest.fixture
def clinic(live_server: LiveServer) -> Clinic:
    """A clinic of its own in the live database: one patient flagged, one with an open safety alert."""
    n = next(_serial)
    factory = Factory(live_server.app)
    place = factory.clinic(f"Riverside {n}")
    email = f"sam.lee.{n}@riverside.example"
    doctor = factory.user(place, email=email)
    with factory.session() as s:
        s.get(User, doctor.id).display_name = "Dr Sam Lee"  # type: ignore[union-attr]
    at_risk = factory.patient(place, display_name="Rae Hill")
    factory.checkin(at_risk, total=9, taken_at=TEST_NOW - timedelta(days=3))
    earlier = _safety_alert(factory, at_risk)
    with factory.session() as s:
        alerts.resolve(
            s.get(Alert, earlier.id),  # type: ignore[arg-type]
            s.get(User, doctor.id),  # type: ignore[arg-type]
            "high",
            "Called",
            screener_not_done="Assessed in the emergency department",
        )
    waiting = factory.patient(place, display_name="Hayden Park")
    for days, total in ((20, 8), (13, 10), (6, 12), (0, 15)):
        factory.checkin(waiting, total=total, taken_at=TEST_NOW - timedelta(days=days, hours=1))
    return Clinic(email, at_risk, waiting, _safety_alert(factory, waiting))


def log_in(page: Page, live_server: LiveServer, email: str) -> None:
    page.goto(f"{live_server.url}/login")
    page.get_by_label("Email or mobile number").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{live_server.url}/clinic/")


def size_of(page: Page) -> str:
    size = page.viewport_size
    return "phone" if size is not None and size["width"] < 720 else "desktop"


@VIEWPORTS
def test_the_queue_reloads_itself_and_shows_the_flag(
    page: Page, live_server: LiveServer, clinic: Clinic, screenshot: Screenshot
) -> None:
    log_in(page, live_server, clinic.email)
    refresh = page.locator('meta[http-equiv="refresh"]')
    expect(refresh).to_have_attribute("content", "60")
    flagged = page.get_by_role("region", name="High risk at last safety follow-up")
    expect(flagged.get_by_role("link", name="Rae Hill")).to_be_visible()
    expect(page.locator(".queue-item.safety").filter(has_text="Hayden Park")).to_be_visible()
    screenshot(page, f"queue-refresh-and-flag-{size_of(page)}")
    page.get_by_role("link", name="Patients", exact=True).first.click()
    expect(page.get_by_role("row").filter(has_text="Rae Hill")).to_contain_text("high risk at last safety follow-up")
    expect(page.locator('meta[http-equiv="refresh"]')).to_have_count(0)
    size = page.viewport_size
    assert size is not None and page.evaluate("document.documentElement.scrollWidth") <= size["width"]
    screenshot(page, f"patients-flag-{size_of(page)}")


@VIEWPORTS
def test_safety_first_and_the_confirmation_where_the_page_lands(
    page: Page, live_server: LiveServer, clinic: Clinic, screenshot: Screenshot
) -> None:
    log_in(page, live_server, clinic.email)
    page.locator(".queue-item.safety").filter(has_text="Hayden Park").get_by_role("link").click()
    card = page.locator(f"#alert-{clinic.alert.id}")
    expect(card).to_be_visible()
    chart = page.locator("#trajectory")
    card_box, chart_box = card.bounding_box(), chart.bounding_box()
    assert card_box is not None and chart_box is not None
    assert card_box["y"] < chart_box["y"]
    if size_of(page) == "phone":
        # On a phone the alert is the first thing after the name: above the figures, within the first screen.
        outcome = page.locator("#outcome").bounding_box()
        assert outcome is not None and card_box["y"] < outcome["y"]
        assert card_box["y"] < PHONE["height"]
    screenshot(page, f"patient-safety-first-{size_of(page)}")

    card.get_by_role("button", name="Acknowledge: I am on it").click()
    expect(page).to_have_url(f"{live_server.url}/clinic/patients/{clinic.waiting.id}#alert-{clinic.alert.id}")
    confirmation = card.locator(".landed")
    expect(confirmation).to_have_text("Alert acknowledged: resolve it once followed up.")
    expect(confirmation).to_be_in_viewport()
    expect(page.locator("main > .flash")).to_have_count(0)  # not at the top of the page as well
    screenshot(page, f"patient-acknowledged-landing-{size_of(page)}")

    # The screener answered: the page sent back lands on the suggested level, below the six questions.
    prefix = f"resolve-{str(clinic.alert.id)[:8]}"
    for key, value in (("wish_dead", "yes"), ("thoughts", "no"), ("behavior", "no")):
        card.locator(f'input[name="{prefix}-{key}"][value="{value}"]').check()
    card.get_by_role("button", name="Resolve").click()
    suggestion = page.locator(f"#alert-{clinic.alert.id} .confirm-box")
    expect(suggestion).to_contain_text("The screener suggests: low risk.")
    expect(suggestion).to_be_in_viewport()
    screenshot(page, f"patient-screener-suggestion-{size_of(page)}")

    page.goto(f"{live_server.url}/clinic/patients/{clinic.at_risk.id}")
    expect(page.locator("#flag")).to_contain_text("High risk at last safety follow-up")
    page.get_by_role("button", name="Clear the flag").click()  # no reason yet: refused beside the field
    expect(page.locator("#flag-reason-error")).to_contain_text("say why the high risk has passed")
    expect(page.locator("#flag")).to_contain_text("High risk at last safety follow-up")
    page.get_by_label("Why has the high risk passed?").fill("Seen in clinic today")
    page.get_by_role("button", name="Clear the flag").click()
    expect(page.locator("#flag .landed")).to_have_text("High-risk flag cleared: Seen in clinic today")
    expect(page.locator("#flag .landed")).to_be_in_viewport()
    expect(page.locator("#flag")).not_to_contain_text("High risk at last safety follow-up")
