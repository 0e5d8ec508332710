"""The patient's phone asks what is due (CLINICAL.md §7, fourth bullet): the PHQ-9, then the GAD-7 the clinic's
schedule asks monthly in maintenance, on a phone-sized Chromium."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from browser import LiveServer
from factories import Factory
from playwright.sync_api import Page, expect
from test_patient_browser import answer, assert_fits_a_phone, log_in, rows

from tracker.models import CheckIn

pytestmark = pytest.mark.browser

Screenshot = Callable[[Page, str], Path]


def test_the_phone_asks_the_phq9_then_the_gad7_that_is_due(
    page: Page, live_server: LiveServer, screenshot: Screenshot
) -> None:
    factory = Factory(live_server.app)
    clinic = factory.clinic(
        "Lakeside Ketamine Clinic",
        oncall_phone="+13125550101",
        instrument_schedule={"maintenance": {"phq9": "weekly", "gad7": "monthly"}},
    )
    patient = factory.patient(clinic, phase="maintenance", display_name="Jo G.")
    factory.checkin(patient, answers=[2, 2, 2, 2, 1, 1, 1], days_ago=30, instrument="gad7")
    log_in(page, live_server, patient)
    expect(page.get_by_text("Due now: PHQ-9, then GAD-7.")).to_be_visible()
    screenshot(page, "due-home")

    page.get_by_role("link", name="Check in now").tap()
    expect(page.get_by_text("This is questionnaire 1 of 2.")).to_be_visible()
    answer(page, [1, 1, 1, 1, 0, 0, 0, 0, 0])
    page.get_by_role("button", name="Send my answers").tap()
    expect(page.get_by_role("heading", name="One more is due")).to_be_visible()
    screenshot(page, "due-phq9-result")

    page.get_by_role("link", name="Answer the GAD-7").tap()
    expect(page.get_by_role("heading", name="Check in: GAD-7")).to_be_visible()
    expect(page.locator("fieldset.question")).to_have_count(7)
    assert_fits_a_phone(page)
    answer(page, [1, 1, 1, 0, 0, 0, 0])
    page.get_by_role("button", name="Send my answers").tap()
    expect(page.get_by_text("3 of 21")).to_be_visible()
    # Compared with the last GAD-7 (11), not with the PHQ-9 just sent (4): each on its own scale.
    expect(page.get_by_text("That is 8 points lower than your last check-in")).to_be_visible()
    expect(page.get_by_role("heading", name="One more is due")).to_be_hidden()
    screenshot(page, "due-gad7-result")

    taken = rows(live_server, sa.select(CheckIn.instrument).where(CheckIn.patient_id == patient.id))
    assert sorted(taken) == ["gad7", "gad7", "phq9"]
