"""The patient's one-page summary for the paper chart: what it shows, that it is audited as a read of the record,
that only the patient's clinic sees it, and the print stylesheet every page links."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from conftest import TEST_NOW, AuthActions
from factories import Factory
from flask import Flask
from flask.testing import FlaskClient

from tracker import ROOT
from tracker.extensions import db
from tracker.models import AuditEvent, Clinic, Patient
from tracker.services.boosters import requests as boosters
from tracker.services.clinic.print_summary import INFUSIONS_LISTED, course_of


@pytest.fixture
def clinic(factory: Factory) -> Clinic:
    clinic = factory.clinic("Riverside Clinic")
    factory.user(clinic, email="doc@example.org")
    return clinic


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def _ask_for_booster(app: Flask, patient: Patient, reason: str) -> None:
    with app.app_context():
        boosters.raise_request(db.session.get(Patient, patient.id), "patient", None, reason)  # type: ignore[arg-type]
        db.session.commit()


def test_the_summary_shows_name_clinic_date_scores_course_and_what_is_open(
    app: Flask, client: FlaskClient, auth: AuthActions, factory: Factory, clinic: Clinic, fetch: Callable[..., Any]
) -> None:
    patient = factory.patient(clinic, display_name="Hayden P.")
    factory.checkin(patient, total=19, days_ago=30)
    factory.infusion(patient, given_at=TEST_NOW - timedelta(days=28), total_mg=Decimal("35.0"))
    factory.infusion(patient, given_at=TEST_NOW - timedelta(days=26))
    factory.checkin(patient, total=12, days_ago=2)
    factory.checkin(patient, answers=[1, 1, 1, 1, 1, 1, 0], instrument="gad7", days_ago=2)
    factory.infusion(patient, kind="booster", scheduled_for=TEST_NOW + timedelta(days=3))
    _ask_for_booster(app, patient, "Feeling it coming back.")
    auth.login("doc@example.org")

    response = client.get(f"/clinic/patients/{patient.id}/summary")

    assert response.status_code == 200
    html = response.get_data(as_text=True)
    text = _text(html)
    assert '<h1 id="summary-title">Hayden P.</h1>' in html
    assert "Riverside Clinic" in text
    assert "Summary printed Nov 21, 2026, 9:00 AM CST by doc@example.org" in text
    assert '<dd data-score="phq9"><strong>12</strong> moderate, ' in html
    assert '<dd data-score="gad7"><strong>6</strong> mild' in html  # GAD-7 6: mild (5-9)
    assert "2 infusions given: 2 induction" in text
    assert "Next booked: Nov 24, 2026" in text
    assert (
        "Routine booster request (open), raised Nov 21 by the patient: Patient asked: “Feeling it coming back.”" in text
    )
    assert (
        "<strong>Attention</strong>: The patient asked for a booster infusion. Raised Nov 21, 2026, 9:00 AM CST."
        in html
    )
    assert 'class="trajectory"' in html and 'data-points="2"' in html
    assert "<form" not in html.split('<main id="main">', 1)[1]  # nothing to press on the record itself
    [event] = fetch(sa.select(AuditEvent).where(AuditEvent.action == "patient.read"))
    assert (event.patient_id, event.detail) == (patient.id, {"view": "print summary"})


def test_the_summary_of_a_new_patient_says_there_is_nothing_yet(
    client: FlaskClient, auth: AuthActions, factory: Factory, clinic: Clinic
) -> None:
    patient = factory.patient(clinic, display_name="Sam B.")
    auth.login("doc@example.org")
    text = _text(client.get(f"/clinic/patients/{patient.id}/summary").get_data(as_text=True))
    assert "PHQ-9 none yet" in text
    assert "GAD-7" not in text
    assert "No infusion given yet." in text
    assert "No open booster request or alert." in text


def test_another_clinics_patient_has_no_summary_and_nothing_is_recorded(
    client: FlaskClient, auth: AuthActions, factory: Factory, clinic: Clinic, fetch: Callable[..., Any]
) -> None:
    stranger = factory.patient(factory.clinic())
    auth.login("doc@example.org")
    assert client.get(f"/clinic/patients/{stranger.id}/summary").status_code == 404
    assert client.get("/clinic/patients/not-an-id/summary").status_code == 404
    assert fetch(sa.select(AuditEvent).where(AuditEvent.action == "patient.read")) == []


def test_the_patient_page_links_the_summary_and_the_infusions_csv(
    client: FlaskClient, auth: AuthActions, factory: Factory, clinic: Clinic
) -> None:
    patient = factory.patient(clinic)
    auth.login("doc@example.org")
    html = client.get(f"/clinic/patients/{patient.id}").get_data(as_text=True)
    assert f'href="/clinic/patients/{patient.id}/summary">Print summary</a>' in html
    assert f'href="/exports/patients/{patient.id}/infusions.csv"' in html


def test_every_page_links_the_print_stylesheet_which_hides_the_controls(client: FlaskClient) -> None:
    html = client.get("/login").get_data(as_text=True)
    assert re.search(r'<link rel="stylesheet" href="/static/css/print\.css[^"]*" media="print">', html)
    css = re.sub(r"/\*.*?\*/", "", (ROOT / "static" / "css" / "print.css").read_text(), flags=re.S)
    hidden = re.search(r"([^{}]*)\{ display: none !important; \}", css)
    assert hidden is not None
    for selector in (".top", "nav", "form", "button", ".button-link", ".page-actions"):
        assert selector in [s.strip() for s in hidden.group(1).split(",")]


def test_the_course_lists_the_latest_and_counts_the_rest(factory: Factory, clinic: Clinic, ctx: None) -> None:
    from tracker.models import Infusion

    patient = factory.patient(clinic)
    given = [
        factory.infusion(patient, kind="booster" if n % 3 else "induction", given_at=TEST_NOW - timedelta(days=40 - n))
        for n in range(INFUSIONS_LISTED + 3)
    ]
    booked = factory.infusion(patient, kind="booster", scheduled_for=TEST_NOW + timedelta(days=5))
    latest_first = sorted([*given, booked], key=lambda i: i.given_at or i.scheduled_for, reverse=True)
    rows = [db.session.get(Infusion, i.id) for i in latest_first]
    course = course_of([r for r in rows if r is not None], TEST_NOW)
    assert course.given == INFUSIONS_LISTED + 3
    assert course.given_by_kind == {"induction": 4, "booster": 7}
    assert course.next_booked is not None and course.next_booked.id == booked.id
    assert [i.id for i in course.latest] == [i.id for i in latest_first[:INFUSIONS_LISTED]]
    assert course.not_listed == 4
    assert course.first_given == TEST_NOW - timedelta(days=40)


def test_the_summary_shows_the_safety_facts_flag_follow_up_medicines_and_blood_pressure(
    app: Flask, client: FlaskClient, auth: AuthActions, factory: Factory
) -> None:
    """CLINICAL.md §3 and §7: a patient resolved at high risk is flagged with the follow-up beside it; current
    medicines are listed with those to review first; the latest blood pressure carries its caution mark."""
    from test_clinic_pages import safety_alert

    from tracker.medicine_review import Entry
    from tracker.models import Alert, PatientMedicine, User
    from tracker.services.alerts import writes as alerts

    clinic = factory.clinic("Harbour Clinic", review_medicines=[Entry("benzodiazepines", ("lorazepam",)).as_dict()])
    doctor = factory.user(clinic, email="harbour@example.org")
    patient = factory.patient(clinic, display_name="Rae H.", phone="+13125550123")
    factory.infusion(
        patient,
        given_at=TEST_NOW - timedelta(days=9),
        bp_before_systolic=150,
        bp_before_diastolic=95,
        bp_after_systolic=128,
        bp_after_diastolic=82,
    )
    factory.infusion(
        patient,
        given_at=TEST_NOW - timedelta(days=2),
        bp_before_systolic=132,
        bp_before_diastolic=84,
        bp_after_systolic=146,
        bp_after_diastolic=88,
    )
    with factory.session() as s:
        for name, dose, until in (
            ("Sertraline", "100 mg", None),
            ("Lorazepam", "1 mg", None),
            ("Zolpidem", None, TEST_NOW.date() - timedelta(days=30)),  # ended: not current
        ):
            s.add(
                PatientMedicine(
                    patient_id=patient.id, clinic_id=clinic.id, name=name, dose=dose, until=until, added_at=TEST_NOW
                )
            )
    alert = safety_alert(factory, patient, minutes_ago=60)
    screener = {"wish_dead": True, "thoughts": True, "method": True, "intent": False, "plan": False, "behavior": False}
    with app.test_request_context():
        row, by = db.session.get(Alert, alert.id), db.session.get(User, doctor.id)
        assert row is not None and by is not None
        alerts.resolve(row, by, "high", "Called", "Safety plan made", screener=screener)
        db.session.commit()
    auth.login("harbour@example.org")

    text = _text(client.get(f"/clinic/patients/{patient.id}/summary").get_data(as_text=True))

    assert "High risk at last safety follow-up (resolved Nov 21; stays until a clinician clears it)" in text
    assert "Latest safety follow-up: Nov 21, documented risk high ; C-SSRS screener suggested moderate." in text
    assert (
        "Latest blood pressure: 146/88 before discharge, Nov 19; Caution: blood pressure 146/88 before discharge: "
        "at or above 140/90 (consider the risks) ." in text
    )
    assert "Current medicines: Lorazepam 1 mg review before the infusion ; Sertraline 100 mg." in text
    assert "Zolpidem" not in text
    assert "(312) 555-0123" in text and "+13125550123" not in text


def test_a_summary_without_follow_up_medicines_or_readings_says_so(
    client: FlaskClient, auth: AuthActions, factory: Factory, clinic: Clinic
) -> None:
    patient = factory.patient(clinic)
    factory.infusion(patient, given_at=TEST_NOW - timedelta(days=3))
    auth.login("doc@example.org")
    text = _text(client.get(f"/clinic/patients/{patient.id}/summary").get_data(as_text=True))
    assert "High risk" not in text
    assert "Latest safety follow-up: none." in text
    assert "Latest blood pressure: none recorded." in text
    assert "Current medicines: none recorded." in text


def test_two_visits_on_one_day_show_their_times_and_other_days_only_the_day(
    client: FlaskClient, auth: AuthActions, factory: Factory, clinic: Clinic
) -> None:
    patient = factory.patient(clinic)
    factory.infusion(patient, given_at=TEST_NOW - timedelta(days=3))  # Nov 18, 9:00 AM CST
    factory.infusion(patient, given_at=TEST_NOW - timedelta(days=1, hours=1))  # Nov 20, 8:00 AM CST
    factory.infusion(patient, given_at=TEST_NOW - timedelta(days=1, hours=-5))  # Nov 20, 2:00 PM CST
    auth.login("doc@example.org")
    html = client.get(f"/clinic/patients/{patient.id}/summary").get_data(as_text=True)
    start = html.index('class="list compact summary-infusions"')
    table = html[start : html.index("</table>", start)]
    whens = [_text(cell).strip() for cell in re.findall(r'<td class="when">(.*?)</td>', table, re.S)]
    assert whens == ["Nov 20 2:00 PM CST", "Nov 20 8:00 AM CST", "Nov 18"]
    # Kind and status share a column: the table fits a page's width.
    assert '<th scope="col">Status</th>' not in table
