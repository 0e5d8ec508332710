"""schemathesis fuzzes the API from its own OpenAPI document: no 5xx, no answer that breaks the document."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from conftest import make_test_app
from factories import Factory
from flask import Flask
from flask_migrate import upgrade
from hypothesis import HealthCheck, Phase, find, settings
from hypothesis.errors import NoSuchExample
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tracker.extensions import db
from tracker.models import User
from tracker.services.accounts import tokens

CHECKS = [
    not_a_server_error,
    response_schema_conformance,
    content_type_conformance,
    status_code_conformance,
    response_headers_conformance,
]


# An app with a database of its own: fuzzed requests really commit, so they stay out of other tests.
# It is built at import because schemathesis reads the document when the tests are collected.
FUZZ_DIR = Path(tempfile.mkdtemp(prefix="tracker-fuzz-"))
FUZZ_APP = make_test_app(f"sqlite:///{FUZZ_DIR / 'fuzz.sqlite3'}", FUZZ_DIR)
schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", FUZZ_APP)


@pytest.fixture(scope="module")
def fuzz_app() -> Iterator[Flask]:
    with FUZZ_APP.app_context():
        upgrade()
    yield FUZZ_APP
    with FUZZ_APP.app_context():
        db.engine.dispose()
    shutil.rmtree(FUZZ_DIR, ignore_errors=True)


@pytest.fixture(scope="module")
def people(fuzz_app: Flask) -> dict[str, Any]:
    factory = Factory(fuzz_app)
    clinic = factory.clinic("Fuzz Clinic", oncall_phone="+13125550101")
    patient = factory.patient(clinic)
    staff = factory.user(clinic)
    for total in (3, 12, 18):
        factory.checkin(patient, total=total, days_ago=total)
    return {"patient": patient, "staff": staff}


def bearer_for(app: Flask, user_id: Any) -> dict[str, str]:
    with app.app_context():
        issued = tokens.issue(db.session.get(User, user_id))  # type: ignore[arg-type]
        db.session.commit()
        return {"Authorization": f"Bearer {issued.secret}"}


def call(case: Any, fuzz_app: Flask, people: dict[str, Any]) -> Any:
    """Send a generated case as the clinic's staff or as the patient, and check the answer against the document."""
    user_id = people["staff"].id if case.path.startswith("/api/v1/clinic") else people["patient"].user_id
    # Each call gets its own token, so DELETE /auth/token cannot log the rest of the run out.
    case.headers = {**(case.headers or {}), **bearer_for(fuzz_app, user_id)}
    return case.call_and_validate(checks=CHECKS)


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_document(case: Any, fuzz_app: Flask, people: dict[str, Any]) -> None:
    call(case, fuzz_app, people)


# Generate only, and stop at the first case that gets through: no shrinking, no example database.
FIRST_THROUGH = settings(
    max_examples=25,
    deadline=None,
    database=None,
    phases=[Phase.generate],
    suppress_health_check=list(HealthCheck),
)


def test_the_fuzzing_reached_past_authentication(fuzz_app: Flask, people: dict[str, Any]) -> None:
    """Guards the fuzzing above: had every call been refused at the door, it would have proven nothing.

    It sends its own generated cases, as the fuzz test sends them, so it holds alone and in any order.
    """

    def reaches(label: str, wanted: Callable[[int], bool]) -> bool:
        method, path = label.split(" ")
        try:
            find(
                schema[path][method].as_strategy(),
                lambda case: wanted(call(case, fuzz_app, people).status_code),
                settings=FIRST_THROUGH,
            )
        except NoSuchExample:
            return False
        return True

    for operation in (
        "GET /api/v1/me",
        "PATCH /api/v1/me",
        "GET /api/v1/checkins",
        "POST /api/v1/checkins",
        "GET /api/v1/clinic/patients",
        "POST /api/v1/clinic/patients",
        "GET /api/v1/clinic/patients/{patient_id}/checkins",
    ):
        assert reaches(operation, lambda status: status not in (401, 403)), f"{operation} never got past authentication"
    assert reaches("GET /api/v1/me", lambda status: status == 200)
