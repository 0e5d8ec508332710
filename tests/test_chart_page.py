"""The patient page's charts over HTTP: the range links, gaps, a crowded induction course, tappable points, the
legend of what is drawn, and GAD-7 on its own chart (the geometry is tested in test_charts.py)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from conftest import TEST_NOW, AuthActions
from factories import Factory
from flask.testing import FlaskClient

from tracker.models import Clinic, Patient

FIRST_INFUSION = TEST_NOW - timedelta(days=420)


def long_history(factory: Factory, clinic: Clinic, gad7: bool = True) -> Patient:
    """Fourteen months: a baseline, six induction infusions in ten days (CLINICAL.md §1), weekly PHQ-9s with a
    five-week silence in the last three months, and a GAD-7 a month."""
    patient = factory.patient(clinic, display_name="Robin G.")
    factory.checkin(patient, total=21, taken_at=FIRST_INFUSION - timedelta(days=2))
    for n in range(6):
        factory.infusion(patient, "induction", given_at=FIRST_INFUSION + timedelta(days=2 * n))
    week = FIRST_INFUSION + timedelta(days=14)
    while week < TEST_NOW:
        if not TEST_NOW - timedelta(days=75) < week < TEST_NOW - timedelta(days=40):
            factory.checkin(patient, total=8 + (week.day % 5), taken_at=week)
        week += timedelta(days=7)
    if gad7:
        for n in range(14):
            factory.checkin(
                patient, total=4 + n % 12, taken_at=TEST_NOW - timedelta(days=30 * n + 2), instrument="gad7"
            )
    return patient


def chart_page(client: FlaskClient, patient: Patient, query: str = "") -> str:
    response = client.get(f"/clinic/patients/{patient.id}{query}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def drawn(html: str, svg_class: str) -> int:
    found = re.search(rf'<svg class="{svg_class}"[^>]*data-points="(\d+)"', html)
    assert found is not None, svg_class
    return int(found.group(1))


def current_range(html: str) -> str:
    [key] = re.findall(r'data-range="(\w+)" aria-current="true"', html)
    return key


@pytest.fixture
def staff(factory: Factory, auth: AuthActions, clinic: Clinic) -> None:
    factory.user(clinic, email="doc@example.org")
    assert auth.login("doc@example.org").status_code == 302


@pytest.mark.usefixtures("staff")
def test_a_year_is_drawn_by_default_and_each_range_redraws_the_charts(
    client: FlaskClient, factory: Factory, clinic: Clinic
) -> None:
    patient = long_history(factory, clinic)
    html = chart_page(client, patient)
    assert current_range(html) == "1y"
    year = drawn(html, "trajectory")
    assert 40 < year < 53 and re.search(r"\d+ earlier check-ins are not drawn: choose “All”", html)
    assert f'<table class="list compact" data-rows="{year}">' in html  # the table lists what the chart draws
    assert html.count('class="pt" tabindex="0"') == year + drawn(html, "scorechart gad7")  # every point focusable
    for key in ("3m", "1y", "all"):
        assert f'href="/clinic/patients/{patient.id}?range={key}#trajectory"' in html
    months = chart_page(client, patient, "?range=3m")
    assert current_range(months) == "3m" and drawn(months, "trajectory") < 10 < year
    assert drawn(months, "scorechart gad7") == 3  # GAD-7 follows the same axis: 2, 32 and 62 days ago
    every = chart_page(client, patient, "?range=all")
    assert current_range(every) == "all" and drawn(every, "trajectory") > year and "earlier check-in" not in every
    assert drawn(every, "scorechart gad7") == 14
    # The date ticks follow the range: months for a year, other months for three.
    ticks = [re.findall(r'class="tick-x"[^>]*>([^<]+)<', page)[:6] for page in (html, months)]
    assert ticks[0] != ticks[1]


@pytest.mark.usefixtures("staff")
@pytest.mark.parametrize("query", ["?range=5y", "?range=", "?range=%00", "?range=all&range=3m", "?range[]=x"])
def test_an_unknown_range_is_ignored(client: FlaskClient, factory: Factory, clinic: Clinic, query: str) -> None:
    patient = long_history(factory, clinic, gad7=False)
    html = chart_page(client, patient, query)
    assert current_range(html) == ("all" if query == "?range=all&range=3m" else "1y")


@pytest.mark.usefixtures("staff")
def test_the_gap_the_course_and_today_are_drawn_and_the_legend_names_only_them(
    client: FlaskClient, factory: Factory, clinic: Clinic
) -> None:
    patient = long_history(factory, clinic)
    html = chart_page(client, patient, "?range=all")
    trajectory = html[
        html.index('<svg class="trajectory"') : html.index("</svg>", html.index('<svg class="trajectory"'))
    ]
    line = re.search(r'<path class="line" d="([^"]+)"', trajectory)
    assert line is not None and line.group(1).count("M") == 2  # one break: the 5-week silence
    assert re.findall(r"No check-in for (\d) weeks", trajectory) == ["6"]  # 42 days between two weekly check-ins
    assert trajectory.count('class="leader"') == 6 and 'data-infusions="6"' in trajectory  # the course, apart
    assert re.search(r'<text class="now-label"[^>]*>today</text>', trajectory)
    [keys] = re.findall(r'<ul class="legend"[^>]*data-keys="([^"]*)"', html)
    assert keys.split() == ["induction", "baseline", "reference-low", "gap"]
    assert "Urgent request" not in html and "Booked<" not in html  # nothing of the kind is drawn
    assert re.search(r'aria-label="PHQ-9 21 on [A-Z][a-z]{2} \d+, 2025"><title>PHQ-9 21 on', trajectory)


@pytest.mark.usefixtures("staff")
def test_gad7_gets_its_own_chart_on_its_own_scale_only_when_there_is_any(
    client: FlaskClient, factory: Factory, clinic: Clinic
) -> None:
    patient = long_history(factory, clinic)
    html = chart_page(client, patient)
    assert "GAD-7 over time, 0 to 21" in html and 'data-instrument="gad7"' in html
    assert "Shading, GAD-7 severity: 0–4 none–minimal, 5–9 mild, 10–14 moderate, 15–21 severe." in html
    assert re.search(r'<table class="list compact" data-rows="1[23]" data-instrument="gad7">', html)
    assert re.search(r'aria-label="GAD-7 \d+ on', html)
    without = long_history(factory, clinic, gad7=False)
    assert 'class="scorechart' not in chart_page(client, without) and "GAD-7 over time" not in chart_page(
        client, without
    )
