"""A body on the API must be declared JSON: one sent as anything else is a 415 saying so, never read as empty."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from factories import Factory
from flask.testing import FlaskClient

from tracker.models import Clinic

BODY = json.dumps({"safety_ack_minutes": 20})


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded"])
def test_a_settings_patch_not_declared_json_is_refused_and_changes_nothing(
    client: FlaskClient,
    factory: Factory,
    bearer: Callable[[Any], dict[str, str]],
    fetch: Callable[..., list[Any]],
    content_type: str | None,
) -> None:
    clinic = factory.clinic()
    admin = factory.user(clinic, "admin", email="admin@example.org")
    before = fetch(sa.select(Clinic.safety_ack_minutes).where(Clinic.id == clinic.id))
    assert before != [20]
    headers = bearer(admin) | ({"Content-Type": content_type} if content_type else {})
    response = client.patch("/api/v1/clinic/settings", data=BODY, headers=headers)
    assert response.status_code == 415
    assert response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert problem["status"] == 415 and "application/json" in problem["detail"]
    assert fetch(sa.select(Clinic.safety_ack_minutes).where(Clinic.id == clinic.id)) == before
    # Declared JSON, the same body is read.
    assert (
        client.patch(
            "/api/v1/clinic/settings", data=BODY, headers=bearer(admin) | {"Content-Type": "application/json"}
        ).status_code
        == 200
    )
    assert fetch(sa.select(Clinic.safety_ack_minutes).where(Clinic.id == clinic.id)) == [20]


def test_a_post_not_declared_json_is_a_415_not_missing_fields(client: FlaskClient, factory: Factory) -> None:
    factory.user(email="doc@example.org")
    body = json.dumps({"username": "doc@example.org", "password": "whatever-it-is"})
    response = client.post("/api/v1/auth/token", data=body, headers={"Content-Type": "text/plain"})
    assert response.status_code == 415
    assert "Missing data" not in response.get_data(as_text=True)


def test_a_json_based_type_is_json_and_an_empty_body_needs_no_type(
    client: FlaskClient, factory: Factory, bearer: Callable[[Any], dict[str, str]]
) -> None:
    clinic = factory.clinic()
    admin = factory.user(clinic, "admin", email="admin@example.org")
    merge = {"Content-Type": "application/merge-patch+json"}
    assert client.patch("/api/v1/clinic/settings", data=BODY, headers=bearer(admin) | merge).status_code == 200
    # A route that takes no body: an empty one, with no type, is fine.
    assert client.delete("/api/v1/auth/token", headers=bearer(admin)).status_code == 204
    assert client.post("/api/v1/auth/token", data=b"").status_code == 422  # read as JSON with nothing in it


def test_the_document_says_so(client: FlaskClient) -> None:
    document = client.get("/api/v1/openapi.json").get_json()
    refused = document["paths"]["/api/v1/clinic/settings"]["patch"]["responses"]["415"]
    assert "application/problem+json" in refused["content"]
    assert "415" not in document["paths"]["/api/v1/clinic/settings"]["get"]["responses"]  # takes no body
