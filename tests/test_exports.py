"""Exports: the check-in CSV (a patient's and the clinic's) and a patient's FHIR R4 Bundle."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from conftest import TEST_NOW, AuthActions
from factories import Factory
from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle
from flask import Flask, url_for
from flask.testing import FlaskClient

from tracker.extensions import db
from tracker.models import AuditEvent, CheckIn, Clinic
from tracker.services.clinic.exports import neutralise

HEADER = [
    "patient_id",
    "display_name",
    "taken_at",
    "source",
    "instrument",
    "item1",
    "item2",
    "item3",
    "item4",
    "item5",
    "item6",
    "item7",
    "item8",
    "item9",
    "difficulty",
    "total",
    "severity",
    "diagnosis",
    "item9_flag",
]
# CLINICAL.md §2, written out here so a wrong code in the package fails the test.
ITEM_LOINC = ["44250-9", "44255-8", "44259-0", "44254-1", "44251-7", "44258-2", "44252-5", "44253-3", "44260-8"]
ANSWER_LOINC = {0: "LA6568-5", 1: "LA6569-3", 2: "LA6570-1", 3: "LA6571-9"}
DIFFICULTY_LOINC = {0: "LA6572-7", 1: "LA6573-5", 2: "LA6575-0", 3: "LA6574-3"}
FILENAME = re.compile(r'^attachment; filename="[a-z0-9-]+-\d{4}-\d{2}-\d{2}\.(csv|json)"$')


def _set_difficulty(app: Flask, checkin: CheckIn, value: int) -> None:
    with app.app_context():
        db.session.execute(sa.update(CheckIn).where(CheckIn.id == checkin.id).values(difficulty=value))
        db.session.commit()


def _rows(response: Any) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"), newline="")))


@pytest.fixture
def clinic(factory: Factory) -> Clinic:
    clinic = factory.clinic('North "Clinic"/../\r\nX-Evil: 1')
    factory.user(clinic, email="doc@example.org")
    return clinic


def test_patient_csv_has_one_row_per_checkin_with_every_column(
    app: Flask, client: FlaskClient, auth: AuthActions, factory: Factory, clinic: Clinic, fetch: Callable[..., Any]
) -> None:
    patient = factory.patient(clinic, display_name="Ada L.")
    first = factory.checkin(patient, answers=[3, 3, 3, 3, 3, 2, 2, 1, 0], days_ago=14)
    factory.checkin(patient, answers=[0, 0, 0, 0, 0, 0, 0, 0, 1], days_ago=7, source="sms")
    # A GAD-7 is a row too, with its 7 answers, total and band: the page says the export has them all.
    factory.checkin(patient, answers=[2, 2, 1, 1, 1, 0, 3], instrument="gad7", days_ago=3)
    _set_difficulty(app, first, 2)
    auth.login("doc@example.org")

    response = client.get(f"/exports/patients/{patient.id}/checkins.csv")

    assert response.status_code == 200
    assert response.is_streamed
    assert response.content_type == "text/csv; charset=utf-8"
    assert FILENAME.match(response.headers["Content-Disposition"])
    header, *rows = _rows(response)
    assert header == HEADER
    assert len(rows) == 3
    older, newer, gad7 = (dict(zip(HEADER, row, strict=True)) for row in rows)
    assert (older["instrument"], newer["instrument"], gad7["instrument"]) == ("PHQ-9", "PHQ-9", "GAD-7")
    assert [gad7[f"item{n}"] for n in range(1, 10)] == ["2", "2", "1", "1", "1", "0", "3", "", ""]
    # CLINICAL.md (GAD-7 lines): total 0-21, bands 5/10/15 = mild/moderate/severe; no item 9 to flag.
    assert (gad7["total"], gad7["severity"], gad7["difficulty"], gad7["diagnosis"], gad7["item9_flag"]) == (
        "10",
        "moderate",
        "",
        "",
        "",
    )
    assert older["patient_id"] == str(patient.id)
    assert older["display_name"] == "Ada L."
    assert [older[f"item{n}"] for n in range(1, 10)] == ["3", "3", "3", "3", "3", "2", "2", "1", "0"]
    assert (older["difficulty"], older["total"], older["severity"], older["diagnosis"]) == (
        "2",
        "20",
        "severe",
        "major",
    )
    assert (older["item9_flag"], older["source"]) == ("no", "app")
    assert (newer["difficulty"], newer["total"], newer["item9_flag"], newer["source"]) == ("", "1", "yes", "sms")
    taken = datetime.fromisoformat(older["taken_at"])
    assert older["taken_at"].endswith("-06:00")  # the patient's zone (America/Chicago in November), with offset
    assert taken == TEST_NOW - timedelta(days=14)
    [event] = fetch(sa.select(AuditEvent).where(AuditEvent.action == "export.checkins_csv"))
    assert (event.patient_id, event.detail["count"], event.clinic_id) == (patient.id, 3, clinic.id)


def test_clinic_csv_holds_every_patient_of_the_clinic_and_no_one_else(
    client: FlaskClient, auth: AuthActions, factory: Factory, clinic: Clinic, fetch: Callable[..., Any]
) -> None:
    bea, ada = factory.patient(clinic, display_name="Bea"), factory.patient(clinic, display_name="Ada")
    factory.checkin(bea, total=12, days_ago=2)
    factory.checkin(ada, total=4, days_ago=5)
    factory.checkin(ada, total=6, days_ago=1)
    stranger = factory.patient(factory.clinic(), display_name="Elsewhere")
    factory.checkin(stranger, total=20)
    auth.login("doc@example.org")

    response = client.get("/exports/checkins.csv")

    assert response.status_code == 200
    disposition = response.headers["Content-Disposition"]
    assert FILENAME.match(disposition)
    assert disposition.startswith('attachment; filename="north-clinic-x-evil-1-checkins-')
    header, *rows = _rows(response)
    assert header == HEADER
    assert [(row[1], row[HEADER.index("total")]) for row in rows] == [("Ada", "4"), ("Ada", "6"), ("Bea", "12")]
    [event] = fetch(sa.select(AuditEvent).where(AuditEvent.action == "export.checkins_csv"))
    assert (event.patient_id, event.detail["count"], event.target_type) == (None, 3, "clinic")


@pytest.mark.parametrize("name", ['=HYPERLINK("http://evil.example","x")', "+1+1", "-2+3", "@SUM(A1)", "\t=1"])
def test_cells_that_a_spreadsheet_would_run_are_neutralised(
    client: FlaskClient, auth: AuthActions, factory: Factory, clinic: Clinic, name: str
) -> None:
    factory.checkin(factory.patient(clinic, display_name=name), total=3)
    auth.login("doc@example.org")
    _header, row = _rows(client.get("/exports/checkins.csv"))
    assert row[1] == "'" + name


def test_neutralise_leaves_ordinary_values_alone() -> None:
    assert [neutralise(v) for v in ("Ada", 12, None, "2026-11-21T09:00:00-06:00", "a=b")] == [
        "Ada",
        "12",
        "",
        "2026-11-21T09:00:00-06:00",
        "a=b",
    ]


def _resources(bundle: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def _loinc(concept: dict[str, Any]) -> str:
    [coding] = concept["coding"]
    assert coding["system"] == "http://loinc.org"
    return str(coding["code"])


def test_fhir_bundle_is_valid_r4_with_loinc_codes_for_every_item_and_answer(
    app: Flask, client: FlaskClient, auth: AuthActions, factory: Factory, clinic: Clinic, fetch: Callable[..., Any]
) -> None:
    patient = factory.patient(clinic, display_name="Ada L.")
    answers_1 = [0, 1, 2, 3, 0, 1, 2, 3, 1]
    answers_2 = [3, 2, 1, 0, 3, 2, 1, 0, 0]
    first = factory.checkin(patient, answers=answers_1, days_ago=10)
    second = factory.checkin(patient, answers=answers_2, days_ago=3)
    _set_difficulty(app, first, 2)
    _set_difficulty(app, second, 3)
    auth.login("doc@example.org")

    response = client.get(f"/exports/patients/{patient.id}/fhir.json")

    assert response.status_code == 200
    assert response.content_type.startswith("application/fhir+json")
    assert FILENAME.match(response.headers["Content-Disposition"])
    bundle = json.loads(response.get_data())
    Bundle.model_validate(bundle)
    assert (bundle["resourceType"], bundle["type"]) == ("Bundle", "collection")
    for entry in bundle["entry"]:
        resource = entry["resource"]
        get_fhir_model_class(resource["resourceType"]).model_validate(resource)  # raises when invalid
        assert entry["fullUrl"] == f"urn:uuid:{resource['id']}"
    full_urls = {entry["fullUrl"] for entry in bundle["entry"]}

    [patient_resource] = _resources(bundle, "Patient")
    assert patient_resource["name"] == [{"text": "Ada L."}]
    responses = _resources(bundle, "QuestionnaireResponse")
    assert [r["id"] for r in responses] == [str(first.id), str(second.id)]
    observations = _resources(bundle, "Observation")
    assert len(observations) == 2 * (1 + 1 + 9 + 1)  # per check-in: panel, total, 9 items, difficulty

    for checkin, answers, difficulty in ((first, answers_1, 2), (second, answers_2, 3)):
        mine = [o for o in observations if o["derivedFrom"] == [{"reference": f"urn:uuid:{checkin.id}"}]]
        by_code = {_loinc(o["code"]): o for o in mine}
        assert by_code["44261-6"]["valueInteger"] == sum(answers)
        for code, value in zip(ITEM_LOINC, answers, strict=True):
            assert _loinc(by_code[code]["valueCodeableConcept"]) == ANSWER_LOINC[value]
        assert _loinc(by_code["69722-7"]["valueCodeableConcept"]) == DIFFICULTY_LOINC[difficulty]
        panel = by_code["44249-1"]
        assert len(panel["hasMember"]) == 11
        for o in mine:
            assert o["subject"]["reference"] in full_urls
            assert all(member["reference"] in full_urls for member in o.get("hasMember", []))
        [qr] = [r for r in responses if r["id"] == str(checkin.id)]
        assert qr["questionnaire"] == "http://loinc.org/q/44249-1"
        assert datetime.fromisoformat(qr["authored"]) == checkin.taken_at
        answered = {item["linkId"]: item["answer"][0] for item in qr["item"]}
        assert [answered[code]["valueCoding"]["code"] for code in ITEM_LOINC] == [ANSWER_LOINC[v] for v in answers]
        assert answered["69722-7"]["valueCoding"]["code"] == DIFFICULTY_LOINC[difficulty]
        assert answered["44261-6"] == {"valueInteger": sum(answers)}

    [event] = fetch(sa.select(AuditEvent).where(AuditEvent.action == "export.fhir_bundle"))
    assert (event.patient_id, event.detail["count"]) == (patient.id, 2)


# CLINICAL.md (GAD-7 lines) and LOINC's GAD-7 panel, written out here so a wrong code in the package fails the test.
GAD7_ITEM_LOINC = ["69725-0", "68509-9", "69733-4", "69734-2", "69735-9", "69689-8", "69736-7"]


def test_fhir_bundle_holds_gad7_check_ins_with_their_own_loinc_codes(
    client: FlaskClient, auth: AuthActions, factory: Factory, clinic: Clinic, fetch: Callable[..., Any]
) -> None:
    patient = factory.patient(clinic, display_name="Ada L.")
    factory.checkin(patient, answers=[1, 1, 1, 1, 1, 1, 1, 1, 0], days_ago=10)
    answers = [3, 2, 1, 0, 3, 2, 1]
    gad7 = factory.checkin(patient, answers=answers, instrument="gad7", days_ago=3)
    auth.login("doc@example.org")

    bundle = json.loads(client.get(f"/exports/patients/{patient.id}/fhir.json").get_data())
    Bundle.model_validate(bundle)
    for entry in bundle["entry"]:
        get_fhir_model_class(entry["resource"]["resourceType"]).model_validate(entry["resource"])

    [qr] = [r for r in _resources(bundle, "QuestionnaireResponse") if r["id"] == str(gad7.id)]
    assert qr["questionnaire"] == "http://loinc.org/q/69737-5"
    answered = {item["linkId"]: item["answer"][0] for item in qr["item"]}
    assert [answered[code]["valueCoding"]["code"] for code in GAD7_ITEM_LOINC] == [ANSWER_LOINC[v] for v in answers]
    assert answered["70274-6"] == {"valueInteger": 12}
    assert set(answered) == {*GAD7_ITEM_LOINC, "70274-6"}  # no PHQ-9 item, no difficulty question
    mine = [
        o for o in _resources(bundle, "Observation") if o.get("derivedFrom") == [{"reference": f"urn:uuid:{gad7.id}"}]
    ]
    by_code = {_loinc(o["code"]): o for o in mine}
    assert set(by_code) == {"69737-5", "70274-6", *GAD7_ITEM_LOINC}
    assert by_code["70274-6"]["valueInteger"] == 12
    assert by_code["70274-6"]["interpretation"] == [{"text": "moderate"}]  # bands 5/10/15
    assert len(by_code["69737-5"]["hasMember"]) == 1 + 7
    [event] = fetch(sa.select(AuditEvent).where(AuditEvent.action == "export.fhir_bundle"))
    assert event.detail["count"] == 2  # both check-ins


def test_fhir_export_of_a_patient_without_checkins_is_a_valid_bundle(
    client: FlaskClient, auth: AuthActions, factory: Factory, clinic: Clinic
) -> None:
    patient = factory.patient(clinic)
    auth.login("doc@example.org")
    bundle = json.loads(client.get(f"/exports/patients/{patient.id}/fhir.json").get_data())
    Bundle.model_validate(bundle)
    assert [e["resource"]["resourceType"] for e in bundle["entry"]] == ["Patient"]


@pytest.mark.parametrize("kind", ["checkins.csv", "fhir.json"])
def test_another_clinics_patient_is_not_found_and_nothing_is_recorded(
    client: FlaskClient, auth: AuthActions, factory: Factory, clinic: Clinic, fetch: Callable[..., Any], kind: str
) -> None:
    stranger = factory.patient(factory.clinic())
    factory.checkin(stranger, total=9)
    auth.login("doc@example.org")
    assert client.get(f"/exports/patients/{stranger.id}/{kind}").status_code == 404
    assert client.get(f"/exports/patients/not-an-id/{kind}").status_code == 404
    assert fetch(sa.select(AuditEvent).where(AuditEvent.action.like("export.%"))) == []


@pytest.mark.parametrize("path", ["/exports/checkins.csv", "/exports/outcomes", "/exports/patients/{id}/fhir.json"])
def test_exports_are_for_staff_only(
    app: Flask, client: FlaskClient, auth: AuthActions, factory: Factory, clinic: Clinic, path: str
) -> None:
    patient = factory.patient(clinic, phone="+13125550177")
    url = path.format(id=patient.id)
    response = client.get(url)
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    auth.login("+13125550177")
    assert client.get(url).status_code == 403


def test_admin_home_links_every_export(client: FlaskClient, auth: AuthActions, factory: Factory) -> None:
    factory.user(role="admin", email="admin@example.org")
    auth.login("admin@example.org")
    html = client.get("/admin/").get_data(as_text=True)
    for href in ("/admin/settings", "/admin/staff", "/admin/audit", "/exports/outcomes", "/exports/checkins.csv"):
        assert f'href="{href}"' in html


def test_patient_exports_keep_their_url_names(app: Flask, factory: Factory, clinic: Clinic) -> None:
    patient = factory.patient(clinic)
    with app.test_request_context():
        assert url_for("exports.patient_csv", patient_id=patient.id) == f"/exports/patients/{patient.id}/checkins.csv"
        assert url_for("exports.patient_fhir", patient_id=patient.id) == f"/exports/patients/{patient.id}/fhir.json"
        assert url_for("exports.clinic_csv") == "/exports/checkins.csv"
        assert url_for("exports.outcomes") == "/exports/outcomes"


def test_clinic_csv_of_many_patients_takes_the_same_few_queries(
    client: FlaskClient, auth: AuthActions, factory: Factory, clinic: Clinic, count_queries: Callable[[], Any]
) -> None:
    auth.login("doc@example.org")

    def export_queries(rows: int) -> int:
        with count_queries() as counter:
            response = client.get("/exports/checkins.csv")
            assert len(_rows(response)) == 1 + rows  # reading the body runs the streamed query
        return counter.count

    factory.checkin(factory.patient(clinic), total=5)
    few = export_queries(1)
    for n in range(6):
        factory.checkin(factory.patient(clinic), total=n)
    assert export_queries(7) == few
