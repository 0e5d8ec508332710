"""The API reads each kind of value one strict way, as its document writes it (API.md): ASCII digits, the JSON
literals true and false, HH:MM times, RFC 3339 moments, cursors that hold only on the list and for the caller
they were given to, and OPTIONS that answer without a page of HTML."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from factories import Factory
from flask.testing import FlaskClient

from tracker.models import Patient

PROBLEM = "application/problem+json"
CLINIC = {"name": "Lakeside", "oncall_phone": "+13125550101"}
Bearer = Callable[[Any], dict[str, str]]


def problem_fields(response: Any) -> set[str]:
    assert response.mimetype == PROBLEM, response.get_data(as_text=True)
    return {e["field"] for e in response.get_json()["errors"]}


@pytest.fixture
def staff(factory: Factory, patient: Patient, bearer: Bearer) -> dict[str, str]:
    return bearer(factory.staff_for(patient))


def list_paths(patient: Patient) -> list[str]:
    return [
        "/api/v1/clinic/patients",
        "/api/v1/clinic/alerts",
        "/api/v1/clinic/booster-requests",
        f"/api/v1/clinic/patients/{patient.id}/checkins",
        f"/api/v1/clinic/patients/{patient.id}/infusions",
    ]


# Python's int() reads every one of these as a number.
NOT_ASCII_DIGITS = ["１２", "٣", "१०", "1_0", " 12", "12 ", "+5", "-0", "1.0", "1e1"]


@pytest.mark.parametrize("limit", NOT_ASCII_DIGITS)
def test_a_limit_is_ascii_digits_only(
    client: FlaskClient, patient: Patient, bearer: Bearer, staff: dict[str, str], limit: str
) -> None:
    own = client.get("/api/v1/checkins", query_string={"limit": limit}, headers=bearer(patient))
    assert own.status_code == 422 and problem_fields(own) == {"limit"}
    for path in list_paths(patient):
        response = client.get(path, query_string={"limit": limit}, headers=staff)
        assert response.status_code == 422, (path, response.status_code)
        assert problem_fields(response) == {"limit"}


def test_an_ascii_limit_is_read(
    client: FlaskClient, factory: Factory, patient: Patient, bearer: Bearer, staff: dict[str, str]
) -> None:
    for days_ago in (1, 2, 3):
        factory.checkin(patient, total=5, days_ago=days_ago)
    page = client.get("/api/v1/checkins", query_string={"limit": "02"}, headers=bearer(patient)).get_json()
    assert len(page["items"]) == 2 and page["next_cursor"]
    for path in list_paths(patient):
        assert client.get(path, query_string={"limit": "200"}, headers=staff).status_code == 200, path


@pytest.mark.parametrize("dose", ["0.5", "０.５", True, [0.5], {"value": 0.5}])
def test_a_json_number_is_a_number(client: FlaskClient, patient: Patient, staff: dict[str, str], dose: Any) -> None:
    path = f"/api/v1/clinic/patients/{patient.id}/infusions"
    body = {"kind": "induction", "status": "scheduled", "scheduled_for": "2026-11-25T15:00:00Z"}
    refused = client.post(path, json={**body, "dose_mg_per_kg": dose}, headers=staff)
    assert refused.status_code == 422 and problem_fields(refused) == {"dose_mg_per_kg"}
    taken = client.post(path, json={**body, "dose_mg_per_kg": 0.5}, headers=staff)
    assert taken.status_code == 201 and taken.get_json()["dose_mg_per_kg"] == 0.5


@pytest.mark.parametrize("word", ["yes", "on", "1", "0", "True", "FALSE", "t", "", "null"])
def test_a_query_boolean_is_true_or_false(client: FlaskClient, staff: dict[str, str], word: str) -> None:
    response = client.get("/api/v1/clinic/patients", query_string={"needs_attention": word}, headers=staff)
    assert response.status_code == 422 and problem_fields(response) == {"needs_attention"}


def test_the_query_words_true_and_false_are_read(
    client: FlaskClient, factory: Factory, patient: Patient, staff: dict[str, str]
) -> None:
    factory.checkin(patient, total=6, days_ago=60)  # weeks without a check-in: it needs attention
    unfiltered = client.get("/api/v1/clinic/patients", headers=staff).get_json()["items"]
    wanting = client.get("/api/v1/clinic/patients?needs_attention=true", headers=staff).get_json()["items"]
    settled = client.get("/api/v1/clinic/patients?needs_attention=false", headers=staff).get_json()["items"]
    assert len(unfiltered) == 1 and len(wanting) + len(settled) == 1


@pytest.mark.parametrize("value", ["true", "false", 1, 0, "yes", "on", "null", [True]])
def test_a_json_boolean_is_true_or_false(
    client: FlaskClient, patient: Patient, bearer: Bearer, staff: dict[str, str], value: Any
) -> None:
    me = client.patch("/api/v1/me", json={"reminders": {"enabled": value}}, headers=bearer(patient))
    assert me.status_code == 422 and problem_fields(me) == {"reminders.enabled"}
    body = {"kind": "induction", "status": "scheduled", "scheduled_for": "2026-11-25T15:00:00Z"}
    infusion = client.post(
        f"/api/v1/clinic/patients/{patient.id}/infusions", json={**body, "ride_home_confirmed": value}, headers=staff
    )
    assert infusion.status_code == 422 and problem_fields(infusion) == {"ride_home_confirmed"}


def test_json_true_and_false_are_read(client: FlaskClient, patient: Patient, bearer: Bearer) -> None:
    headers = bearer(patient)
    for value in (False, True):
        response = client.patch("/api/v1/me", json={"reminders": {"enabled": value}}, headers=headers)
        assert response.status_code == 200 and response.get_json()["reminders"]["enabled"] is value


@pytest.mark.parametrize(
    "value", ["9:5", "9:05", "09:5", "09:05:00", "24:00", "12:60", "０９:３０", "09.05", " 09:05", "0905"]
)
def test_a_time_is_hh_mm(client: FlaskClient, patient: Patient, bearer: Bearer, value: str) -> None:
    response = client.patch("/api/v1/me", json={"reminders": {"local_time": value}}, headers=bearer(patient))
    assert response.status_code == 422 and problem_fields(response) == {"reminders.local_time"}


def test_an_hh_mm_time_is_read(client: FlaskClient, patient: Patient, bearer: Bearer) -> None:
    response = client.patch("/api/v1/me", json={"reminders": {"local_time": "07:05"}}, headers=bearer(patient))
    assert response.status_code == 200 and response.get_json()["reminders"]["local_time"] == "07:05"


@pytest.mark.parametrize(
    "taken_at",
    [
        "２０２６-11-20T10:00:00Z",  # full-width digits
        "2026-11-20T10:00:00",  # no offset
        "2026-11-20 10:00:00Z",
        "2026-11-20T10:00Z",
        "2026-02-29T10:00:00Z",
        "1999-12-31T23:00:00Z",
        "2000-01-01T00:30:00+01:00",  # 1999 in UTC
        "2100-01-01T00:00:00Z",
        "20261120T100000Z",
    ],
)
def test_a_moment_is_rfc3339_within_the_years_we_keep(
    client: FlaskClient, patient: Patient, staff: dict[str, str], taken_at: str
) -> None:
    body = {"instrument": "phq9", "answers": [1] * 9, "taken_at": taken_at}
    response = client.post(f"/api/v1/clinic/patients/{patient.id}/checkins", json=body, headers=staff)
    assert response.status_code == 422 and problem_fields(response) == {"taken_at"}


def test_an_rfc3339_moment_is_read(client: FlaskClient, patient: Patient, staff: dict[str, str]) -> None:
    body = {"instrument": "phq9", "answers": [1] * 9, "taken_at": "2026-11-20T09:00:00.5-06:00"}
    response = client.post(f"/api/v1/clinic/patients/{patient.id}/checkins", json=body, headers=staff)
    assert response.status_code == 201 and response.get_json()["taken_at"].startswith("2026-11-20T09:00:00.5")


def first_cursor(client: FlaskClient, path: str, headers: dict[str, str]) -> str:
    page = client.get(path, query_string={"limit": 1}, headers=headers).get_json()
    assert page["next_cursor"], page
    return str(page["next_cursor"])


def test_a_cursor_holds_only_on_its_own_list_for_its_own_caller(
    client: FlaskClient, factory: Factory, patient: Patient, bearer: Bearer
) -> None:
    other = factory.patient(factory.clinic("Elsewhere"))
    sibling = factory.patient(factory.clinic("Lakeside North"))
    for person in (patient, other):
        for days_ago in (1, 2):
            factory.checkin(person, total=5, days_ago=days_ago)
    mine = bearer(patient)
    cursor = first_cursor(client, "/api/v1/checkins", mine)
    assert client.get("/api/v1/checkins", query_string={"cursor": cursor}, headers=mine).status_code == 200
    # Another caller on the same list, the same caller anew with another token, another list of the same kind.
    theirs = client.get("/api/v1/checkins", query_string={"cursor": cursor}, headers=bearer(other))
    assert theirs.status_code == 400 and problem_fields(theirs) == {"cursor"}
    again = client.get("/api/v1/checkins", query_string={"cursor": cursor}, headers=bearer(patient))
    assert again.status_code == 200
    staff = bearer(factory.staff_for(patient))
    for path in (
        f"/api/v1/clinic/patients/{patient.id}/checkins",
        f"/api/v1/clinic/patients/{patient.id}/infusions",
        "/api/v1/clinic/patients",
        "/api/v1/clinic/alerts",
    ):
        response = client.get(path, query_string={"cursor": cursor}, headers=staff)
        assert response.status_code == 400 and problem_fields(response) == {"cursor"}, path
    # Staff of one clinic on two of its patients' lists, and a colleague on the same list.
    factory.checkin(sibling, total=5)
    clinic_cursor = first_cursor(client, f"/api/v1/clinic/patients/{patient.id}/checkins", staff)
    for path, headers in (
        (f"/api/v1/clinic/patients/{other.id}/checkins", bearer(factory.staff_for(other))),
        (f"/api/v1/clinic/patients/{patient.id}/checkins", bearer(factory.staff_for(patient))),
    ):
        response = client.get(path, query_string={"cursor": clinic_cursor}, headers=headers)
        assert response.status_code == 400 and problem_fields(response) == {"cursor"}, path
    own = client.get(
        f"/api/v1/clinic/patients/{patient.id}/checkins", query_string={"cursor": clinic_cursor}, headers=staff
    )
    assert own.status_code == 200 and len(own.get_json()["items"]) == 1


def test_an_offset_cursor_holds_only_on_its_own_list(
    client: FlaskClient, factory: Factory, clinic: Any, bearer: Bearer
) -> None:
    for _ in range(2):
        factory.patient(clinic)
    staff = bearer(factory.user(clinic))
    cursor = first_cursor(client, "/api/v1/clinic/patients", staff)
    assert client.get("/api/v1/clinic/patients", query_string={"cursor": cursor}, headers=staff).status_code == 200
    for path in ("/api/v1/clinic/alerts", "/api/v1/clinic/booster-requests"):
        response = client.get(path, query_string={"cursor": cursor}, headers=staff)
        assert response.status_code == 400 and problem_fields(response) == {"cursor"}, path
    colleague = client.get(
        "/api/v1/clinic/patients", query_string={"cursor": cursor}, headers=bearer(factory.user(clinic))
    )
    assert colleague.status_code == 400 and problem_fields(colleague) == {"cursor"}


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        ("/api/v1/me", {"GET", "PATCH"}),
        ("/api/v1/checkins", {"GET", "POST"}),
        ("/api/v1/auth/token", {"POST", "DELETE"}),
        ("/api/v1/clinic/patients/{patient}", {"GET", "PATCH"}),
        ("/api/v1/clinic/settings", {"GET", "PATCH"}),
        ("/api/v1/openapi.json", {"GET"}),
    ],
)
def test_options_on_the_api_answer_allow_and_no_html(
    client: FlaskClient, patient: Patient, bearer: Bearer, path: str, allowed: set[str]
) -> None:
    url = path.format(patient=patient.id)
    for headers in ({}, bearer(patient)):
        response = client.options(url, headers=headers)
        assert response.status_code == 204 and response.get_data() == b""
        assert "html" not in (response.content_type or "")
        assert {m.strip() for m in response.headers["Allow"].split(",")} == allowed | {"OPTIONS"} | (
            {"HEAD"} if "GET" in allowed else set()
        )


@pytest.mark.parametrize("path", ["/api/v1/nowhere", "/api/v1/clinic/patients/x/y/z", "/api/"])
def test_options_on_no_route_is_a_problem(client: FlaskClient, path: str) -> None:
    response = client.options(path)
    assert response.status_code == 404 and response.mimetype == PROBLEM


@pytest.mark.parametrize("key", ["two words", "a" * 256, "tab\there", "ünïcode", ""])
def test_an_idempotency_key_is_visible_ascii(client: FlaskClient, patient: Patient, bearer: Bearer, key: str) -> None:
    headers = {**bearer(patient), "Idempotency-Key": key.encode().decode("latin-1")}
    body = {"instrument": "phq9", "answers": [1] * 9}
    response = client.post("/api/v1/checkins", json=body, headers=headers)
    assert response.status_code == 422 and problem_fields(response) == {"Idempotency-Key"}
    ok = client.post("/api/v1/checkins", json=body, headers={**headers, "Idempotency-Key": "a" * 254 + "~"})
    assert ok.status_code == 201


def test_the_text_pattern_is_the_request_guards_rule() -> None:
    """The document's pattern for text and tracker/plain_text.py refuse the same characters."""
    import re

    from tracker.api.schemas.common import TEXT_PATTERN
    from tracker.plain_text import UNSAFE

    for code in (c for c in range(0x10000) if not 0xD800 <= c <= 0xDFFF):
        char = chr(code)
        assert (re.fullmatch(TEXT_PATTERN, f"a{char}b") is None) == (UNSAFE.search(char) is not None), hex(code)


def test_the_document_states_the_constraints(client: FlaskClient) -> None:
    document = client.get("/api/v1/openapi.json").get_json()
    schemas, paths = document["components"]["schemas"], document["paths"]
    query = {p["name"]: p["schema"] for p in paths["/api/v1/checkins"]["get"]["parameters"]}
    assert (query["limit"]["minimum"], query["limit"]["maximum"]) == (1, 200)
    assert query["cursor"]["pattern"] and query["cursor"]["maxLength"] == 300
    counts = {
        v["properties"]["instrument"]["enum"][0]: v["properties"]["answers"] for v in schemas["CheckInCreate"]["oneOf"]
    }
    assert {name: (a["minItems"], a["maxItems"]) for name, a in counts.items()} == {"phq9": (9, 9), "gad7": (7, 7)}
    taken_at = schemas["ClinicCheckInCreate"]["oneOf"][0]["properties"]["taken_at"]
    assert "2000-01-01" in taken_at["description"] and "2100-01-01" in taken_at["description"]
    key = next(p for p in paths["/api/v1/checkins"]["post"]["parameters"] if p["name"] == "Idempotency-Key")
    assert key["schema"]["pattern"] == "^[!-~]{1,255}$"
    assert schemas["MePatch"]["properties"]["reminders"]
    assert paths["/api/v1/clinic/patients"]["get"]["responses"]["403"]
