"""One-line fields refuse line breaks and controls, on the API and the web forms; notes and reasons keep their lines."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from conftest import AuthActions, csrf_token_from
from factories import Factory
from flask.testing import FlaskClient

from tracker.plain_text import one_line_problem

BREAKS = ["Ann\nLee", "Ann\rLee", "Ann\r\nLee", "Ann\u2028Lee", "Ann\u2029Lee", "Ann\x85Lee"]
ENROL = {"display_name": "Ann Lee", "phone": "+13125550177", "timezone": "America/Chicago"}


@pytest.mark.parametrize("text", [*BREAKS, "Ann\u202eLee", "Ann\x1b[31mLee", "Ann\x00"])
def test_the_rule_refuses_every_break_and_control(text: str) -> None:
    assert one_line_problem(text) is not None


@pytest.mark.parametrize(
    "text", ["Ann Lee", "Zoë O'Brien-Smith", "李小龍", "+1 (312) 555-0123", "a@b.example", "Ann\tLee"]
)
def test_the_rule_lets_a_name_a_phone_an_email_through(text: str) -> None:
    assert one_line_problem(text) is None


@pytest.mark.parametrize("field", ["display_name", "phone", "email", "timezone"])
@pytest.mark.parametrize("text", BREAKS)
def test_enrolment_refuses_a_broken_line_naming_the_field(
    client: FlaskClient, factory: Factory, bearer: Callable[..., Any], field: str, text: str
) -> None:
    clinic = factory.clinic(oncall_phone="+13125550100")
    response = client.post("/api/v1/clinic/patients", json={**ENROL, field: text}, headers=bearer(factory.user(clinic)))
    assert response.status_code == 422, response.get_json()
    assert [e["field"] for e in response.get_json()["errors"]] == [field]


@pytest.mark.parametrize("field", ["display_name", "phone", "email", "timezone"])
@pytest.mark.parametrize("text", ["Alice\nEvil", "Alice\r\nEvil", "Alice\n"])
def test_the_enrolment_form_refuses_a_broken_line_beside_the_field(
    client: FlaskClient, factory: Factory, field: str, text: str
) -> None:
    clinic = factory.clinic(oncall_phone="+13125550100")
    AuthActions(client).login(factory.user(clinic).email or "")
    token = csrf_token_from(client.get("/clinic/patients/new").get_data(as_text=True))
    response = client.post("/clinic/patients/new", data={"csrf_token": token, **ENROL, field: text})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert f'id="{field}-error">This field must be one line: remove the line break.' in page
    assert "Please correct the marked field." in page


@pytest.mark.parametrize("text", BREAKS[:3])
def test_other_one_line_api_fields_refuse_it_too(
    client: FlaskClient, factory: Factory, bearer: Callable[..., Any], text: str
) -> None:
    patient = factory.patient()
    staff = bearer(factory.staff_for(patient, role="admin"))
    answers = [
        ("field", client.post("/api/v1/auth/token", json={"username": f"a{text}@b.example", "password": "x"})),
        ("q", client.get("/api/v1/clinic/patients", query_string={"q": text}, headers=staff)),
        ("name", client.patch("/api/v1/clinic/settings", json={"name": text}, headers=staff)),
        (
            "display_name",
            client.patch(f"/api/v1/clinic/patients/{patient.id}", json={"display_name": text}, headers=staff),
        ),
        ("timezone", client.patch("/api/v1/me", json={"timezone": f"Europe/{text}"}, headers=bearer(patient))),
    ]
    for expected, response in answers:
        assert response.status_code == 422, (expected, response.status_code)
        fields = [e["field"] for e in response.get_json()["errors"]]
        assert fields == [{"field": "username"}.get(expected, expected)], fields


def test_a_reason_keeps_its_lines(client: FlaskClient, factory: Factory, bearer: Callable[..., Any]) -> None:
    patient = factory.patient()
    reason = "Feeling worse since the move.\nSleeping badly.\r\nAsked by phone."
    response = client.post(
        f"/api/v1/clinic/patients/{patient.id}/booster-requests",
        json={"reason": reason},
        headers=bearer(factory.staff_for(patient)),
    )
    assert response.status_code == 201, response.get_json()


def test_the_openapi_document_states_the_one_line_pattern(client: FlaskClient) -> None:
    schemas = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]
    one_line = re.compile(schemas["PatientCreate"]["properties"]["display_name"]["pattern"])
    assert one_line.fullmatch("Zoë O'Brien") and not any(one_line.fullmatch(text) for text in BREAKS)
    reason = re.compile(schemas["Reason"]["properties"]["reason"].get("pattern", ".*"), re.DOTALL)
    assert reason.fullmatch("Worse since the move.\nSleeping badly.")


@pytest.mark.parametrize("text", BREAKS)
def test_the_login_form_says_beside_the_field_that_it_is_one_line(client: FlaskClient, text: str) -> None:
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"username": f"a{text}b@x.example", "password": "x", "csrf_token": token})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert '<p class="error" id="username-error">This field must be one line: remove the line break.</p>' in page


@pytest.mark.parametrize("text", ["Lee\nSmith", "Lee\r\nSmith", "Lee\u2029Smith"])
def test_the_patient_search_says_so_beside_the_box(client: FlaskClient, factory: Factory, text: str) -> None:
    AuthActions(client).login(factory.user().email or "")
    response = client.get("/clinic/patients", query_string={"q": text})
    assert response.status_code == 200
    assert '<p class="error" id="q-error">This field must be one line: remove the line break.</p>' in response.get_data(
        as_text=True
    )


@pytest.mark.parametrize("text", ["America/\nChicago", "America/Chicago\r\nX"])
def test_the_reminder_zone_is_one_line_and_the_phase_reason_keeps_its_lines(
    client: FlaskClient, factory: Factory, text: str
) -> None:
    patient = factory.patient()
    AuthActions(client).login(factory.staff_for(patient).email or "")
    token = csrf_token_from(client.get(f"/clinic/patients/{patient.id}").get_data(as_text=True))
    form = {"reminders-csrf_token": token, "reminders-weekday": "0", "reminders-local_time": "09:00"}
    response = client.post(f"/clinic/patients/{patient.id}/reminders", data={**form, "reminders-timezone": text})
    assert response.status_code == 422
    assert 'id="reminders-timezone-error">This field must be one line' in response.get_data(as_text=True)
    phase = {"phase-csrf_token": token, "phase-phase": "maintenance", "phase-reason": "Stable.\r\nAsked for monthly."}
    assert client.post(f"/clinic/patients/{patient.id}/phase", data=phase).status_code in (302, 303)


@pytest.mark.parametrize(
    "target", ["/clinic/\r\nSet-Cookie: x=1", "/clinic\nx", "/clinic/\u2028Location: //evil", "/clinic\x85x"]
)
def test_a_login_next_with_a_line_break_goes_home(client: FlaskClient, factory: Factory, target: str) -> None:
    user = factory.user()
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    response = client.post(
        "/login",
        query_string={"next": target},
        data={"username": user.email, "password": "correct horse battery", "csrf_token": token},
    )
    assert response.status_code == 302
    assert "\n" not in response.headers["Location"] and "\r" not in response.headers["Location"]
    assert response.headers["Location"] == "/"
