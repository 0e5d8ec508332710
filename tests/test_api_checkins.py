"""Check-ins through the API: scoring, every kind of bad input, item 9, idempotency, scoping (API.md)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from factories import Factory
from flask.testing import FlaskClient

from tracker.clock import FrozenClock
from tracker.models import Alert, AuditEvent, CheckIn, OutboundMessage, Patient

PROBLEM = "application/problem+json"
CLINIC = {"name": "Lakeside", "oncall_phone": "+13125550101"}
GOOD = {"instrument": "phq9", "answers": [2, 2, 1, 1, 1, 1, 1, 1, 0], "difficulty": 1}


@pytest.fixture
def headers(patient: Patient, bearer: Callable[..., Any]) -> dict[str, str]:
    return bearer(patient)


def test_a_check_in_is_scored_and_stored(
    client: FlaskClient, headers: dict[str, str], fetch: Callable[..., list[Any]], clock: FrozenClock
) -> None:
    response = client.post("/api/v1/checkins", json=GOOD, headers=headers)
    assert response.status_code == 201
    body = response.get_json()
    # CLINICAL.md §6 vector: 2 2 1 1 1 1 1 1 0 → 10, moderate, other, item 9 no
    assert (body["total"], body["severity"], body["diagnosis"], body["item9_positive"]) == (
        10,
        "moderate",
        "other",
        False,
    )
    assert body["source"] == "app" and body["safety"] is None and body["difficulty"] == 1
    assert body["taken_at"] == clock.current.isoformat()
    [row] = fetch(sa.select(CheckIn))
    assert str(row.id) == body["id"] and row.answers == GOOD["answers"]
    assert fetch(sa.select(Alert)) == []


def test_item9_brings_crisis_resources_an_alert_and_an_oncall_sms(
    client: FlaskClient, headers: dict[str, str], patient: Patient, fetch: Callable[..., list[Any]], clock: FrozenClock
) -> None:
    answers = [2, 0, 2, 2, 2, 0, 0, 0, 1]  # CLINICAL.md §6: 9, mild, major, item 9 yes
    response = client.post("/api/v1/checkins", json={"instrument": "phq9", "answers": answers}, headers=headers)
    assert response.status_code == 201
    body = response.get_json()
    assert (body["total"], body["severity"], body["diagnosis"], body["item9_positive"]) == (9, "mild", "major", True)
    phones = {r["phone"] for r in body["safety"]["resources"]}
    assert phones == {"988", "911"}
    [alert] = fetch(sa.select(Alert))
    assert (alert.kind, alert.status, str(alert.checkin_id)) == ("safety", "open", body["id"])
    assert alert.deadline == clock.current + timedelta(minutes=30)
    [sms] = fetch(sa.select(OutboundMessage))
    assert sms.to_phone == "+13125550101" and sms.critical and sms.status == "queued"
    assert sms.purpose == "safety_oncall"
    assert not any(ch.isdigit() for ch in sms.body.split("http")[0])  # no score before the link
    assert patient.display_name not in sms.body


BAD_BODIES = [
    ({"instrument": "phq9", "answers": [0] * 8}, {"answers"}),
    ({"instrument": "phq9", "answers": [0] * 10}, {"answers"}),
    ({"instrument": "phq9", "answers": [0] * 8 + [4]}, {"answers[8]"}),
    ({"instrument": "phq9", "answers": [-1] + [0] * 8}, {"answers[0]"}),
    ({"instrument": "phq9", "answers": ["1"] + [0] * 8}, {"answers[0]"}),
    ({"instrument": "phq9", "answers": [1.5] + [0] * 8}, {"answers[0]"}),
    ({"instrument": "phq9", "answers": [1.0] + [0] * 8}, {"answers[0]"}),
    ({"instrument": "phq9", "answers": [True] + [0] * 8}, {"answers[0]"}),
    ({"instrument": "phq9", "answers": [None] + [0] * 8}, {"answers[0]"}),
    ({"instrument": "phq9", "answers": None}, {"answers"}),
    ({"instrument": "phq9", "answers": "000000000"}, {"answers"}),
    ({"instrument": "phq9"}, {"answers"}),
    ({"instrument": "bdi", "answers": [0] * 9}, {"instrument"}),
    ({"answers": [0] * 9}, {"instrument"}),
    ({"instrument": "phq9", "answers": [0] * 9, "difficulty": 4}, {"difficulty"}),
    ({"instrument": "phq9", "answers": [0] * 9, "difficulty": True}, {"difficulty"}),
    ({"instrument": "phq9", "answers": [0] * 9, "mood": "fine"}, {"mood"}),
    ({"instrument": "gad7", "answers": [0] * 9}, {"answers"}),
    ({"instrument": "gad7", "answers": [0] * 7, "difficulty": 1}, {"difficulty"}),
]


@pytest.mark.parametrize(("body", "fields"), BAD_BODIES)
def test_bad_input_names_the_field_and_stores_nothing(
    client: FlaskClient, headers: dict[str, str], fetch: Callable[..., list[Any]], body: Any, fields: set[str]
) -> None:
    response = client.post("/api/v1/checkins", json=body, headers=headers)
    assert response.status_code == 422, response.get_json()
    assert response.mimetype == PROBLEM
    problem = response.get_json()
    assert problem["status"] == 422 and problem["title"]
    assert {e["field"] for e in problem["errors"]} == fields
    assert fetch(sa.select(CheckIn)) == []


def test_gad7_is_accepted(client: FlaskClient, headers: dict[str, str]) -> None:
    response = client.post("/api/v1/checkins", json={"instrument": "gad7", "answers": [3] * 7}, headers=headers)
    assert response.status_code == 201
    assert (response.get_json()["total"], response.get_json()["severity"]) == (21, "severe")


@pytest.mark.parametrize("raw", ['{"instrument": "phq9", "answers": [0,0', "not json", "[1, 2", '{"a": }'])
def test_malformed_json_is_400(
    client: FlaskClient, headers: dict[str, str], fetch: Callable[..., list[Any]], raw: str
) -> None:
    response = client.post("/api/v1/checkins", data=raw, content_type="application/json", headers=headers)
    assert response.status_code == 400 and response.mimetype == PROBLEM
    assert fetch(sa.select(CheckIn)) == []


def test_json_that_is_not_an_object_is_422(client: FlaskClient, headers: dict[str, str]) -> None:
    response = client.post("/api/v1/checkins", json=[1, 2, 3], headers=headers)
    assert response.status_code == 422 and response.mimetype == PROBLEM


def test_huge_body_is_413(client: FlaskClient, headers: dict[str, str], fetch: Callable[..., list[Any]]) -> None:
    body = '{"instrument": "phq9", "answers": [' + ",".join(["0"] * 40000) + "]}"
    response = client.post("/api/v1/checkins", data=body, content_type="application/json", headers=headers)
    assert response.status_code == 413 and response.mimetype == PROBLEM
    assert fetch(sa.select(CheckIn)) == []


def test_retry_with_the_same_key_returns_the_first_answer(
    client: FlaskClient, headers: dict[str, str], fetch: Callable[..., list[Any]], clock: FrozenClock
) -> None:
    keyed = {**headers, "Idempotency-Key": "phone-retry-1"}
    first = client.post("/api/v1/checkins", json=GOOD, headers=keyed)
    clock.advance(minutes=3)
    second = client.post("/api/v1/checkins", json=GOOD, headers=keyed)
    assert first.status_code == second.status_code == 201
    assert first.get_json() == second.get_json()
    assert second.headers["Idempotent-Replayed"] == "true"
    assert len(fetch(sa.select(CheckIn))) == 1
    other = client.post("/api/v1/checkins", json={**GOOD, "difficulty": 0}, headers=keyed)
    assert other.status_code == 422 and other.get_json()["errors"][0]["field"] == "Idempotency-Key"
    assert client.post("/api/v1/checkins", json=GOOD, headers=headers).status_code == 201
    assert len(fetch(sa.select(CheckIn))) == 2


def test_the_same_key_after_24_hours_creates_anew(
    client: FlaskClient, headers: dict[str, str], fetch: Callable[..., list[Any]], clock: FrozenClock
) -> None:
    keyed = {**headers, "Idempotency-Key": "k"}
    client.post("/api/v1/checkins", json=GOOD, headers=keyed)
    clock.advance(hours=24, seconds=1)
    assert "Idempotent-Replayed" not in client.post("/api/v1/checkins", json=GOOD, headers=keyed).headers
    assert len(fetch(sa.select(CheckIn))) == 2


def test_a_failed_request_does_not_use_up_the_key(
    client: FlaskClient, headers: dict[str, str], fetch: Callable[..., list[Any]]
) -> None:
    keyed = {**headers, "Idempotency-Key": "k2"}
    assert client.post("/api/v1/checkins", json={"instrument": "phq9"}, headers=keyed).status_code == 422
    assert client.post("/api/v1/checkins", json=GOOD, headers=keyed).status_code == 201


def test_list_is_newest_first_with_a_cursor(
    client: FlaskClient, headers: dict[str, str], factory: Factory, patient: Patient
) -> None:
    made = [factory.checkin(patient, total=t, days_ago=10 - t) for t in range(5)]
    page = client.get("/api/v1/checkins?limit=2", headers=headers).get_json()
    assert [c["id"] for c in page["items"]] == [str(made[4].id), str(made[3].id)]
    seen = [c["id"] for c in page["items"]]
    while page["next_cursor"]:
        page = client.get(f"/api/v1/checkins?limit=2&cursor={page['next_cursor']}", headers=headers).get_json()
        seen += [c["id"] for c in page["items"]]
    assert seen == [str(m.id) for m in reversed(made)]


@pytest.mark.parametrize("query", ["limit=0", "limit=201", "limit=abc", "cursor=garbage!!", "cursor=eyJhIjoxfQ"])
def test_bad_paging_arguments_are_refused(client: FlaskClient, headers: dict[str, str], query: str) -> None:
    response = client.get(f"/api/v1/checkins?{query}", headers=headers)
    # A cursor the list did not give out is a bad request (400); a limit out of bounds an invalid value (422).
    assert response.status_code == (400 if query.startswith("cursor") else 422) and response.mimetype == PROBLEM
    assert response.get_json()["errors"][0]["field"] in ("limit", "cursor")


def test_a_patient_sees_only_their_own_check_ins(
    client: FlaskClient, headers: dict[str, str], factory: Factory, patient: Patient
) -> None:
    mine = factory.checkin(patient, total=4)
    theirs = factory.checkin(factory.patient(), total=6)
    assert client.get(f"/api/v1/checkins/{mine.id}", headers=headers).get_json()["total"] == 4
    for other in (theirs.id, "not-an-id", "00000000-0000-0000-0000-000000000000"):
        response = client.get(f"/api/v1/checkins/{other}", headers=headers)
        assert response.status_code == 404 and response.mimetype == PROBLEM
    assert [c["id"] for c in client.get("/api/v1/checkins", headers=headers).get_json()["items"]] == [str(mine.id)]


def test_a_stored_item9_check_in_shows_safety_again(
    client: FlaskClient, headers: dict[str, str], factory: Factory, patient: Patient
) -> None:
    row = factory.checkin(patient, answers=[0] * 8 + [1])
    assert client.get(f"/api/v1/checkins/{row.id}", headers=headers).get_json()["safety"]["resources"]


def test_questionnaire_document(client: FlaskClient, headers: dict[str, str]) -> None:
    body = client.get("/api/v1/instruments/phq9", headers=headers).get_json()
    assert body["loinc"] == "44249-1" and len(body["items"]) == 9
    assert body["items"][8]["loinc"] == "44260-8"
    assert [o["loinc"] for o in body["options"]] == ["LA6568-5", "LA6569-3", "LA6570-1", "LA6571-9"]
    assert {o["value"]: o["loinc"] for o in body["difficulty"]["options"]}[3] == "LA6574-3"


# The clinic's entry


def test_clinic_entry_with_taken_at(
    client: FlaskClient,
    factory: Factory,
    patient: Patient,
    bearer: Callable[..., Any],
    fetch: Callable[..., list[Any]],
    clock: FrozenClock,
) -> None:
    doc = factory.staff_for(patient)
    headers = bearer(doc)
    taken = (clock.current - timedelta(days=1)).isoformat()
    response = client.post(
        f"/api/v1/clinic/patients/{patient.id}/checkins", json={**GOOD, "taken_at": taken}, headers=headers
    )
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["source"] == "clinic" and body["taken_at"] == taken
    [row] = fetch(sa.select(CheckIn))
    assert row.entered_by_id == doc.id
    listing = client.get(f"/api/v1/clinic/patients/{patient.id}/checkins", headers=headers).get_json()
    assert [c["id"] for c in listing["items"]] == [body["id"]]
    actions = [e.action for e in fetch(sa.select(AuditEvent).order_by(AuditEvent.at))]
    assert "checkin.create" in actions and "checkins.read" in actions


@pytest.mark.parametrize("taken_at", ["2999-01-01T00:00:00+00:00", "yesterday", "2026-11-20T10:00:00", "", None, 12])
def test_clinic_entry_refuses_bad_taken_at(
    client: FlaskClient,
    factory: Factory,
    patient: Patient,
    bearer: Callable[..., Any],
    fetch: Callable[..., list[Any]],
    taken_at: Any,
) -> None:
    doc = factory.staff_for(patient)
    response = client.post(
        f"/api/v1/clinic/patients/{patient.id}/checkins", json={**GOOD, "taken_at": taken_at}, headers=bearer(doc)
    )
    assert response.status_code == 422 and response.mimetype == PROBLEM
    assert [e["field"] for e in response.get_json()["errors"]] == ["taken_at"]
    assert fetch(sa.select(CheckIn)) == []


def test_clinician_of_another_clinic_gets_404(
    client: FlaskClient,
    factory: Factory,
    patient: Patient,
    bearer: Callable[..., Any],
    fetch: Callable[..., list[Any]],
    clock: FrozenClock,
) -> None:
    stranger = bearer(factory.user(factory.clinic("Elsewhere")))
    factory.checkin(patient, total=5)
    url = f"/api/v1/clinic/patients/{patient.id}/checkins"
    assert client.get(url, headers=stranger).status_code == 404
    body = {**GOOD, "taken_at": (clock.current - timedelta(hours=1)).isoformat()}
    assert client.post(url, json=body, headers=stranger).status_code == 404
    assert len(fetch(sa.select(CheckIn))) == 1
    assert fetch(sa.select(AuditEvent)) == []


def test_clinic_patient_list(
    client: FlaskClient, factory: Factory, patient: Patient, bearer: Callable[..., Any]
) -> None:
    headers = bearer(factory.staff_for(patient))
    factory.checkin(patient, total=12, days_ago=2)
    factory.patient(factory.clinic("Elsewhere"))
    body = client.get("/api/v1/clinic/patients", headers=headers).get_json()
    [item] = body["items"]
    assert item["id"] == str(patient.id) and item["latest_total"] == 12 and item["days_since_last_checkin"] == 2
    assert body["next_cursor"] is None
    assert client.get("/api/v1/clinic/patients?needs_attention=true", headers=headers).get_json()["items"] == []
    bad = client.get("/api/v1/clinic/patients?sort=shoe_size&cursor=zzz", headers=headers)
    assert bad.status_code == 422 and {e["field"] for e in bad.get_json()["errors"]} == {"sort"}
    assert client.get("/api/v1/clinic/patients?cursor=zzz", headers=headers).status_code == 400


@pytest.mark.parametrize(
    "cursor",
    [
        "zzz",
        "eyJvIjogMTAwMDAwMDAwMDAwMDAwMDAwMDAwMDB9",  # {"o": 10**24}, unsigned
        "WyIwMDAxLTAxLTAxVDAwOjAwOjAwKzE0OjAwIiwgIjAwMDAwMDAwLTAwMDAtMDAwMC0wMDAwLTAwMDAwMDAwMDAwMCJd",  # year 1
        "W1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbXV1dXV1dXV1dXV1dXV1dXV1dXV1dXV1dXV0",
        "a" * 300,
    ],
)
def test_a_cursor_the_api_did_not_give_out_is_a_400(
    client: FlaskClient, factory: Factory, bearer: Callable[..., Any], cursor: str
) -> None:
    patient = factory.patient()
    staff = bearer(factory.staff_for(patient))
    for path in (
        "/api/v1/clinic/patients",
        f"/api/v1/clinic/patients/{patient.id}/checkins",
        "/api/v1/checkins",
        "/api/v1/clinic/booster-requests",
        "/api/v1/clinic/alerts",
    ):
        headers = bearer(patient) if path == "/api/v1/checkins" else staff
        response = client.get(path, query_string={"cursor": cursor}, headers=headers)
        assert response.status_code == 400, (path, response.status_code)
        assert response.get_json()["errors"][0]["field"] == "cursor"
