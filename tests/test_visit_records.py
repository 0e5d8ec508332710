"""What a tester found on saved visits: the hold-and-review level in force when a visit was saved judges it for
good (CLINICAL.md §7), the Correct form words a hold as one, every visit check shows at once, and booking a
patient twice for one day is asked about."""

from __future__ import annotations

import html as markup
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from conftest import TEST_NOW, AuthActions, csrf_token_from
from factories import Factory
from flask import Flask
from flask.testing import FlaskClient

from tracker.extensions import db
from tracker.local_time import zone_of
from tracker.models import Clinic, Infusion, Patient, User
from tracker.services.clinic import patient_page
from tracker.services.course import writes as course
from tracker.vitals import CAUTION, HOLD, BloodPressure
from tracker.web import bp_chart, patient_charts

Fetch = Callable[..., list[Any]]
GIVEN: dict[str, Any] = {"kind": "maintenance", "status": "given", "weight_kg": 70, "observed_min": 120}


def _levels(infusion: Infusion) -> dict[str, str]:
    return {c.field: c.level for c in infusion.vital_checks}


@pytest.mark.in_app_context
def test_a_visit_keeps_the_hold_level_it_was_judged_by(clinician: User, patient: Patient, clinic: Clinic) -> None:
    saved = course.record_infusion(
        patient, by=clinician, bp_before="150/95", bp_during="185/112", hold_confirmed=True, **GIVEN
    ).infusion
    assert (saved.bp_hold_systolic, saved.bp_hold_diastolic) == (180, 110)
    # The clinic lowers its level later: 150/95 was never a hold at this visit.
    clinic.bp_hold_systolic, clinic.bp_hold_diastolic = 150, 100
    db.session.flush()
    db.session.expire_all()
    visit = db.session.get(Infusion, saved.id)
    assert visit is not None
    assert _levels(visit) == {"bp_before": CAUTION, "bp_during": HOLD}
    record = patient_page.read(clinician, patient.id)
    [holds] = [record.infusion_holds(i) for i in record.infusions]
    assert len(holds) == 1 and holds[0].startswith(
        "Blood pressure 185/112 about 40 minutes in: at or above the clinic's hold-and-review level 180/110"
    )
    [column] = bp_chart.bp_chart(bp_chart.visits_of([visit]), _axis(record, clinic), clinic.bp_hold_at).columns
    assert column.level == HOLD
    # Given under the new level, a visit is judged by it.
    later = course.record_infusion(patient, by=clinician, bp_before="150/95", hold_confirmed=True, **GIVEN).infusion
    assert (later.bp_hold_systolic, later.bp_hold_diastolic, later.bp_hold_confirmed) == (150, 100, True)
    assert _levels(later) == {"bp_before": HOLD}


def _axis(record: Any, clinic: Clinic) -> Any:
    visits = bp_chart.visits_of(record.infusions)
    return patient_charts.charts_of(record, TEST_NOW, zone_of(clinic.timezone), also=bp_chart.moments(visits)).axis


@pytest.mark.in_app_context
def test_a_visit_saved_before_the_level_was_kept_is_judged_at_the_default(
    factory: Factory, clinician: User, patient: Patient, clinic: Clinic
) -> None:
    old = factory.infusion(
        patient,
        given_at=TEST_NOW - timedelta(days=3),
        bp_before_systolic=150,
        bp_before_diastolic=95,
        bp_during_systolic=185,
        bp_during_diastolic=112,
        bp_hold_confirmed=True,
    )
    clinic.bp_hold_systolic, clinic.bp_hold_diastolic = 150, 100
    db.session.flush()
    visit = db.session.get(Infusion, old.id)
    assert visit is not None and visit.hold_at == BloodPressure(180, 110)
    assert _levels(visit) == {"bp_before": CAUTION, "bp_during": HOLD}


def test_the_correct_form_words_a_hold_as_a_hold(
    client: FlaskClient, auth: AuthActions, factory: Factory, app: Flask
) -> None:
    clinic = factory.clinic()
    factory.user(clinic, email="lee@example.org")
    auth.login("lee@example.org")
    patient = factory.patient(clinic)
    visit = factory.infusion(
        patient,
        given_at=TEST_NOW - timedelta(hours=3),
        bp_before_systolic=185,
        bp_before_diastolic=112,
        bp_hold_confirmed=True,
        bp_hold_systolic=180,
        bp_hold_diastolic=110,
    )
    page = markup.unescape(client.get(f"/clinic/infusions/{visit.id}/correct").get_data(as_text=True))
    assert "Blood pressure 185/112 before the dose: at or above the clinic's hold-and-review level 180/110" in page
    assert "consider the risks" not in page


def test_every_visit_check_shows_at_once(client: FlaskClient, auth: AuthActions, factory: Factory) -> None:
    clinic = factory.clinic()
    factory.user(clinic, email="lee@example.org")
    auth.login("lee@example.org")
    patient = factory.patient(clinic)
    factory.infusion(patient, given_at=TEST_NOW - timedelta(hours=4))  # given today
    booked = factory.infusion(patient, "booster", scheduled_for=TEST_NOW + timedelta(days=1))
    path = f"/clinic/infusions/{booked.id}/given"
    form = client.get(path).get_data(as_text=True)
    visit = {
        "csrf_token": csrf_token_from(form),
        "kind": "booster",
        "when": "2026-11-21T08:40",
        "dose_mg_per_kg": "0.5",
        "weight_kg": "72",
        "duration_min": "40",
        "observed_min": "120",
        "ride_home_confirmed": "yes",
    }
    asked = client.post(path, data=visit)
    page = markup.unescape(asked.get_data(as_text=True))
    assert asked.status_code == 422 and "Not saved yet: please confirm." in page
    assert "Booked for Nov 22, not the day it is given" in page
    assert "Another infusion of this patient is recorded as given that day" in page


def test_heart_rate_and_spo2_show_with_their_checks_on_the_page_and_the_summary(
    client: FlaskClient, auth: AuthActions, factory: Factory
) -> None:
    clinic = factory.clinic()
    factory.user(clinic, email="lee@example.org")
    auth.login("lee@example.org")
    patient = factory.patient(clinic)
    visit = factory.infusion(
        patient,
        given_at=TEST_NOW - timedelta(days=2),
        bp_before_systolic=128,
        bp_before_diastolic=82,
        heart_rate_before=130,
        spo2_during=85,
    )
    for path in (f"/clinic/patients/{patient.id}", f"/clinic/patients/{patient.id}/summary"):
        page = markup.unescape(client.get(path).get_data(as_text=True))
        assert f'data-numbers="{visit.id}">HR 130, SpO2 – → HR –, SpO2 85% → –</span>' in page
        assert "Heart rate 130 before the dose: outside the usual 50–120 beats a minute" in page
        assert "SpO2 85% about 40 minutes in: below the usual 90%" in page


def test_a_second_booking_at_that_time_or_on_that_day_is_asked_about(
    client: FlaskClient, auth: AuthActions, factory: Factory, bearer: Callable[..., Any], fetch: Fetch
) -> None:
    clinic = factory.clinic()
    headers = bearer(factory.user(clinic, email="lee@example.org"))
    patient = factory.patient(clinic)
    path = f"/api/v1/clinic/patients/{patient.id}/infusions"
    at = TEST_NOW + timedelta(days=2)  # 09:00 in Chicago
    body = {"kind": "maintenance", "status": "scheduled", "scheduled_for": at.isoformat()}
    assert client.post(path, json=body, headers=headers).status_code == 201
    again = client.post(path, json=body, headers=headers)
    assert again.status_code == 422 and again.content_type == "application/problem+json"
    assert [(e["field"], e["message"]) for e in again.get_json()["errors"]] == [
        ("scheduled_for", "another infusion of this patient is booked at this time")
    ]
    later = {**body, "scheduled_for": (at + timedelta(hours=8)).isoformat()}  # 17:00 the same local day
    same_day = client.post(path, json=later, headers=headers)
    assert [e["message"] for e in same_day.get_json()["errors"]] == [
        "another infusion of this patient is booked that day"
    ]
    assert len(fetch(sa.select(Infusion).where(Infusion.patient_id == patient.id))) == 1
    next_day = {**body, "scheduled_for": (at + timedelta(days=1)).isoformat()}
    assert client.post(path, json=next_day, headers=headers).status_code == 201
    assert client.post(path, json={**later, "hold_confirmed": True}, headers=headers).status_code == 201
    # On the page: asked, then saved with the confirmation.
    auth.login("lee@example.org")
    page = client.get(f"/clinic/patients/{patient.id}").get_data(as_text=True)
    form = {
        "infusion-csrf_token": csrf_token_from(page),
        "infusion-kind": "maintenance",
        "infusion-status": "scheduled",
        "infusion-when": "2026-11-23T09:00",
    }
    asked = client.post(f"/clinic/patients/{patient.id}/infusions", data=form)
    text = markup.unescape(asked.get_data(as_text=True))
    assert asked.status_code == 422 and "Another infusion of this patient is booked at this time" in text
    key = re.search(r'name="infusion-confirmed" type="hidden" value="([^"]*)"', text)
    assert key is not None
    saved = client.post(
        f"/clinic/patients/{patient.id}/infusions",
        data={**form, "infusion-csrf_token": csrf_token_from(text), "infusion-confirmed": markup.unescape(key[1])},
    )
    assert saved.status_code == 303
    assert len(fetch(sa.select(Infusion).where(Infusion.patient_id == patient.id))) == 4
