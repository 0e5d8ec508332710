"""Dates and numbers are bounded where they are read (API.md, issue 12): nothing stored can break a page later."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from conftest import AuthActions, csrf_token_from
from factories import Factory
from flask.testing import FlaskClient

from tracker.models import CheckIn, Infusion

EDGES = ["0001-01-01T00:00:00+00:00", "0001-01-01T00:00:00+23:59", "9999-12-31T23:59:59-23:59", "1999-12-31T23:00:00Z"]


@pytest.mark.parametrize("moment", EDGES)
def test_a_clinic_check_in_dated_past_the_calendar_is_a_422(
    client: FlaskClient, factory: Factory, bearer: Callable[..., Any], fetch: Callable[..., list[Any]], moment: str
) -> None:
    patient = factory.patient(factory.clinic(oncall_phone="+13125550100"))
    body = {"instrument": "phq9", "answers": [0] * 9, "taken_at": moment}
    response = client.post(
        f"/api/v1/clinic/patients/{patient.id}/checkins", json=body, headers=bearer(factory.staff_for(patient))
    )
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["errors"][0]["field"] == "taken_at"
    assert fetch(sa.select(CheckIn)) == []


@pytest.mark.parametrize("moment", [*EDGES, "9999-12-31T23:59:59.999999+00:00"])
def test_an_infusion_dated_past_the_calendar_is_a_422(
    client: FlaskClient, factory: Factory, bearer: Callable[..., Any], fetch: Callable[..., list[Any]], moment: str
) -> None:
    patient = factory.patient()
    headers = bearer(factory.staff_for(patient))
    for body in (
        {"kind": "booster", "status": "scheduled", "scheduled_for": moment},
        {"kind": "booster", "status": "given", "given_at": moment},
    ):
        response = client.post(f"/api/v1/clinic/patients/{patient.id}/infusions", json=body, headers=headers)
        assert response.status_code == 422, (body, response.get_json())
    assert fetch(sa.select(Infusion)) == []


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("infusion-when", "0001-01-01T00:00"),
        ("infusion-when", "9999-12-31T23:59"),
        ("infusion-weight_kg", "nan"),
        ("infusion-dose_mg_per_kg", "NaN"),
        ("infusion-weight_kg", "1e999999"),
    ],
)
def test_the_infusion_form_refuses_what_no_visit_can_be_and_the_page_still_draws(
    client: FlaskClient, factory: Factory, fetch: Callable[..., list[Any]], field: str, value: str
) -> None:
    patient = factory.patient()
    AuthActions(client).login(factory.staff_for(patient).email or "")
    page = client.get(f"/clinic/patients/{patient.id}")
    token = csrf_token_from(page.get_data(as_text=True))
    form = {
        "infusion-csrf_token": token,
        "csrf_token": token,
        "infusion-kind": "booster",
        "infusion-status": "given",
        "infusion-when": "2026-11-20T10:00",
        "infusion-dose_mg_per_kg": "0.5",
        "infusion-weight_kg": "70",
        field: value,
    }
    response = client.post(f"/clinic/patients/{patient.id}/infusions", data=form)
    assert response.status_code in (400, 422), response.status_code
    assert fetch(sa.select(Infusion)) == []
    assert client.get(f"/clinic/patients/{patient.id}").status_code == 200


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01", "1999-12-31"])
def test_a_far_date_in_the_audit_filter_is_a_message_not_a_500(client: FlaskClient, factory: Factory, day: str) -> None:
    admin = factory.user(role="admin")
    AuthActions(client).login(admin.email or "")
    for name in ("date_from", "date_to"):
        response = client.get(f"/admin/audit?{name}={day}")
        assert response.status_code == 422, (name, response.status_code)
        assert "between 2000-01-01 and 2100-12-31" in response.get_data(as_text=True)


def test_the_same_infusion_form_with_plausible_values_is_saved(
    client: FlaskClient, factory: Factory, fetch: Callable[..., list[Any]]
) -> None:
    """The refusals above are the values', not the form's: the same post with good values is saved."""
    patient = factory.patient()
    AuthActions(client).login(factory.staff_for(patient).email or "")
    token = csrf_token_from(client.get(f"/clinic/patients/{patient.id}").get_data(as_text=True))
    form = {
        "infusion-csrf_token": token,
        "csrf_token": token,
        "infusion-kind": "booster",
        "infusion-status": "given",
        "infusion-when": "2026-11-20T10:00",
        "infusion-dose_mg_per_kg": "0.5",
        "infusion-weight_kg": "70",
    }
    response = client.post(f"/clinic/patients/{patient.id}/infusions", data=form)
    assert response.status_code in (302, 303), response.status_code
    assert len(fetch(sa.select(Infusion))) == 1
