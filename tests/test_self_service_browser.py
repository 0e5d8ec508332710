"""The patient's own page and the clinic's calendar in Chromium, on a desktop and on a phone: the next visit with
its safety instructions, asking for a booster, reminders, the password link, the history's scales; the calendar
of booked infusions.

Screenshots go to test-artifacts/screenshots/ (README.md), named self-service-<step>-<size>.png.
"""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
import sqlalchemy as sa
from browser import SCREENSHOTS, LiveServer, fits, rows, size_of
from conftest import TEST_NOW
from factories import PASSWORD, Factory
from playwright.sync_api import Page, ViewportSize, expect

from tracker.models import BoosterRequest, Patient, SchedulerHeartbeat, User

pytestmark = pytest.mark.browser

DESKTOP = ViewportSize(width=1280, height=800)
PHONE = ViewportSize(width=390, height=844)
VIEWPORTS = pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
_serial = itertools.count(1)


def shot(page: Page, step: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"self-service-{step}-{size_of(page)}.png"), full_page=True)


def a_patient(live_server: LiveServer, name: str) -> tuple[Factory, Patient]:
    factory = Factory(live_server.app)
    clinic = factory.clinic("Lakeside Ketamine Clinic", oncall_phone="+13125550101")
    return factory, factory.patient(clinic, display_name=name, phone=f"+1312555{8000 + next(_serial):04d}")


def log_in(page: Page, live_server: LiveServer, username: str, lands: str) -> None:
    page.goto(f"{live_server.url}/login")
    page.get_by_label("Email or mobile number").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{live_server.url}{lands}")


@VIEWPORTS
def test_next_visit_and_the_password_link(page: Page, live_server: LiveServer) -> None:
    factory, patient = a_patient(live_server, "Robin Q.")
    factory.infusion(patient, kind="booster", scheduled_for=TEST_NOW + timedelta(days=3))  # Tuesday 9 AM CST
    log_in(page, live_server, patient.phone, "/me")
    visit = page.get_by_role("region", name="Your next visit")
    expect(visit).to_contain_text("Tuesday, November 24 at 9:00 AM CST")
    expect(visit).to_contain_text("Please arrange a ride home: do not drive until after a full night's sleep.")
    fits(page)
    shot(page, "home")
    page.get_by_role("link", name="Change your password").click()
    expect(page).to_have_url(f"{live_server.url}/account/password")


@VIEWPORTS
def test_ask_for_a_booster(page: Page, live_server: LiveServer) -> None:
    _, patient = a_patient(live_server, "Sam T.")
    log_in(page, live_server, patient.phone, "/me")
    page.get_by_role("link", name="Ask for a booster").click()
    page.get_by_role("button", name="Send my request").click()
    expect(page.locator("#reason-error")).to_contain_text("Please tell us in a few words what has changed")
    expect(page.get_by_label("What has changed, in your own words")).to_have_attribute("aria-invalid", "true")
    fits(page)
    shot(page, "booster-error")
    page.get_by_label("What has changed, in your own words").fill("Low days are back since the weekend.")
    page.get_by_role("button", name="Send my request").click()
    expect(page).to_have_url(f"{live_server.url}/me#booster")  # the confirmation beside the link it came from
    expect(page.locator("#booster p.flash")).to_have_text("Your clinic has your request and will be in touch.")
    expect(page.locator("p.flash")).to_have_count(1)
    [request] = rows(live_server, sa.select(BoosterRequest).where(BoosterRequest.patient_id == patient.id))
    assert (request.raised_by, request.status) == ("patient", "open")
    page.get_by_role("link", name="Your booster request").click()
    expect(page.get_by_text("You asked on Nov 21.")).to_be_visible()
    expect(page.get_by_role("button", name="Send my request")).to_have_count(0)
    shot(page, "booster-waiting")


@VIEWPORTS
def test_change_reminders_and_turn_them_off(page: Page, live_server: LiveServer) -> None:
    _, patient = a_patient(live_server, "Lee V.")
    log_in(page, live_server, patient.phone, "/me")
    page.get_by_role("link", name="Reminders: on, 10:00").click()
    expect(page.get_by_label("Text me a reminder when a check-in is due")).to_be_checked()
    page.get_by_label("At what time (your time)").fill("18:30")
    page.get_by_role("button", name="Save").click()
    expect(page).to_have_url(f"{live_server.url}/me#reminders")
    expect(page.locator("#reminders p.flash")).to_have_text("Your reminders are saved.")
    page.get_by_role("link", name="Reminders: on, 18:30").click()
    page.get_by_label("Text me a reminder when a check-in is due").uncheck()
    fits(page)
    shot(page, "reminders")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("link", name="Reminders: off")).to_be_visible()
    [row] = rows(live_server, sa.select(Patient).where(Patient.id == patient.id))
    assert (row.reminders_enabled, row.reminder_local_time.strftime("%H:%M")) == (False, "18:30")


@VIEWPORTS
def test_history_shows_each_instrument_on_its_own_scale(page: Page, live_server: LiveServer) -> None:
    factory, patient = a_patient(live_server, "Kim W.")
    factory.checkin(patient, total=12, days_ago=1)
    factory.checkin(patient, total=12, days_ago=2, instrument="gad7")
    log_in(page, live_server, patient.phone, "/me")
    page.get_by_role("link", name="Your check-ins").click()
    expect(page.locator(".history li").nth(0)).to_contain_text("PHQ-9 12 of 27: moderate symptoms")
    expect(page.locator(".history li").nth(1)).to_contain_text("GAD-7 12 of 21: moderate symptoms")
    page.get_by_text("What the scores mean").click()
    expect(page.locator(".scale").nth(1)).to_contain_text("GAD-7, 0 to 21")
    fits(page)
    shot(page, "history")


@VIEWPORTS
def test_clinic_calendar(page: Page, live_server: LiveServer) -> None:
    factory = Factory(live_server.app)
    with factory.session() as s:
        s.merge(SchedulerHeartbeat(name="live:self-service", beat_at=TEST_NOW, started_at=TEST_NOW))
    clinic = factory.clinic("Calendar Clinic")
    staff: User = factory.user(clinic)
    ann = factory.patient(clinic, display_name="Ann Ames")
    ben = factory.patient(clinic, display_name="Ben Bell")
    factory.infusion(ann, scheduled_for=TEST_NOW + timedelta(hours=5), ride_home_confirmed=True)
    factory.infusion(ben, kind="booster", scheduled_for=TEST_NOW + timedelta(days=4, hours=1))
    log_in(page, live_server, staff.email or "", "/clinic/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Calendar").click()
    expect(page.get_by_role("heading", name="Booked infusions: the next two weeks")).to_be_visible()
    expect(page.locator(".calendar > li")).to_have_count(14)
    today = page.locator(".calendar > li").nth(0)
    expect(today).to_contain_text("Saturday, Nov 21 (today)")
    expect(today).to_contain_text("2:00 PM CST")
    expect(today).to_contain_text("Ride home confirmed")
    wednesday = page.locator(".calendar > li").nth(4)
    expect(wednesday).to_contain_text("Ben Bell")
    expect(wednesday).to_contain_text("Not yet: ride home not confirmed")
    fits(page)
    shot(page, "calendar")
    wednesday.get_by_role("link", name="Ben Bell").click()
    expect(page).to_have_url(f"{live_server.url}/clinic/patients/{ben.id}")
