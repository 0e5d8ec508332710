"""Side-effect reports in the exports (CLINICAL.md §7): their own clinic CSV, the patient's FHIR Bundle (validated
by fhir.resources), and the outcomes report's counts by item and level."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

import pytest
from conftest import AuthActions
from factories import Factory
from fhir.resources.R4B.bundle import Bundle
from flask import Flask
from flask.testing import FlaskClient

from tracker import side_effects as rules
from tracker.clock import FrozenClock
from tracker.extensions import db
from tracker.models import Clinic, Patient, User
from tracker.services.side_effects import fhir, outcomes, reports

NONE = dict.fromkeys(rules.ITEM_KEYS, "none")


@pytest.fixture
def reported(app: Flask, factory: Factory, clinic: Clinic, patient: Patient, clock: FrozenClock) -> dict[str, Any]:
    """Two infusions: one with both reports (the next morning's with a severe headache), one at discharge only."""
    staff = factory.user(clinic)
    first = factory.infusion(patient, given_at=clock.current - timedelta(days=8))
    second = factory.infusion(patient, given_at=clock.current - timedelta(hours=23))
    with app.app_context():
        me = db.session.get(User, staff.id)
        assert me is not None
        reports.record_discharge(me, first.id, {**NONE, "dissociation": "moderate"})
        reports.record_discharge(me, second.id, {**NONE, "dissociation": "mild", "nausea": "mild"})
        p = db.session.get(Patient, patient.id)
        assert p is not None
        reports.answer_due(p, {**NONE, "headache": "severe"}, "app")
        db.session.commit()
    return {"staff": staff, "first": first, "second": second}


def test_the_clinic_csv_has_a_row_per_report_and_no_total(
    client: FlaskClient, auth: AuthActions, reported: dict[str, Any], patient: Patient
) -> None:
    auth.login(reported["staff"].email)
    response = client.get("/exports/side-effects.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert [(r["infusion_id"], r["timing"], r["source"]) for r in rows] == [
        (str(reported["first"].id), "discharge", "clinic"),
        (str(reported["second"].id), "discharge", "clinic"),
        (str(reported["second"].id), "next_morning", "app"),
    ]
    assert rows[2]["headache"] == "severe" and rows[0]["dissociation"] == "moderate"
    assert "total" not in rows[0]
    assert "/exports/side-effects.csv" in client.get("/clinic/patients").get_data(as_text=True)


def test_the_fhir_bundle_holds_an_observation_per_item(
    app: Flask, client: FlaskClient, auth: AuthActions, reported: dict[str, Any], patient: Patient
) -> None:
    auth.login(reported["staff"].email)
    response = client.get(f"/exports/patients/{patient.id}/fhir.json")
    assert response.status_code == 200
    bundle = response.get_json()
    Bundle.model_validate(bundle)  # fhir.resources: a valid R4 Bundle
    found = [
        e["resource"]
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "Observation"
        and e["resource"]["code"]["coding"][0]["system"] == fhir.ITEM_SYSTEM
    ]
    assert len(found) == 3 * len(rules.ITEMS)
    headache = [
        o
        for o in found
        if o["code"]["coding"][0]["code"] == "headache" and o["valueCodeableConcept"]["text"] == "severe"
    ]
    [severe] = headache
    assert severe["partOf"] == [{"reference": f"urn:uuid:{reported['second'].id}"}]
    assert severe["performer"] == [{"reference": f"urn:uuid:{patient.id}"}]
    administrations = {
        e["resource"]["id"] for e in bundle["entry"] if e["resource"]["resourceType"] == "MedicationAdministration"
    }
    assert str(reported["second"].id) in administrations  # partOf points at an entry of the same Bundle


def test_the_outcomes_report_counts_reports_by_item_and_level(
    app: Flask, client: FlaskClient, auth: AuthActions, reported: dict[str, Any], factory: Factory
) -> None:
    with app.app_context():
        staff = db.session.get(User, reported["staff"].id)
        assert staff is not None
        discharge, morning = outcomes.counts_for_staff(staff)
        other = outcomes.counts_for_staff(factory.user(factory.clinic("Elsewhere")))
    assert (discharge.timing, discharge.reports, morning.timing, morning.reports) == ("discharge", 2, "next_morning", 1)
    by_item = {row.item.key: row.by_level for row in discharge.items}
    assert by_item["dissociation"] == (0, 1, 1, 0) and by_item["nausea"] == (1, 1, 0, 0)
    assert {row.item.key: row.by_level for row in morning.items}["headache"] == (0, 0, 0, 1)
    assert [t.reports for t in other] == [0, 0]  # another clinic's report counts none of these

    auth.login(reported["staff"].email)
    page = client.get("/exports/outcomes").get_data(as_text=True)
    assert 'id="side-effects-title"' in page and "At discharge: 2 reports" in page
