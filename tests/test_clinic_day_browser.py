"""A clinic day in Chromium, on a desktop and on a phone: enrol a patient, enter a check-in taken in clinic, raise a
booster request, record a booked visit as given through the whole visit form (confirming an unusual dose), correct
a given infusion with a reason, and move then cancel a booked one.

Screenshots of each step go to test-artifacts/screenshots/ (README.md), named clinic-day-<step>-<size>.png.
"""

from __future__ import annotations

import itertools
import re
from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from browser import SCREENSHOTS, LiveServer, fits, rows, size_of
from conftest import TEST_NOW
from factories import PASSWORD, Factory
from playwright.sync_api import Page, ViewportSize, expect

from tracker.models import (
    AuditEvent,
    BoosterRequest,
    CheckIn,
    Clinic,
    Infusion,
    OutboundMessage,
    Patient,
    SchedulerHeartbeat,
    User,
)

pytestmark = pytest.mark.browser

DESKTOP = ViewportSize(width=1280, height=800)
PHONE = ViewportSize(width=390, height=844)
VIEWPORTS = pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
_serial = itertools.count(1)


def shot(page: Page, step: str) -> None:
    """The whole page as it stands, for a person to look at."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"clinic-day-{step}-{size_of(page)}.png"), full_page=True)


def view_shot(page: Page, step: str) -> None:
    """What the screen shows where the page landed."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"clinic-day-{step}-{size_of(page)}.png"))


def a_clinic(live_server: LiveServer) -> tuple[Factory, Clinic, User]:
    """A clinic that can enrol (it has an on-call phone), a clinician of it, and a scheduler that has just beaten
    (so the pages show no banner)."""
    factory = Factory(live_server.app)
    with factory.session() as s:
        s.merge(SchedulerHeartbeat(name="live:clinic-day", beat_at=TEST_NOW, started_at=TEST_NOW))
    clinic = factory.clinic("Lakeside Ketamine Clinic", oncall_phone="+13125550101")
    return factory, clinic, factory.user(clinic)


def log_in(page: Page, live_server: LiveServer, staff: User) -> None:
    page.goto(f"{live_server.url}/login")
    page.get_by_label("Email or mobile number").fill(staff.email or "")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{live_server.url}/clinic/")


def open_patient(page: Page, live_server: LiveServer, patient: Patient) -> None:
    page.goto(f"{live_server.url}/clinic/patients/{patient.id}")
    expect(page.get_by_role("heading", name=patient.display_name, exact=True)).to_be_visible()


@VIEWPORTS
def test_enrol_a_patient(page: Page, live_server: LiveServer) -> None:
    _, clinic, staff = a_clinic(live_server)
    log_in(page, live_server, staff)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Patients").click()
    page.get_by_role("link", name="Enrol a patient").click()
    expect(page.get_by_role("heading", name="Enrol a patient")).to_be_visible()
    expect(page.get_by_label("Patient's time zone")).to_have_value("America/Chicago")
    page.get_by_label("Mobile number").fill("555")
    page.get_by_role("button", name="Enrol and send the invitation").click()
    expect(page.locator("#display_name-error")).to_have_text("Enter a name of 1 to 120 characters.")
    expect(page.locator("#phone-error")).to_contain_text("That is not a valid mobile number")
    expect(page.get_by_label("Mobile number")).to_have_attribute("aria-invalid", "true")
    fits(page)
    shot(page, "enrol-errors")

    phone = f"+1312555{7000 + next(_serial):04d}"
    page.get_by_label("Name as the clinic shows it").fill("Hayden P.")
    page.get_by_label("Mobile number").fill(phone)
    page.get_by_label("Phase").select_option("induction")
    page.get_by_role("button", name="Enrol and send the invitation").click()
    expect(page.locator("p.flash")).to_contain_text("Hayden P. is enrolled. The invitation text is on its way")
    expect(page.get_by_role("heading", name="Hayden P.", exact=True)).to_be_visible()
    [patient] = rows(live_server, sa.select(Patient).where(Patient.clinic_id == clinic.id))
    [text] = rows(live_server, sa.select(OutboundMessage).where(OutboundMessage.patient_id == patient.id))
    assert (patient.phone, patient.phase, text.purpose) == (phone, "induction", "invitation")
    assert "/invite/" not in page.content()  # the link is the patient's alone
    fits(page)
    view_shot(page, "enrolled")


@VIEWPORTS
def test_enter_a_checkin_taken_in_clinic(page: Page, live_server: LiveServer) -> None:
    factory, clinic, staff = a_clinic(live_server)
    patient = factory.patient(clinic, display_name="Robin K.")
    log_in(page, live_server, staff)
    open_patient(page, live_server, patient)
    page.get_by_role("link", name="Enter a check-in taken in clinic").click()
    expect(page.get_by_role("heading", name="PHQ-9 taken in clinic")).to_be_visible()
    expect(page.get_by_label("Taken at")).to_have_value("2026-11-21T09:00")
    for number in range(1, 9):  # question 9 left out
        page.locator(f"#item{number}").get_by_text("Several days", exact=True).click()
    page.get_by_label("Taken at").fill("2026-11-21T08:20")
    page.get_by_role("button", name="Save the PHQ-9").click()
    expect(page.locator("#item9-error")).to_have_text("Choose an answer to this question.")
    expect(page.locator("#item1").get_by_label("Several days")).to_be_checked()  # what was chosen stays
    fits(page)
    shot(page, "checkin-error")

    page.locator("#item9").get_by_text("Not at all", exact=True).click()
    page.get_by_role("button", name="Save the PHQ-9").click()
    expect(page.locator("p.flash")).to_have_text("PHQ-9 8 saved, taken Nov 21, 2026, 8:20 AM CST.")
    [checkin] = rows(live_server, sa.select(CheckIn).where(CheckIn.patient_id == patient.id))
    assert (checkin.source, checkin.total, checkin.taken_at) == ("clinic", 8, TEST_NOW - timedelta(minutes=40))
    expect(page.locator("svg.trajectory circle.point[data-checkin]")).to_have_count(1)
    fits(page)
    view_shot(page, "checkin-saved")


@VIEWPORTS
def test_raise_a_booster_request(page: Page, live_server: LiveServer) -> None:
    factory, clinic, staff = a_clinic(live_server)
    patient = factory.patient(clinic, display_name="Sam T.")
    log_in(page, live_server, staff)
    open_patient(page, live_server, patient)
    page.get_by_role("link", name="Raise a booster request").click()
    box = page.locator("#raise-booster")
    expect(box).to_have_attribute("open", "")  # the link opens the form it points into
    box.get_by_role("button", name="Raise request").click()
    expect(page.locator("#raise-reason-error")).to_have_text("Required")
    expect(page.locator("#raise-booster")).to_be_in_viewport()
    view_shot(page, "booster-error")
    page.locator("#raise-booster").get_by_label("Why a booster now").fill("Low mood for a week, said at the visit.")
    page.locator("#raise-booster").get_by_role("button", name="Raise request").click()
    expect(page.locator("p.flash")).to_have_text("Booster request raised: decide on it here.")
    card = page.locator("#booster")
    expect(card).to_be_in_viewport()
    expect(card).to_contain_text("Raised just now by a clinician")
    [request] = rows(live_server, sa.select(BoosterRequest).where(BoosterRequest.patient_id == patient.id))
    assert (request.raised_by, request.patient_reason) == ("clinician", "Low mood for a week, said at the visit.")
    fits(page)
    view_shot(page, "booster-raised")


@VIEWPORTS
def test_record_a_booked_visit_as_given_confirming_an_unusual_dose(page: Page, live_server: LiveServer) -> None:
    factory, clinic, staff = a_clinic(live_server)
    patient = factory.patient(clinic, display_name="Jordan M.", phase="maintenance")
    factory.infusion(patient, "maintenance", given_at=TEST_NOW - timedelta(days=14), weight_kg=Decimal("72.5"))
    booked = factory.infusion(patient, "maintenance", scheduled_for=TEST_NOW - timedelta(minutes=60))
    log_in(page, live_server, staff)
    open_patient(page, live_server, patient)
    page.locator(f'tr[data-infusion="{booked.id}"]').get_by_role("link", name="Record as given…").click()
    expect(page.get_by_role("heading", name="Record the visit")).to_be_visible()
    assert rows(live_server, sa.select(Infusion.status).where(Infusion.id == booked.id)) == ["scheduled"]
    # Filled in, for the clinician to check: the usual dose and duration, the weight of the last visit, now.
    expect(page.get_by_label("Dose (mg/kg)")).to_have_value("0.500")
    expect(page.get_by_label("Weight (kg)")).to_have_value("72.5")
    expect(page.get_by_label("Duration (min)")).to_have_value("40")
    expect(page.get_by_label("Date and time")).to_have_value("2026-11-21T09:00")
    fits(page)
    shot(page, "visit-form")

    page.get_by_label("Date and time").fill("2026-11-21T08:10")
    page.get_by_label("Dose (mg/kg)").fill("0.9")
    page.get_by_label("Blood pressure before", exact=True).fill("132/84")
    page.get_by_label("Blood pressure at about 40 min").fill("138/88")  # under the 140/90 caution (CLINICAL.md §7)
    page.get_by_label("Observed for (min)").fill("120")
    page.get_by_label("Ride home confirmed").select_option("yes")
    page.get_by_label("Clinical notes").fill("Mild dissociation, settled by 30 minutes.")
    page.get_by_role("button", name="Record as given").click()
    expect(page.locator(".confirm-box")).to_contain_text("Not saved yet: please confirm.")
    expect(page.locator("#dose_mg_per_kg-warning")).to_have_text("Check: Outside the usual 0.1–0.75 mg/kg")
    expect(page.locator("#observed_min-warning")).to_have_count(0)  # 120 minutes is the usual observation
    assert rows(live_server, sa.select(Infusion.status).where(Infusion.id == booked.id)) == ["scheduled"]
    fits(page)
    shot(page, "visit-confirm")

    page.get_by_role("button", name="Save with these values").click()
    expect(page).to_have_url(re.compile(rf"/clinic/patients/{patient.id}#infusion-{booked.id}$"))
    checks = page.locator(f'[data-infusion-more="{booked.id}"] .infusion-checks')
    expect(checks).to_have_text("Check: Dose outside the usual 0.1–0.75 mg/kg")
    expect(checks).to_be_in_viewport()  # beside the infusion, where the page lands
    expect(page.locator(f'[data-infusion-more="{booked.id}"] .infusion-notes')).to_contain_text("Mild dissociation")
    [row] = rows(live_server, sa.select(Infusion).where(Infusion.id == booked.id))
    assert (row.status, row.dose_mg_per_kg, row.total_mg, row.bp_during_systolic) == (
        "given",
        Decimal("0.9"),
        Decimal("65.3"),
        138,
    )
    assert row.given_at == TEST_NOW - timedelta(minutes=50)
    fits(page)
    view_shot(page, "visit-saved")


@VIEWPORTS
def test_correct_a_given_infusion_with_a_reason(page: Page, live_server: LiveServer) -> None:
    factory, clinic, staff = a_clinic(live_server)
    patient = factory.patient(clinic, display_name="Alex W.", phase="maintenance")
    given = factory.infusion(
        patient, "maintenance", given_at=TEST_NOW - timedelta(hours=4), weight_kg=Decimal("80"), observed_min=130
    )
    log_in(page, live_server, staff)
    open_patient(page, live_server, patient)
    page.locator(f'tr[data-infusion="{given.id}"]').get_by_role("link", name="Correct…").click()
    expect(page.get_by_role("heading", name="Correct the record")).to_be_visible()
    expect(page.get_by_label("Weight (kg)")).to_have_value("80.0")
    page.get_by_label("Weight (kg)").fill("78")
    page.get_by_role("button", name="Save the correction").click()
    expect(page.locator("#reason-error")).to_have_text("Say why the record of a given infusion is corrected")
    fits(page)
    shot(page, "correct-error")
    page.get_by_label("Why it is corrected").fill("Scale was not zeroed; weighed again.")
    page.get_by_role("button", name="Save the correction").click()
    expect(page.locator("p.flash")).to_have_text("Infusion record corrected.")
    expect(page.locator(f'tr[data-infusion="{given.id}"]')).to_be_in_viewport()
    corrected = page.locator(f'[data-infusion-more="{given.id}"] .infusion-corrected')
    expect(corrected).to_contain_text("Scale was not zeroed; weighed again.")
    expect(corrected).to_be_in_viewport()
    [row] = rows(live_server, sa.select(Infusion).where(Infusion.id == given.id))
    assert (row.weight_kg, row.given_at) == (Decimal("78"), given.given_at)
    [event] = rows(
        live_server,
        sa.select(AuditEvent).where(AuditEvent.target_id == str(given.id), AuditEvent.action == "infusion.update"),
    )
    assert event.detail["reason"] == "Scale was not zeroed; weighed again."
    assert event.detail["before"]["weight_kg"] == "80.0"
    fits(page)
    view_shot(page, "corrected")


@VIEWPORTS
def test_move_then_cancel_a_booked_infusion(page: Page, live_server: LiveServer) -> None:
    factory, clinic, staff = a_clinic(live_server)
    patient = factory.patient(clinic, display_name="Casey D.", phase="maintenance")
    booked = factory.infusion(patient, "maintenance", scheduled_for=TEST_NOW + timedelta(days=3))
    log_in(page, live_server, staff)
    open_patient(page, live_server, patient)
    page.locator(f'tr[data-infusion="{booked.id}"]').get_by_role("link", name="Move or cancel…").click()
    expect(page.get_by_role("heading", name="Move or cancel the booked infusion")).to_be_visible()
    expect(page.get_by_label("New date and time")).to_have_value("2026-11-24T09:00")
    fits(page)
    shot(page, "move-form")
    page.get_by_label("New date and time").fill("2026-11-26T13:30")
    page.get_by_role("button", name="Move the infusion").click()
    expect(page.locator("p.flash")).to_have_text("Infusion moved to Nov 26, 2026, 1:30 PM CST.")
    [row] = rows(live_server, sa.select(Infusion).where(Infusion.id == booked.id))
    assert row.scheduled_for == TEST_NOW + timedelta(days=5, hours=4, minutes=30)

    page.locator(f'tr[data-infusion="{booked.id}"]').get_by_role("link", name="Move or cancel…").click()
    page.get_by_label("Reason", exact=True).fill("Patient is travelling.")
    page.get_by_role("button", name="Cancel the infusion").click()
    expect(page.locator("p.flash")).to_have_text("Booked infusion cancelled.")
    expect(page.locator(f'tr[data-infusion="{booked.id}"]')).to_contain_text("cancelled")
    expect(page.locator(f'tr[data-infusion="{booked.id}"] a')).to_have_count(0)  # nothing left to do with it
    [row] = rows(live_server, sa.select(Infusion).where(Infusion.id == booked.id))
    assert row.status == "cancelled"
    fits(page)
    view_shot(page, "cancelled")
