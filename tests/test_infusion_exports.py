"""Infusions in the exports: the infusion CSV (a patient's and the clinic's), MedicationAdministration in the FHIR
bundle, export file names in words and dates, and where clinicians find the clinic-wide files."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from conftest import TEST_NOW, AuthActions
from factories import Factory
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.medicationadministration import MedicationAdministration
from flask import Flask
from flask.testing import FlaskClient

from tracker.extensions import db
from tracker.models import AuditEvent, Clinic, Infusion

HEADER = [
    "patient_id",
    "display_name",
    "infusion_id",
    "kind",
    "status",
    "scheduled_for",
    "given_at",
    "dose_mg_per_kg",
    "weight_kg",
    "total_mg",
    "duration_min",
    "bp_before_systolic",
    "bp_before_diastolic",
    "heart_rate_before",
    "spo2_before",
    "bp_during_systolic",
    "bp_during_diastolic",
    "heart_rate_during",
    "spo2_during",
    "bp_after_systolic",
    "bp_after_diastolic",
    "heart_rate_after",
    "spo2_after",
    "bp_hold_confirmed",
    "observed_min",
    "ride_home_confirmed",
    "booster_request_id",
    "bp_before_level",
    "bp_during_level",
    "bp_after_level",
]


def _rows(response: Any) -> list[dict[str, str]]:
    header, *rows = csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"), newline=""))
    assert header == HEADER
    return [dict(zip(HEADER, row, strict=True)) for row in rows]


def _filename(response: Any) -> str:
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="') and disposition.endswith('"')
    return str(disposition.removeprefix('attachment; filename="').removesuffix('"'))


def _set(app: Flask, infusion: Infusion, **values: Any) -> Infusion:
    with app.app_context():
        db.session.execute(sa.update(Infusion).where(Infusion.id == infusion.id).values(**values))
        db.session.commit()
    return infusion


def _cancelled(app: Flask, infusion: Infusion) -> Infusion:
    return _set(app, infusion, status="cancelled")


@pytest.fixture
def clinic(factory: Factory) -> Clinic:
    clinic = factory.clinic("Riverside Clinic")
    factory.user(clinic, email="doc@example.org")
    return clinic


def test_patient_infusion_csv_has_every_status_oldest_first_in_the_patients_zone(
    app: Flask, client: FlaskClient, auth: AuthActions, factory: Factory, clinic: Clinic, fetch: Callable[..., Any]
) -> None:
    patient = factory.patient(clinic, display_name="Hayden P.")
    given = factory.infusion(
        patient,
        given_at=TEST_NOW - timedelta(days=10),
        weight_kg=Decimal("70.0"),
        total_mg=Decimal("35.0"),
        duration_min=40,
        bp_before_systolic=122,
        bp_before_diastolic=78,
        bp_after_systolic=144,
        bp_after_diastolic=84,
        bp_during_systolic=196,
        bp_during_diastolic=100,
        bp_hold_confirmed=True,
        heart_rate_before=72,
        heart_rate_during=88,
        spo2_during=97,
        spo2_after=98,
        observed_min=120,
        ride_home_confirmed=True,
    )
    cancelled = _cancelled(app, factory.infusion(patient, kind="booster", scheduled_for=TEST_NOW - timedelta(days=3)))
    booked = factory.infusion(patient, kind="booster", scheduled_for=TEST_NOW + timedelta(days=2))
    factory.infusion(factory.patient(factory.clinic()), given_at=TEST_NOW)  # another clinic's
    auth.login("doc@example.org")

    response = client.get(f"/exports/patients/{patient.id}/infusions.csv")

    assert response.status_code == 200 and response.is_streamed
    assert response.content_type == "text/csv; charset=utf-8"
    assert _filename(response) == "hayden-p-infusions-2026-11-21.csv"
    rows = _rows(response)
    assert [r["infusion_id"] for r in rows] == [str(given.id), str(cancelled.id), str(booked.id)]
    first = rows[0]
    assert (first["kind"], first["status"], first["dose_mg_per_kg"], first["total_mg"]) == (
        "induction",
        "given",
        "0.500",
        "35.0",
    )
    assert (first["bp_before_systolic"], first["bp_after_diastolic"], first["ride_home_confirmed"]) == (
        "122",
        "84",
        "yes",
    )
    assert (first["bp_during_systolic"], first["heart_rate_during"], first["spo2_during"]) == ("196", "88", "97")
    assert (first["heart_rate_before"], first["spo2_after"], first["bp_hold_confirmed"]) == ("72", "98", "yes")
    # The marks: 122/78 none; 196/100 at the clinic's hold level, confirmed; 144/84 a caution.
    assert (first["bp_before_level"], first["bp_during_level"], first["bp_after_level"]) == ("", "hold", "caution")
    assert (rows[2]["bp_hold_confirmed"], rows[2]["bp_during_level"]) == ("no", "")
    assert first["given_at"].endswith("-06:00")  # America/Chicago in November, with its offset
    assert datetime.fromisoformat(first["given_at"]) == TEST_NOW - timedelta(days=10)
    assert [r["status"] for r in rows] == ["given", "cancelled", "scheduled"]
    assert (rows[2]["given_at"], rows[2]["ride_home_confirmed"]) == ("", "")
    [event] = fetch(sa.select(AuditEvent).where(AuditEvent.action == "export.infusions_csv"))
    assert (event.patient_id, event.detail["count"]) == (patient.id, 3)


def test_clinic_infusion_csv_holds_the_clinics_patients_by_name_and_nobody_else(
    client: FlaskClient, auth: AuthActions, factory: Factory, clinic: Clinic, fetch: Callable[..., Any]
) -> None:
    bea, ada = factory.patient(clinic, display_name="Bea"), factory.patient(clinic, display_name="=Ada")
    factory.infusion(bea, given_at=TEST_NOW - timedelta(days=4))
    factory.infusion(ada, given_at=TEST_NOW - timedelta(days=2))
    factory.infusion(factory.patient(factory.clinic(), display_name="Elsewhere"), given_at=TEST_NOW)
    auth.login("doc@example.org")

    response = client.get("/exports/infusions.csv")

    assert _filename(response) == "riverside-clinic-infusions-2026-11-21.csv"
    # Sorted by the stored name; the formula-like one is neutralised in its cell.
    assert [r["display_name"] for r in _rows(response)] == ["'=Ada", "Bea"]
    [event] = fetch(sa.select(AuditEvent).where(AuditEvent.action == "export.infusions_csv"))
    assert (event.patient_id, event.target_type, event.detail["count"]) == (None, "clinic", 2)


def test_checkin_and_fhir_files_are_named_in_words_and_dates(
    client: FlaskClient, auth: AuthActions, factory: Factory, clinic: Clinic
) -> None:
    patient = factory.patient(clinic, display_name="Hayden P.")
    auth.login("doc@example.org")
    assert _filename(client.get(f"/exports/patients/{patient.id}/checkins.csv")) == "hayden-p-checkins-2026-11-21.csv"
    assert _filename(client.get("/exports/checkins.csv")) == "riverside-clinic-checkins-2026-11-21.csv"
    assert _filename(client.get(f"/exports/patients/{patient.id}/fhir.json")) == "hayden-p-fhir-2026-11-21.json"
    assert str(patient.id) not in _filename(client.get(f"/exports/patients/{patient.id}/infusions.csv"))


def test_another_clinics_patients_infusions_are_not_found_and_nothing_is_recorded(
    client: FlaskClient, auth: AuthActions, factory: Factory, clinic: Clinic, fetch: Callable[..., Any]
) -> None:
    stranger = factory.patient(factory.clinic())
    factory.infusion(stranger, given_at=TEST_NOW)
    auth.login("doc@example.org")
    assert client.get(f"/exports/patients/{stranger.id}/infusions.csv").status_code == 404
    assert client.get("/exports/patients/not-an-id/infusions.csv").status_code == 404
    assert fetch(sa.select(AuditEvent).where(AuditEvent.action.like("export.%"))) == []


def test_fhir_bundle_holds_each_given_infusion_as_a_valid_medication_administration(
    app: Flask, client: FlaskClient, auth: AuthActions, factory: Factory, clinic: Clinic
) -> None:
    patient = factory.patient(clinic, display_name="Ada L.")
    factory.checkin(patient, total=12, days_ago=12)
    with_total = factory.infusion(
        patient, given_at=TEST_NOW - timedelta(days=10), total_mg=Decimal("35.0"), duration_min=40
    )
    bare = _set(
        app, factory.infusion(patient, kind="booster", given_at=TEST_NOW - timedelta(days=2)), dose_mg_per_kg=None
    )
    factory.infusion(patient, kind="booster", scheduled_for=TEST_NOW + timedelta(days=3))  # booked: left out
    _cancelled(app, factory.infusion(patient, kind="booster", scheduled_for=TEST_NOW - timedelta(days=1)))
    auth.login("doc@example.org")

    bundle = json.loads(client.get(f"/exports/patients/{patient.id}/fhir.json").get_data())

    Bundle.model_validate(bundle)
    given = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "MedicationAdministration"]
    assert [r["id"] for r in given] == [str(with_total.id), str(bare.id)]
    for resource in given:
        MedicationAdministration.model_validate(resource)
        assert resource["status"] == "completed"
        assert resource["subject"] == {"reference": f"urn:uuid:{patient.id}"}
        [drug] = resource["medicationCodeableConcept"]["coding"]
        assert (drug["system"], drug["code"]) == ("http://www.nlm.nih.gov/research/umls/rxnorm", "6130")
        [route] = resource["dosage"]["route"]["coding"]
        assert (route["system"], route["code"]) == ("http://snomed.info/sct", "47625008")
    first, second = given
    assert first["dosage"]["text"] == "0.5 mg/kg IV over 40 min (35 mg)"
    assert first["dosage"]["dose"] == {"value": 35, "unit": "mg", "system": "http://unitsofmeasure.org", "code": "mg"}
    assert datetime.fromisoformat(first["effectivePeriod"]["start"]) == TEST_NOW - timedelta(days=10)
    assert datetime.fromisoformat(first["effectivePeriod"]["end"]) == TEST_NOW - timedelta(days=10, minutes=-40)
    assert first["effectivePeriod"]["start"].endswith("-06:00")
    # Nothing recorded of the dose: nothing claimed about it.
    assert "dose" not in second["dosage"] and second["dosage"]["text"] == "IV"
    assert datetime.fromisoformat(second["effectiveDateTime"]) == TEST_NOW - timedelta(days=2)


@pytest.mark.parametrize("path", ["/clinic/patients", "/exports/outcomes", "/admin/"])
def test_the_clinic_wide_files_are_linked_where_clinicians_look(
    client: FlaskClient, auth: AuthActions, factory: Factory, clinic: Clinic, path: str
) -> None:
    factory.user(clinic, role="admin", email="boss@example.org")
    auth.login("boss@example.org")
    html = client.get(path).get_data(as_text=True)
    assert 'href="/exports/checkins.csv"' in html
    assert 'href="/exports/infusions.csv"' in html


@pytest.mark.parametrize("path", ["/exports/infusions.csv", "/exports/patients/{id}/infusions.csv"])
def test_infusion_exports_are_for_staff_only(
    client: FlaskClient, auth: AuthActions, factory: Factory, clinic: Clinic, path: str
) -> None:
    patient = factory.patient(clinic, phone="+13125550178")
    url = path.format(id=patient.id)
    assert client.get(url).status_code == 302
    auth.login("+13125550178")
    assert client.get(url).status_code == 403
