"""Vital signs (CLINICAL.md §7) through the API and the clinic's pages: the fields and their problems, the hold's
confirmation (problem+json naming the field unless `hold_confirmed`; the form asks and the second submission
confirms), the caution beside the value, and the clinic's hold threshold in its settings."""

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
from flask.testing import FlaskClient
from test_admin_settings import DEFAULTS as SETTINGS_FORM  # the settings page as a new US clinic's fills it

from tracker.models import Clinic, Infusion, Patient

PROBLEM = "application/problem+json"
Fetch = Callable[..., list[Any]]


@pytest.fixture
def staff(factory: Factory, clinic: Clinic, bearer: Callable[..., Any]) -> dict[str, str]:
    return bearer(factory.user(clinic))


def _post(client: FlaskClient, headers: dict[str, str], patient: Patient, **extra: Any) -> Any:
    body = {"kind": "booster", "status": "given", "given_at": (TEST_NOW - timedelta(hours=2)).isoformat(), **extra}
    return client.post(f"/api/v1/clinic/patients/{patient.id}/infusions", json=body, headers=headers)


def test_the_api_takes_and_answers_every_reading(client: FlaskClient, staff: dict[str, str], patient: Patient) -> None:
    created = _post(
        client,
        staff,
        patient,
        bp_before="128/82",
        bp_during="144/91",
        bp_after="130/85",
        heart_rate_before=70,
        heart_rate_during=84,
        heart_rate_after=72,
        spo2_before=98,
        spo2_during=97,
        spo2_after=99,
    )
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert (body["bp_before"], body["bp_during"], body["bp_after"]) == ("128/82", "144/91", "130/85")
    assert (body["heart_rate_during"], body["spo2_after"], body["bp_hold_confirmed"]) == (84, 99, False)
    assert body["vital_checks"] == [
        {
            "field": "bp_during",
            "level": "caution",
            "message": "blood pressure 144/91 about 40 minutes in: at or above 140/90 (consider the risks)",
        }
    ]
    listed = client.get(f"/api/v1/clinic/patients/{patient.id}/infusions", headers=staff).get_json()
    assert listed["items"][0]["vital_checks"][0]["level"] == "caution"


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"bp_during": "300/80"}, "bp_during"),
        ({"bp_during": "high"}, "bp_during"),
        ({"heart_rate_before": 19}, "heart_rate_before"),
        ({"heart_rate_after": "80"}, "heart_rate_after"),
        ({"spo2_during": 101}, "spo2_during"),
        ({"hold_confirmed": "yes"}, "hold_confirmed"),
    ],
)
def test_the_api_refuses_an_implausible_reading_naming_its_field(
    client: FlaskClient, staff: dict[str, str], patient: Patient, extra: dict[str, Any], field: str
) -> None:
    refused = _post(client, staff, patient, **extra)
    assert refused.status_code == 422 and refused.content_type == PROBLEM
    assert [e["field"] for e in refused.get_json()["errors"]] == [field]


def test_the_api_holds_until_the_clinician_confirms(
    client: FlaskClient, staff: dict[str, str], patient: Patient, fetch: Fetch
) -> None:
    held = _post(client, staff, patient, bp_before="135/85", bp_during="182/98")
    assert held.status_code == 422 and held.content_type == PROBLEM
    problem = held.get_json()
    assert [e["field"] for e in problem["errors"]] == ["bp_during"]
    assert "hold-and-review level 180/110" in problem["errors"][0]["message"]
    assert fetch(sa.select(Infusion).where(Infusion.patient_id == patient.id)) == []
    given = _post(client, staff, patient, bp_before="135/85", bp_during="182/98", hold_confirmed=True)
    assert given.status_code == 201
    body = given.get_json()
    assert body["bp_hold_confirmed"] is True and body["vital_checks"][0]["level"] == "hold"
    # A booked one given through PATCH is held the same way.
    booked = client.post(
        f"/api/v1/clinic/patients/{patient.id}/infusions",
        json={"kind": "booster", "status": "scheduled", "scheduled_for": (TEST_NOW + timedelta(days=1)).isoformat()},
        headers=staff,
    ).get_json()
    path = f"/api/v1/clinic/infusions/{booked['id']}"
    patch = client.patch(path, json={"status": "given", "bp_after": "150/112"}, headers=staff)
    assert patch.status_code == 422 and patch.get_json()["errors"][0]["field"] == "bp_after"
    confirmed = client.patch(
        path, json={"status": "given", "bp_after": "150/112", "hold_confirmed": True}, headers=staff
    )
    assert confirmed.status_code == 200 and confirmed.get_json()["bp_hold_confirmed"] is True


def test_the_clinic_sets_its_hold_threshold(
    client: FlaskClient, factory: Factory, clinic: Clinic, bearer: Callable[..., Any], staff: dict[str, str]
) -> None:
    assert client.get("/api/v1/clinic/settings", headers=staff).get_json()["bp_hold_systolic"] == 180
    admin = bearer(factory.user(clinic, role="admin"))
    bad = client.patch(
        "/api/v1/clinic/settings", json={"bp_hold_systolic": 140, "bp_hold_diastolic": 161}, headers=admin
    )
    assert bad.status_code == 422
    assert {e["field"] for e in bad.get_json()["errors"]} == {"bp_hold_systolic", "bp_hold_diastolic"}
    ok = client.patch(
        "/api/v1/clinic/settings", json={"bp_hold_systolic": 170, "bp_hold_diastolic": 105}, headers=admin
    )
    assert ok.status_code == 200
    assert (ok.get_json()["bp_hold_systolic"], ok.get_json()["bp_hold_diastolic"]) == (170, 105)


def test_the_admin_page_edits_the_hold_threshold_with_its_problem_beside_the_field(
    client: FlaskClient, auth: AuthActions, factory: Factory, fetch: Fetch
) -> None:
    clinic = factory.clinic("North Clinic")
    factory.user(clinic, role="admin", email="admin@example.org")
    auth.login("admin@example.org")
    page = client.get("/admin/settings").get_data(as_text=True)
    assert 'name="bp_hold_systolic"' in page and 'value="180"' in page
    form = {**SETTINGS_FORM, "csrf_token": csrf_token_from(page)}
    refused = client.post("/admin/settings", data={**form, "bp_hold_diastolic": "90"})
    assert refused.status_code == 422
    assert re.search(r'id="bp_hold_diastolic-error">[^<]*91 to 160', refused.get_data(as_text=True))
    saved = client.post("/admin/settings", data={**form, "bp_hold_systolic": "165"})
    assert saved.status_code == 302
    [row] = fetch(sa.select(Clinic).where(Clinic.id == clinic.id))
    assert row.bp_hold_systolic == 165


def test_the_visit_form_asks_to_confirm_a_hold_then_saves_it(
    client: FlaskClient, auth: AuthActions, factory: Factory, fetch: Fetch
) -> None:
    clinic = factory.clinic(oncall_phone="+13125550100")
    factory.user(clinic, email="lee@example.org")
    auth.login("lee@example.org")
    patient = factory.patient(clinic)
    booked = factory.infusion(patient, "booster", scheduled_for=TEST_NOW + timedelta(hours=1))
    path = f"/clinic/infusions/{booked.id}/given"
    form = client.get(path).get_data(as_text=True)
    for label in ("Blood pressure at about 40 min", "Blood pressure before discharge", "Heart rate before", "SpO2"):
        assert label in form
    visit = {
        "csrf_token": csrf_token_from(form),
        "kind": "booster",
        "when": "2026-11-21T08:40",
        "dose_mg_per_kg": "0.5",
        "weight_kg": "72",
        "duration_min": "40",
        "bp_before": "142/84",
        "bp_during": "184/100",
        "bp_after": "",
        "heart_rate_during": "88",
        "spo2_during": "97",
        "observed_min": "120",
        "ride_home_confirmed": "yes",
    }
    asked = client.post(path, data=visit)
    page = asked.get_data(as_text=True)
    assert asked.status_code == 422 and "Not saved yet: please confirm." in page
    assert re.search(
        r'id="bp_during-warning">Check: Blood pressure 184/100 about 40 minutes in: at or above the '
        r"clinic&#39;s hold-and-review level 180/110",
        page,
    )
    assert 'id="bp_before-warning">Check: Blood pressure 142/84 before the dose: at or above 140/90' in page
    [row] = fetch(sa.select(Infusion).where(Infusion.id == booked.id))
    assert row.status == "scheduled"
    key = re.search(r'name="confirmed" type="hidden" value="([^"]*)"', page)
    assert key is not None and key.group(1)
    saved = client.post(
        path, data={**visit, "csrf_token": csrf_token_from(page), "confirmed": markup.unescape(key.group(1))}
    )
    assert saved.status_code == 303
    [row] = fetch(sa.select(Infusion).where(Infusion.id == booked.id))
    assert (row.status, row.bp_hold_confirmed, row.bp_during_systolic, row.heart_rate_during, row.spo2_during) == (
        "given",
        True,
        184,
        88,
        97,
    )
    # The patient page: the readings in the table, the checks beside them, and the blood pressure chart.
    record = client.get(f"/clinic/patients/{patient.id}").get_data(as_text=True)
    assert "142/84 → 184/100 → –" in record
    # The reading at the hold level reads as a hold, not as a caution.
    held = "Blood pressure 184/100 about 40 minutes in: at or above the clinic&#39;s hold-and-review level 180/110"
    assert re.search(
        rf'class="infusion-checks hold"[^>]*>\s*<li>Hold: {held}; confirmed by [^<]+ at Nov 21, 2026', record
    )
    assert 'data-chart="blood-pressure"' in record and f'class="bp-column hold" data-infusion="{booked.id}"' in record
    # Correcting it shows the stored caution beside its value before anything is sent.
    correct = client.get(f"/clinic/infusions/{booked.id}/correct").get_data(as_text=True)
    assert 'id="bp_before-warning">Check: Blood pressure 142/84 before the dose' in correct
