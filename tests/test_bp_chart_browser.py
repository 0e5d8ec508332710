"""The blood pressure chart in Chromium at a phone's 360 px and on a desktop, with the clinic's hold at 150/95:
no label of a threshold line covers another or the today mark, as drawn (CLINICAL.md §7); also with the hold at
150/110 (the systolic hold near caution, the diastolic at its default).

Screenshots go to test-artifacts/screenshots/bp-chart-labels-<size>-<hold>.png.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from browser import LiveServer
from conftest import TEST_NOW
from factories import PASSWORD, Factory
from playwright.sync_api import Page, ViewportSize, expect

pytestmark = pytest.mark.browser

# Each label's and the today mark's box as drawn, in CSS pixels.
BOXES = """() => [...document.querySelectorAll(
    'figure[data-chart="blood-pressure"] .bp-rule-label, figure[data-chart="blood-pressure"] .now-label')]
    .map(e => { const r = e.getBoundingClientRect();
        return [e.getAttribute('class'), r.left, r.top, r.right, r.bottom]; })"""


# A hold a few mmHg above caution on both lines, over three visits; and one close on the systolic with the default
# diastolic hold, over a course dense enough that every place beside the lines has a point near it.
SPARSE = ((40, 138, 92), (12, 146, 92), (1, 152, 92))
DENSE = tuple((days, (128, 138, 148, 158)[n % 4], (82, 94, 106, 118)[n % 4]) for n, days in enumerate(range(1, 88, 3)))


@pytest.mark.parametrize(
    "viewport", [ViewportSize(width=1280, height=800), ViewportSize(width=360, height=780)], ids=["desktop", "phone"]
)
@pytest.mark.parametrize(("hold", "visits"), [((150, 95), SPARSE), ((150, 110), DENSE)], ids=["150-95", "150-110"])
def test_the_threshold_labels_never_overlap(
    page: Page,
    live_server: LiveServer,
    screenshot: Callable[[Page, str], Path],
    viewport: ViewportSize,
    hold: tuple[int, int],
    visits: tuple[tuple[int, int, int], ...],
) -> None:
    size = "phone" if viewport["width"] < 720 else "desktop"
    factory = Factory(live_server.app)
    clinic = factory.clinic("Lakeside Ketamine Clinic", bp_hold_systolic=hold[0], bp_hold_diastolic=hold[1])
    staff = factory.user(clinic)
    patient = factory.patient(clinic, display_name="Casey R.", phase="maintenance")
    factory.checkin(patient, total=14, taken_at=TEST_NOW - timedelta(days=20))
    for days, systolic, diastolic in visits:
        factory.infusion(
            patient,
            "maintenance",
            given_at=TEST_NOW - timedelta(days=days),
            bp_before_systolic=systolic,
            bp_before_diastolic=diastolic,
        )
    page.set_viewport_size(viewport)
    page.goto(f"{live_server.url}/login")
    page.get_by_label("Email or mobile number").fill(staff.email or "")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{live_server.url}/clinic/")
    page.goto(f"{live_server.url}/clinic/patients/{patient.id}")
    chart = page.locator('figure[data-chart="blood-pressure"]')
    expect(chart.locator(".bp-rule-label")).to_have_count(4)
    expect(chart.locator(".bp-rule-label.hold-diastolic")).to_have_text(f"hold {hold[1]}")
    boxes = page.evaluate(BOXES)
    assert len(boxes) == 5
    overlapping = [
        (a[0], b[0])
        for i, a in enumerate(boxes)
        for b in boxes[i + 1 :]
        if a[1] < b[3] and b[1] < a[3] and a[2] < b[4] and b[2] < a[4]
    ]
    assert overlapping == []
    chart.scroll_into_view_if_needed()
    screenshot(page, f"bp-chart-labels-{size}-{hold[0]}-{hold[1]}")
