"""A long unbroken word (a medicine's name, a note) wraps on the patient's page instead of widening it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from browser import LiveServer, fits
from factories import PASSWORD, Factory
from playwright.sync_api import Page, expect

from tracker.models import PatientMedicine

pytestmark = pytest.mark.browser


def test_a_long_medicine_name_wraps_on_a_phone(
    page: Page, live_server: LiveServer, screenshot: Callable[[Page, str], Path]
) -> None:
    factory = Factory(live_server.app)
    clinic = factory.clinic()
    patient = factory.patient(clinic, display_name="Wren Long")
    factory.user(clinic, email="wrap@example.org")
    long_name = "x" * 100
    with factory.session() as s:
        s.add(PatientMedicine(patient_id=patient.id, clinic_id=clinic.id, name=long_name, dose="1 " + "y" * 99))
    page.goto(f"{live_server.url}/login")
    page.get_by_label("Email or mobile number").fill("wrap@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{live_server.url}/clinic/")  # logged in before the next page is asked for
    page.goto(f"{live_server.url}/clinic/patients/{patient.id}")
    expect(page.get_by_text(long_name).first).to_be_visible()
    screenshot(page, "long-medicine-name")
    fits(page)
