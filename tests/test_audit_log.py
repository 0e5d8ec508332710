"""The admin's audit log: own clinic only, filtered, paged, and itself audited."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from conftest import TEST_NOW, AuthActions
from factories import Factory
from flask import Flask
from flask.testing import FlaskClient

from tracker.extensions import db
from tracker.models import AuditEvent, Clinic, Patient, User


class Setup:
    def __init__(self, app: Flask, factory: Factory) -> None:
        self.app = app
        self.clinic = factory.clinic("North", timezone="America/Chicago")
        self.admin = factory.user(self.clinic, role="admin", email="admin@example.org")
        self.doc = factory.user(self.clinic, email="doc@example.org")
        self.nurse = factory.user(self.clinic, email="nurse@example.org")
        self.ada = factory.patient(self.clinic, display_name="Ada")
        self.bea = factory.patient(self.clinic, display_name="Bea")
        self.other_clinic = factory.clinic("South")
        self.stranger_staff = factory.user(self.other_clinic, email="south@example.org")
        self.stranger = factory.patient(self.other_clinic, display_name="Zed Elsewhere")

    def event(
        self,
        actor: User,
        action: str,
        at: datetime = TEST_NOW - timedelta(hours=1),
        patient: Patient | None = None,
        clinic: Clinic | None = None,
        **fields: Any,
    ) -> uuid.UUID:
        with self.app.app_context():
            row = AuditEvent(
                at=at,
                actor_id=actor.id,
                actor_role=actor.role,
                clinic_id=(clinic or self.clinic).id,
                patient_id=patient.id if patient else None,
                action=action,
                **fields,
            )
            db.session.add(row)
            db.session.commit()
            return row.id


@pytest.fixture
def setup(app: Flask, factory: Factory) -> Setup:
    return Setup(app, factory)


def _rows(html: str) -> int:
    return html.count("<time datetime=")


def test_the_admin_sees_who_did_what_to_which_patient_from_where(
    client: FlaskClient, auth: AuthActions, setup: Setup, fetch: Callable[..., Any]
) -> None:
    setup.event(
        setup.doc,
        "patient.read",
        patient=setup.ada,
        target_type="patient",
        ip="203.0.113.7",
        user_agent="Firefox/140",
        at=datetime(2026, 11, 21, 14, 5, tzinfo=UTC),
    )
    setup.event(setup.stranger_staff, "patient.read", patient=setup.stranger, clinic=setup.other_clinic)
    auth.login("admin@example.org")

    response = client.get("/admin/audit")

    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert _rows(html) == 1
    for shown in ("doc@example.org viewed Ada", "203.0.113.7", "Firefox/140", "Nov 21, 2026, 8:05:00 AM CST"):
        assert shown in html  # 14:05 UTC is 08:05 in Chicago
    assert "Zed Elsewhere" not in html and "south@example.org" not in html
    [read] = fetch(sa.select(AuditEvent).where(AuditEvent.action == "audit.read"))
    assert (read.actor_id, read.clinic_id, read.detail) == (setup.admin.id, setup.clinic.id, {"page": "1"})
    assert "style=" not in html and "<script" not in html


def test_filters_by_action_patient_staff_member_and_clinic_days(
    client: FlaskClient, auth: AuthActions, setup: Setup, fetch: Callable[..., Any]
) -> None:
    late_19th = datetime(2026, 11, 20, 5, 30, tzinfo=UTC)  # 23:30 on the 19th in Chicago
    late_20th = datetime(2026, 11, 21, 5, 59, tzinfo=UTC)  # 23:59 on the 20th in Chicago
    setup.event(setup.doc, "patient.read", patient=setup.ada, at=late_19th, target_id="a")
    setup.event(setup.doc, "patient.read", patient=setup.ada, at=late_20th, target_id="b")
    setup.event(setup.nurse, "patient.read", patient=setup.bea, at=late_20th, target_id="c")
    setup.event(setup.nurse, "booster.approve", patient=setup.ada, at=late_20th, target_id="d")
    auth.login("admin@example.org")

    def shown(**query: str) -> set[str]:
        response = client.get("/admin/audit", query_string=query)
        assert response.status_code == 200
        return {
            e.target_id
            for e in fetch(sa.select(AuditEvent).where(AuditEvent.target_id.is_not(None)))
            if f'data-event="{e.id}"' in response.get_data(as_text=True)
        }

    assert shown() == {"a", "b", "c", "d"}
    assert shown(action="booster.approve") == {"d"}
    assert shown(patient=str(setup.ada.id)) == {"a", "b", "d"}
    assert shown(staff=str(setup.nurse.id)) == {"c", "d"}
    assert shown(date_from="2026-11-20") == {"b", "c", "d"}
    assert shown(date_to="2026-11-19") == {"a"}
    assert shown(date_from="2026-11-20", date_to="2026-11-20", staff=str(setup.doc.id)) == {"b"}
    reads = fetch(sa.select(AuditEvent.detail).where(AuditEvent.action == "audit.read"))
    assert {"action": "booster.approve", "page": "1"} in reads
    assert {"actor_id": str(setup.nurse.id), "page": "1"} in reads


def test_the_filters_offer_only_the_clinics_own_patients_staff_and_actions(
    client: FlaskClient, auth: AuthActions, setup: Setup
) -> None:
    setup.event(setup.doc, "checkins.read", patient=setup.bea)
    setup.event(setup.stranger_staff, "secret.other_clinic_action", clinic=setup.other_clinic)
    auth.login("admin@example.org")
    html = client.get("/admin/audit").get_data(as_text=True)
    assert f'value="{setup.ada.id}"' in html and f'value="{setup.nurse.id}"' in html
    assert 'value="checkins.read"' in html
    assert str(setup.stranger.id) not in html and "secret.other_clinic_action" not in html
    assert str(setup.stranger_staff.id) not in html
    response = client.get("/admin/audit", query_string={"patient": str(setup.stranger.id)})
    assert response.status_code == 422  # another clinic's patient is no choice at all


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ({"date_from": "2026-11-20", "date_to": "2026-11-19"}, "date_to", "Must be on or after the start date."),
        ({"date_from": "2026-13-01"}, "date_from", "Not a valid date value."),
        ({"patient": "not-an-id"}, "patient", "Not a valid choice."),
        ({"action": "no.such.action"}, "action", "Not a valid choice."),
    ],
)
def test_bad_filters_are_explained_and_nothing_is_read(
    client: FlaskClient,
    auth: AuthActions,
    setup: Setup,
    fetch: Callable[..., Any],
    query: dict[str, str],
    field: str,
    message: str,
) -> None:
    setup.event(setup.doc, "patient.read", patient=setup.ada)
    auth.login("admin@example.org")
    response = client.get("/admin/audit", query_string=query)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert f'id="{field}-error">{message}' in html
    assert _rows(html) == 0
    assert fetch(sa.select(AuditEvent).where(AuditEvent.action == "audit.read")) == []


def test_pages_of_fifty_newest_first_keeping_the_filters(
    client: FlaskClient, auth: AuthActions, setup: Setup, count_queries: Callable[[], Any]
) -> None:
    for n in range(60):
        # 11 minutes apart: each view its own line (views within 10 minutes merge, tests/test_audit_words.py).
        at = TEST_NOW - timedelta(minutes=11 * n)
        setup.event(setup.doc, "patient.read", patient=setup.ada, at=at, target_id=str(n))
    auth.login("admin@example.org")

    first = client.get("/admin/audit", query_string={"action": "patient.read"}).get_data(as_text=True)
    assert _rows(first) == 50
    # Newest first, in Chicago: 9:00 AM, 11 minutes earlier, ..., the 50th at 12:01 AM; the 51st (11:50 PM) next page.
    assert first.index("9:00:00 AM") < first.index("8:49:00 AM") < first.index("12:01:00 AM")
    assert "11:50:00 PM" not in first
    assert 'href="/admin/audit?page=2&amp;action=patient.read"' in first
    assert 'rel="prev"' not in first

    with count_queries() as counter:
        second = client.get("/admin/audit?page=2&action=patient.read").get_data(as_text=True)
    assert _rows(second) == 10
    assert 'rel="prev"' in second and 'rel="next"' not in second
    with count_queries() as again:
        client.get("/admin/audit?page=2&action=patient.read&date_to=2026-11-21")
    assert again.count == counter.count  # the same queries, whatever the page holds
    assert client.get("/admin/audit?page=3&action=patient.read").status_code == 404


@pytest.mark.parametrize("role", ["clinician", "patient"])
def test_only_the_admin_reads_the_audit_log(
    client: FlaskClient, auth: AuthActions, factory: Factory, setup: Setup, role: str
) -> None:
    username = "doc@example.org" if role == "clinician" else "+13125550166"
    if role == "patient":
        factory.patient(setup.clinic, phone=username)
    auth.login(username)
    assert client.get("/admin/audit").status_code == 403
