"""One unit of work (tracker/unit_of_work.py): a request, a job item or a CLI command commits once, there only."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from factories import Factory
from flask.testing import FlaskClient

from tracker.extensions import db
from tracker.models import AuditEvent, CheckIn, Clinic
from tracker.unit_of_work import transaction

PACKAGE = Path(__file__).resolve().parent.parent / "tracker"
COMMIT = re.compile(r"\.commit\(")


def test_nothing_in_the_package_commits_but_the_unit_of_work() -> None:
    stray = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name == "unit_of_work.py" and path.parent == PACKAGE:
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if COMMIT.search(line.split("#", 1)[0]):
                stray.append(f"{path.relative_to(PACKAGE.parent)}:{number}: {line.strip()}")
    assert stray == []


def test_a_unit_keeps_what_it_did(ctx: None, fetch: Callable[..., list[Any]]) -> None:
    with transaction(db.session):
        db.session.add(Clinic(name="Kept", timezone="UTC"))
    db.session.rollback()  # nothing pending is left: the unit committed
    assert [c.name for c in db.session.scalars(sa.select(Clinic))] == ["Kept"]


def test_a_unit_that_fails_keeps_nothing(ctx: None) -> None:
    with pytest.raises(RuntimeError), transaction(db.session):
        db.session.add(Clinic(name="Lost", timezone="UTC"))
        db.session.flush()
        raise RuntimeError("half-way")
    assert list(db.session.scalars(sa.select(Clinic))) == []


def test_a_nested_unit_is_a_savepoint_the_outer_unit_decides_on(ctx: None) -> None:
    with pytest.raises(RuntimeError), transaction(db.session):
        with transaction(db.session):
            db.session.add(Clinic(name="Inner", timezone="UTC"))
        with pytest.raises(ValueError), transaction(db.session):
            db.session.add(Clinic(name="Refused", timezone="UTC"))
            db.session.flush()
            raise ValueError("this one only")
        assert [c.name for c in db.session.scalars(sa.select(Clinic))] == ["Inner"]
        raise RuntimeError("the outer unit fails")
    assert list(db.session.scalars(sa.select(Clinic))) == []


def test_a_request_answered_with_an_error_keeps_nothing_it_flushed(
    client: FlaskClient, factory: Factory, bearer: Callable[..., Any], fetch: Callable[..., list[Any]]
) -> None:
    patient = factory.patient()
    staff = factory.user(factory.clinic(), role="clinician")  # another clinic's clinician
    before = len(fetch(sa.select(AuditEvent)))
    response = client.get(f"/api/v1/clinic/patients/{patient.id}", headers=bearer(staff))
    assert response.status_code == 404
    assert len(fetch(sa.select(AuditEvent))) == before
    bad = client.post("/api/v1/checkins", json={"instrument": "phq9", "answers": [9] * 9}, headers=bearer(patient))
    assert bad.status_code == 422
    assert fetch(sa.select(CheckIn)) == []


def test_a_request_that_succeeds_keeps_its_audit_row(
    client: FlaskClient, factory: Factory, bearer: Callable[..., Any], fetch: Callable[..., list[Any]]
) -> None:
    patient = factory.patient()
    staff = factory.staff_for(patient)
    response = client.get(f"/api/v1/clinic/patients/{patient.id}", headers=bearer(staff))
    assert response.status_code == 200
    assert [e.action for e in fetch(sa.select(AuditEvent).where(AuditEvent.patient_id == patient.id))] == [
        "patient.read"
    ]
