"""The printed summary in Chromium: opened from the patient's page of the demo's busiest patient, and printed to
PDF (page.pdf, the browser's own print with the print stylesheet) on one A4 and one Letter page.

The module empties the live server's database once and builds the demo in it, as test_dashboard_browser does.
Screenshots: print-summary-screen.png (the page as the screen shows it) and print-summary-print.png (the print
stylesheet applied).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from browser import SCREENSHOTS, LiveServer
from conftest import TEST_NOW
from playwright.sync_api import Page, ViewportSize, expect

from tracker.demo import DEMO_PASSWORD, build_demo
from tracker.extensions import db
from tracker.models import Base, CheckIn, Infusion, Patient, SchedulerHeartbeat
from tracker.unit_of_work import transaction

pytestmark = pytest.mark.browser

Screenshot = Callable[[Page, str], Path]
DESKTOP = ViewportSize(width=1280, height=900)
A4_PRINTABLE = ViewportSize(width=703, height=1031)
# A PDF's page objects: "/Type /Page" but not "/Type /Pages" (the tree that holds them).
PDF_PAGE = re.compile(rb"/Type\s*/Page(?![a-zA-Z])")


@pytest.fixture
def viewport() -> ViewportSize:
    return DESKTOP


@pytest.fixture(scope="module")
def busiest(live_server: LiveServer) -> tuple[Any, str]:
    """The demo alone in the live database; its patient with the most check-ins and infusions (id, name)."""
    with live_server.app.app_context():
        with transaction(db.session):
            for table in reversed(Base.metadata.sorted_tables):
                db.session.execute(table.delete())
            build_demo()
            db.session.add(SchedulerHeartbeat(name="live:print", beat_at=TEST_NOW, started_at=TEST_NOW))
        records = (
            sa.select(sa.func.count()).select_from(CheckIn).where(CheckIn.patient_id == Patient.id).scalar_subquery()
            + sa.select(sa.func.count())
            .select_from(Infusion)
            .where(Infusion.patient_id == Patient.id)
            .scalar_subquery()
        )
        row = db.session.execute(sa.select(Patient.id, Patient.display_name).order_by(records.desc()).limit(1)).one()
        return row.id, row.display_name


def pages_of(pdf: bytes) -> int:
    return len(PDF_PAGE.findall(pdf))


def test_the_busiest_patients_summary_prints_on_one_page(
    page: Page, live_server: LiveServer, busiest: tuple[Any, str], screenshot: Screenshot
) -> None:
    patient_id, name = busiest
    page.goto(f"{live_server.url}/login")
    page.get_by_label("Email or mobile number").fill("clinician@lakeside.example")
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{live_server.url}/clinic/patients/{patient_id}")
    page.get_by_role("link", name="Print summary").click()

    expect(page).to_have_url(f"{live_server.url}/clinic/patients/{patient_id}/summary")
    expect(page.get_by_role("heading", name=name, exact=True)).to_be_visible()
    expect(page.get_by_text("Lakeside Ketamine Clinic ·")).to_be_visible()
    expect(page.locator("svg.trajectory circle.point[data-checkin]").first).to_be_visible()
    expect(page.locator("table.summary-infusions tbody tr")).not_to_have_count(0)
    screenshot(page, "print-summary-screen")

    for paper in ("A4", "Letter"):
        pdf = page.pdf(format=paper, print_background=True)
        assert pdf.startswith(b"%PDF")
        assert pages_of(pdf) == 1, f"{paper}: {pages_of(pdf)} pages"

    # The print layout at an A4 page's printable width (210 mm less 12 mm margins, at 96 px an inch).
    page.set_viewport_size(A4_PRINTABLE)
    page.emulate_media(media="print")
    expect(page.get_by_role("navigation", name="Main")).to_be_hidden()
    expect(page.get_by_role("button", name="Log out")).to_be_hidden()
    expect(page.get_by_text("Print this page with your browser")).to_be_hidden()
    expect(page.locator("svg.trajectory")).to_be_visible()
    color = page.locator("h1").evaluate("e => getComputedStyle(e).color")
    assert color == "rgb(0, 0, 0)"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "print-summary-print.png"), full_page=True)


def test_a_pdf_page_count_is_read_from_the_page_objects() -> None:
    # The counter above must tell one page from two, and the page tree from a page.
    one = b"<< /Type /Pages /Count 1 >> << /Type /Page /Parent 2 0 R >>"
    two = one + b" << /Type/Page >>"
    assert (pages_of(one), pages_of(two)) == (1, 2)
