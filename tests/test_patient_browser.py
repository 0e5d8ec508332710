"""A patient checks in on a phone-sized Chromium: log in, tap the answers, read the result or the crisis page."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
import sqlalchemy as sa
from browser import LiveServer, rows
from factories import Factory
from playwright.sync_api import Page, expect

from tracker.models import Alert, CheckIn, OutboundMessage, Patient

pytestmark = pytest.mark.browser

ONCALL = "+13125550101"
Screenshot = Callable[[Page, str], Path]


def new_patient(live_server: LiveServer, name: str) -> Patient:
    factory = Factory(live_server.app)
    clinic = factory.clinic("Lakeside Ketamine Clinic", oncall_phone=ONCALL)
    return factory.patient(clinic, display_name=name)


def log_in(page: Page, live_server: LiveServer, patient: Patient, screenshot: Screenshot | None = None) -> None:
    page.goto(f"{live_server.url}/login")
    if screenshot:
        screenshot(page, "login")
    page.get_by_label("Email or mobile number").fill(patient.phone)
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Log in").tap()
    expect(page).to_have_url(f"{live_server.url}/me")
    expect(page.get_by_role("heading", name=f"Hello, {patient.display_name}")).to_be_visible()


def answer(page: Page, answers: Sequence[int | None]) -> None:
    """Tap the label of each chosen answer, as a thumb would."""
    for number, value in enumerate(answers, start=1):
        if value is not None:
            page.locator(f"#item{number} label.choice").nth(value).tap()


def assert_fits_a_phone(page: Page) -> None:
    """Nothing scrolls sideways at 360 px, and every answer is a large target."""
    size = page.viewport_size
    assert size is not None and page.evaluate("document.documentElement.scrollWidth") <= size["width"]
    for box in [label.bounding_box() for label in page.locator("label.choice").all()]:
        assert box is not None and box["height"] >= 48 and box["width"] >= 280


def test_patient_answers_the_phq9_and_reads_the_result(
    page: Page, live_server: LiveServer, screenshot: Screenshot
) -> None:
    patient = new_patient(live_server, "Robin Q.")
    factory = Factory(live_server.app)
    for days_ago, total in [(35, 18), (28, 15), (21, 9), (14, 6), (7, 8)]:
        factory.checkin(patient, total=total, days_ago=days_ago)
    log_in(page, live_server, patient, screenshot)
    screenshot(page, "home")
    page.get_by_role("link", name="Check in now").tap()
    expect(page.get_by_role("heading", name="Check in")).to_be_visible()
    assert_fits_a_phone(page)
    screenshot(page, "checkin")

    # The keyboard works too, and shows where it is.
    page.locator("#item1-0").focus()
    page.keyboard.press("ArrowDown")
    expect(page.locator("#item1-1")).to_be_checked()
    focused = page.locator("label[for=item1-1]")
    assert (
        focused.evaluate("label => getComputedStyle(label).outlineStyle + ' ' + getComputedStyle(label).outlineWidth")
        == "solid 3px"
    )

    answer(page, [2, 2, 2, 2, 1, 1, 1, 1, 0])
    page.locator("#difficulty label.choice").nth(1).tap()
    expect(
        page.get_by_role("group", name=re.compile("Little interest")).get_by_label("More than half the days")
    ).to_be_checked()
    page.get_by_role("button", name="Send my answers").tap()

    expect(page).to_have_url(re.compile(r"/me/checkins/[0-9a-f-]{36}$"))
    expect(page.locator("p.score")).to_have_text("Your score is 12 of 27: moderate symptoms.")
    expect(page.locator("p.change")).to_contain_text("4 points higher than your last check-in (8 on Nov 14)")
    expect(page.get_by_role("img", name=re.compile("Your last 6 scores"))).to_be_visible()
    screenshot(page, "result")
    [stored] = rows(live_server, sa.select(CheckIn).where(CheckIn.patient_id == patient.id, CheckIn.source == "web"))
    assert (stored.total, stored.difficulty) == (12, 1)

    page.get_by_role("link", name="All your check-ins").tap()
    expect(page.locator("ol.history li")).to_have_count(6)
    expect(page.locator("ol.history li").first).to_contain_text("12 of 27: moderate symptoms")
    screenshot(page, "history")


def test_an_unanswered_question_comes_back_with_the_other_answers(
    page: Page, live_server: LiveServer, screenshot: Screenshot
) -> None:
    patient = new_patient(live_server, "Sam P.")
    log_in(page, live_server, patient)
    page.goto(f"{live_server.url}/me/checkin")
    answer(page, [1, 1, 1, None, 1, 1, 1, 1, 0])
    page.get_by_role("button", name="Send my answers").tap()

    question = page.locator("#item4")
    expect(question.locator("p.error")).to_have_text("Please choose an answer to this question.")
    expect(page.get_by_role("alert")).to_contain_text("Question 4 needs an answer")
    for number in (1, 2, 3, 5, 6, 7, 8):
        expect(page.locator(f"#item{number}-1")).to_be_checked()
    expect(page.locator("#item9-0")).to_be_checked()
    screenshot(page, "checkin-error")
    assert rows(live_server, sa.select(CheckIn).where(CheckIn.patient_id == patient.id)) == []

    question.locator("label.choice").nth(0).tap()
    page.get_by_role("button", name="Send my answers").tap()
    expect(page.locator("p.score")).to_have_text("Your score is 7 of 27: mild symptoms.")


def test_item_9_lands_on_the_crisis_page_and_alerts_the_clinic(
    page: Page, live_server: LiveServer, screenshot: Screenshot
) -> None:
    patient = new_patient(live_server, "Alex T.")
    log_in(page, live_server, patient)
    page.get_by_role("link", name="Check in now").tap()
    answer(page, [1, 1, 1, 1, 0, 0, 0, 0, 2])
    page.get_by_role("button", name="Send my answers").tap()

    expect(page).to_have_url(re.compile(r"/me/checkins/[0-9a-f-]{36}/safety$"))
    expect(page.get_by_role("heading", name="Help is available now")).to_be_visible()
    expect(page.get_by_role("link", name="Call 988")).to_have_attribute("href", "tel:988")
    expect(page.get_by_role("link", name="Text 988")).to_have_attribute("href", "sms:988")
    expect(page.get_by_role("link", name="Call 911")).to_have_attribute("href", "tel:911")
    expect(page.get_by_text("We are letting Lakeside Ketamine Clinic know")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    screenshot(page, "safety")

    [alert] = rows(live_server, sa.select(Alert).where(Alert.patient_id == patient.id))
    assert (alert.kind, alert.status) == ("safety", "open")
    [message] = rows(live_server, sa.select(OutboundMessage).where(OutboundMessage.patient_id == patient.id))
    assert (message.to_phone, message.purpose) == (ONCALL, "safety_oncall")

    page.get_by_role("link", name="See your check-in result").tap()
    expect(page.locator("p.score")).to_have_text("Your score is 6 of 27: mild symptoms.")
    screenshot(page, "result-item9")
