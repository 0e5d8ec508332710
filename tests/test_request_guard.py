"""Input no field can mean never reaches a view (tracker/request_guard.py): no 5xx, a clear answer instead."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from conftest import AuthActions, csrf_token_from
from factories import Factory
from flask.testing import FlaskClient

from tracker.models import CheckIn
from tracker.request_guard import MAX_DEPTH, json_depth

PROBLEM = "application/problem+json"
GOOD = {"instrument": "phq9", "answers": [1, 1, 1, 0, 0, 0, 0, 0, 0]}


@pytest.mark.parametrize(
    ("text", "depth"),
    [("{}", 1), ("[[[]]]", 3), ('{"a": "[[[[["}', 1), ('["\\"[[[["]', 1), ("3", 0), ('{"a": [{"b": []}]}', 4)],
)
def test_the_depth_is_read_without_parsing(text: str, depth: int) -> None:
    assert json_depth(text.encode()) == depth


@pytest.mark.parametrize("shape", ["[" * 100_000, "[" * 40 + "]" * 40, '{"a":' * 5_000 + "1" + "}" * 5_000])
def test_deeply_nested_json_is_a_400_not_a_recursion(
    client: FlaskClient, factory: Factory, bearer: Callable[..., Any], shape: str
) -> None:
    headers = {**bearer(factory.patient()), "Content-Type": "application/json"}
    for path in ("/api/v1/checkins", "/api/v1/auth/token"):
        response = client.post(path, data=shape, headers=headers)
        assert response.status_code in (400, 413), (path, response.status_code)
        assert response.mimetype == PROBLEM


def test_json_nested_within_the_limit_is_read(
    client: FlaskClient, factory: Factory, bearer: Callable[..., Any]
) -> None:
    body = {"instrument": "phq9", "answers": GOOD["answers"], "extra": [[[]]] * 2}
    assert json_depth(str(body).encode()) < MAX_DEPTH
    assert client.post("/api/v1/checkins", json=body, headers=bearer(factory.patient())).status_code in (201, 422)


@pytest.mark.parametrize("bad", ["\x00", "a\x00b", "\u202eevil", "\x1b[31mred", "\x7f", "\u2066x\u2069"])
def test_unsafe_characters_in_any_api_string_are_a_422_naming_the_field(
    client: FlaskClient, factory: Factory, bearer: Callable[..., Any], fetch: Callable[..., list[Any]], bad: str
) -> None:
    patient = factory.patient()
    headers = bearer(patient)
    response = client.post("/api/v1/checkins", json={**GOOD, "instrument": bad}, headers=headers)
    assert response.status_code == 422 and response.mimetype == PROBLEM
    assert [e["field"] for e in response.get_json()["errors"]] == ["instrument"]
    nested = client.patch("/api/v1/me", json={"reminders": {"local_time": f"09:00{bad}"}}, headers=headers)
    assert nested.status_code == 422
    assert [e["field"] for e in nested.get_json()["errors"]] == ["reminders.local_time"]
    staff = bearer(factory.staff_for(patient))
    search = client.get(f"/api/v1/clinic/patients?q=Pat{bad}", headers=staff)
    assert search.status_code == 422 and search.get_json()["errors"][0]["field"] == "q"
    assert fetch(sa.select(CheckIn)) == []


def test_line_breaks_and_tabs_are_words_not_unsafe(
    client: FlaskClient, factory: Factory, bearer: Callable[..., Any]
) -> None:
    response = client.get("/api/v1/clinic/patients?q=a%09b", headers=bearer(factory.user()))
    assert response.status_code == 200


def test_a_web_search_with_nul_shows_the_page_without_it(client: FlaskClient, factory: Factory) -> None:
    clinic = factory.clinic()
    factory.patient(clinic, display_name="Hayden Parker")
    staff = factory.user(clinic)
    AuthActions(client).login(staff.email or "")
    page = client.get("/clinic/patients?q=Hay%00den")
    assert page.status_code == 200
    assert "Hayden Parker" in page.get_data(as_text=True)


def test_a_web_form_keeps_its_words_without_the_unsafe_characters(
    client: FlaskClient, factory: Factory, fetch: Callable[..., list[Any]]
) -> None:
    patient = factory.patient()
    AuthActions(client).login(patient.phone)
    page = client.get("/me/checkin")
    token = csrf_token_from(page.get_data(as_text=True))
    form = {f"item{n}": "1" for n in range(1, 10)} | {"item9": "0", "csrf_token": token, "difficulty": "1\x00"}
    response = client.post("/me/checkin", data=form)
    assert response.status_code in (302, 303)
    [row] = fetch(sa.select(CheckIn).where(CheckIn.patient_id == patient.id))
    assert row.total == 8 and row.difficulty == 1


def test_a_lone_surrogate_is_unsafe_everywhere_before_login_too(client: FlaskClient) -> None:
    for field in ("username", "password"):
        body = '{"username": "a@example.org", "password": "x"}'.replace(f'"{field}": "', f'"{field}": "\\ud800')
        response = client.post("/api/v1/auth/token", data=body, content_type="application/json")
        assert response.status_code == 422, field
        assert response.get_json()["errors"][0]["field"] == field


@pytest.mark.parametrize("digits", [41, 4_301, 20_000])
def test_a_number_too_long_for_any_field_is_a_400(client: FlaskClient, digits: int) -> None:
    body = '{"username": ' + "9" * digits + ', "password": "x"}'
    response = client.post("/api/v1/auth/token", data=body, content_type="application/json")
    assert response.status_code in (400, 413) and response.mimetype == PROBLEM


def test_a_form_field_sent_as_a_file_is_a_400_not_a_500(client: FlaskClient) -> None:
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    data = {"csrf_token": token, "username": (io.BytesIO(b"a@example.org"), "a.txt"), "password": "x"}
    response = client.post("/login", data=data, content_type="multipart/form-data")
    assert response.status_code == 400


@pytest.mark.parametrize("page", ["1000000000000000000", "9223372036854775808", "999999999999999999999", "10001"])
def test_page_numbers_past_any_list_are_not_found_or_the_first(
    client: FlaskClient, factory: Factory, page: str
) -> None:
    patient = factory.patient()
    AuthActions(client).login(patient.phone)
    assert client.get(f"/me/history?page={page}").status_code == 404
    staff_client = client.application.test_client()
    AuthActions(staff_client).login(factory.staff_for(patient).email or "")
    assert staff_client.get(f"/clinic/patients?page={page}").status_code in (200, 422)
