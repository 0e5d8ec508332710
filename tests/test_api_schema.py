"""schemathesis fuzzes the API from its own OpenAPI document, with every check it has, as a clinician and as a
patient on every operation: no 5xx, no answer that breaks the document, nothing the document allows refused and
nothing it forbids taken.

It runs on SQLite, or under `--db=postgresql` in a schema of its own in TEST_POSTGRES_URL's database: the app is
built when the module is collected, as schemathesis reads the document then, so the database is chosen from the
command line there too.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import schemathesis
import sqlalchemy as sa
from conftest import TEST_NOW, _postgres_url, make_test_app
from factories import Factory
from flask import Flask
from flask_migrate import upgrade
from hypothesis import HealthCheck, Phase, find, settings
from hypothesis import strategies as st
from hypothesis.errors import NoSuchExample
from schemathesis.checks import CHECKS, load_all_checks
from schemathesis.core.parameters import ParameterLocation
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tracker.extensions import db, limiter
from tracker.models import User
from tracker.services.accounts import tokens, users

# Every check schemathesis registers, not the few on by default. Two of them, use_after_free and
# ensure_resource_availability, judge sequences of calls and so say nothing outside stateful runs;
# object_level_authorization needs identities schemathesis swaps itself (the access matrix covers that).
load_all_checks()
ALL_CHECKS = CHECKS.get_all()
ROLES = ("clinician", "patient")
# The document's `phone` format is a number libphonenumber can dial, which no pattern says; these are.
schemathesis.openapi.format("phone", st.integers(0, 9999).map(lambda n: f"+1312555{n:04d}"))
SEED = 20261201
EXAMPLES = 8  # per operation and role, besides the coverage phase: about 80 s of CPU on SQLite


FUZZ_SCHEMA = "fuzz"


def _on_postgresql() -> bool:
    argv = " ".join(sys.argv)
    return "--db=postgresql" in argv or "--db postgresql" in argv or os.environ.get("TEST_DB") == "postgresql"


def _fuzz_database(directory: Path) -> str:
    if _on_postgresql():
        # A schema of its own in the test database: the session's app keeps `public`.
        url = sa.make_url(_postgres_url()).update_query_dict({"options": f"-csearch_path={FUZZ_SCHEMA}"})
        return url.render_as_string(hide_password=False)
    return f"sqlite:///{directory / 'fuzz.sqlite3'}"


# An app with a database of its own: fuzzed requests really commit, so they stay out of other tests.
FUZZ_DIR = Path(tempfile.mkdtemp(prefix="tracker-fuzz-"))
FUZZ_APP = make_test_app(_fuzz_database(FUZZ_DIR), FUZZ_DIR)
schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", FUZZ_APP)
schema.config.seed = SEED


def _fresh_schema(create: bool) -> None:
    with FUZZ_APP.app_context():
        if db.engine.dialect.name != "postgresql":
            return
        with db.engine.begin() as conn:
            conn.execute(sa.text(f"DROP SCHEMA IF EXISTS {FUZZ_SCHEMA} CASCADE"))
            if create:
                conn.execute(sa.text(f"CREATE SCHEMA {FUZZ_SCHEMA}"))


@pytest.fixture(scope="module")
def fuzz_app(app: Flask) -> Iterator[Flask]:
    """Asks for the session's `app` only so that the PostgreSQL pass (conftest.py) selects these tests."""
    _fresh_schema(create=True)
    with FUZZ_APP.app_context():
        upgrade()
    yield FUZZ_APP
    _fresh_schema(create=False)
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
    for days_ago in (2, 9):
        factory.infusion(patient, given_at=TEST_NOW - timedelta(days=days_ago))
    factory.patient(clinic)  # two patients: the patient list has a second page
    return {"patient": patient.user_id, "clinician": staff.id}


def bearer_for(app: Flask, user_id: Any) -> dict[str, str]:
    with app.app_context():
        issued = tokens.issue(db.session.get(User, user_id))  # type: ignore[arg-type]
        db.session.commit()
        return {"Authorization": f"Bearer {issued.secret}"}


def a_cursor_it_gave(app: Flask, case: Any, auth: dict[str, str]) -> str | None:
    """The cursor a client holds: the next_cursor of the first page of this list, as this caller saw it.

    Only those are valid (the document says so); no generator can invent one, so a generated valid case gets one.
    """
    response = app.test_client().get(case.formatted_path, query_string={"limit": 1}, headers=auth)
    body = response.get_json(silent=True) or {}
    return body.get("next_cursor") if response.status_code == 200 else None


ENROL = "POST /api/v1/clinic/patients"


def dialable(body: Any) -> bool:
    return isinstance(body, dict) and users.normalize_phone(str(body.get("phone"))) is not None


def call(case: Any, role: str, fuzz_app: Flask, people: dict[str, Any]) -> Any:
    """Send a generated case as the clinic's clinician or as its patient, and run every check on the answer."""
    valid = case.meta is not None and case.meta.generation.mode.is_positive
    # Each call gets its own token, so DELETE /auth/token cannot log the rest of the run out. Given as the
    # call's headers, schemathesis knows them for credentials and tries the call again without them. A case
    # made to break the headers (no or a bad Authorization among them) goes as it was made.
    breaks_headers = case.meta is not None and case.meta.is_negative_at(ParameterLocation.HEADER)
    auth = {} if breaks_headers else bearer_for(fuzz_app, people[role])
    if valid and "cursor" in (case.query or {}):
        cursor = a_cursor_it_gave(fuzz_app, case, auth)
        if cursor is None:
            del case.query["cursor"]
        else:
            case.query["cursor"] = cursor
    if valid and "Idempotency-Key" in (case.headers or {}):
        # A client's key names one request; the few short keys a generator draws would name many.
        case.headers["Idempotency-Key"] = f"{case.headers['Idempotency-Key'][:200]}-{uuid.uuid4().hex}"
    # Each case starts unthrottled, as each test does (conftest.py): thousands of calls from one address would
    # be throttled, and the throttle has tests of its own (test_login_throttle.py).
    limiter.reset()
    checks = ALL_CHECKS
    undialable = valid and case.operation.label == ENROL and not dialable(case.body)
    if undialable:
        # The one rule the document can state only in words (format `phone`): the coverage phase draws phones
        # from the length bounds alone. Such a case must be refused naming the phone, and only it.
        checks = [check for check in ALL_CHECKS if check is not positive_data_acceptance]
    response = case.call_and_validate(headers=auth, checks=checks)
    if undialable and auth and role == "clinician":
        assert response.status_code == 422, response.text
        assert "phone" in {e["field"] for e in response.json()["errors"]}
    if role == "patient" and case.path.startswith("/api/v1/clinic") and case.method != "OPTIONS":
        # Staff routes refuse a patient (403) whatever the input, after the request guard has refused what no
        # route takes (400, 422, and 415 for a body not declared JSON); unsupported methods are 405 and missing or
        # bad credentials 401.
        if valid and auth:
            assert response.status_code == 403, (case.method, case.path, response.status_code)
        assert response.status_code in (400, 401, 403, 405, 415, 422), (case.method, case.path, response.status_code)
    return response


@pytest.mark.parametrize("role", ROLES)
@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.generate],  # a failure is reported as found: shrinking would take minutes
    suppress_health_check=list(HealthCheck),
)
def test_api_conforms_to_its_document(case: Any, role: str, fuzz_app: Flask, people: dict[str, Any]) -> None:
    call(case, role, fuzz_app, people)


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

    def reaches(label: str, role: str, wanted: Callable[[int], bool]) -> bool:
        method, path = label.split(" ")
        try:
            find(
                schema[path][method].as_strategy(),
                lambda case: wanted(call(case, role, fuzz_app, people).status_code),
                settings=FIRST_THROUGH,
            )
        except NoSuchExample:
            return False
        return True

    for operation in ("GET /api/v1/me", "PATCH /api/v1/me", "GET /api/v1/checkins", "POST /api/v1/checkins"):
        assert reaches(operation, "patient", lambda status: 200 <= status < 300), f"{operation} never succeeded"
    for operation in (
        "GET /api/v1/clinic/patients",
        "POST /api/v1/clinic/patients",
        "GET /api/v1/clinic/alerts",
        "GET /api/v1/clinic/patients/{patient_id}/checkins",
    ):
        assert reaches(operation, "clinician", lambda status: status not in (401, 403)), f"{operation} refused"
    assert reaches("GET /api/v1/clinic/patients", "patient", lambda status: status == 403)
    assert reaches("GET /api/v1/me", "clinician", lambda status: status == 403)
