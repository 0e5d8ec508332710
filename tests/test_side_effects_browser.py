"""The patient answers the next-morning side-effect check on a phone-sized Chromium (CLINICAL.md §7): from the
link on their home page, a message beside an item left out, then the thanks; the link is gone once answered."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from browser import LiveServer
from factories import Factory
from playwright.sync_api import Page, expect

from tracker import side_effects as rules
from tracker.extensions import db
from tracker.models import Alert, SideEffectReport

pytestmark = pytest.mark.browser

Screenshot = Callable[[Page, str], Path]


def test_the_patient_answers_the_next_morning_check_on_a_phone(
    page: Page, live_server: LiveServer, screenshot: Screenshot
) -> None:
    factory = Factory(live_server.app)
    clinic = factory.clinic("Lakeside Ketamine Clinic", oncall_phone="+13125550101")
    patient = factory.patient(clinic, display_name="Sam R.")
    now = live_server.app.config["CLOCK"]()
    # Given the day before, in Chicago: the next morning's check has opened.
    infusion = factory.infusion(patient, given_at=now - timedelta(hours=23))

    page.goto(f"{live_server.url}/login")
    page.get_by_label("Email or mobile number").fill(patient.phone)
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Log in").tap()
    expect(page.get_by_role("heading", name="How are you after your visit?")).to_be_visible()
    screenshot(page, "side-effects-home")
    page.get_by_role("link", name="Answer now").tap()
    expect(page.get_by_role("heading", name="How are you after your visit?")).to_be_visible()
    size = page.viewport_size
    assert size is not None and page.evaluate("document.documentElement.scrollWidth") <= size["width"]

    # Every item but the last, then send: nothing is saved, and the message sits beside that item.
    chosen = {"dissociation": 1, "nausea": 0, "headache": 3, "dizziness": 0, "drowsiness": 2, "anxiety": 0}
    for key, level in chosen.items():
        page.locator(f"#{key} label.choice").nth(level).tap()
    page.get_by_role("button", name="Send my answers").tap()
    expect(page.locator("#urinary-error")).to_have_text("Please choose none, mild, moderate or severe.")
    screenshot(page, "side-effects-missing")
    expect(page.locator("#headache-severe")).to_be_checked()  # what was chosen is kept
    page.locator("#urinary label.choice").nth(0).tap()
    screenshot(page, "side-effects-answered")
    page.get_by_role("button", name="Send my answers").tap()

    expect(page.get_by_text("Thank you. Your answers are saved")).to_be_visible()
    expect(page.get_by_role("link", name="Answer now")).to_have_count(0)
    screenshot(page, "side-effects-thanks")
    with live_server.app.app_context():
        [report] = db.session.scalars(
            sa.select(SideEffectReport).where(SideEffectReport.infusion_id == infusion.id)
        ).all()
        assert (report.source, report.timing) == ("web", "next_morning")
        assert report.levels == {**chosen, "urinary": 0}
        [alert] = db.session.scalars(sa.select(Alert).where(Alert.patient_id == patient.id)).all()
        assert alert.cause == "severe_side_effect"
        assert list(report.levels) == list(rules.ITEM_KEYS)
