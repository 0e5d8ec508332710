"""Who may reach what: every route of the URL map and every operation of the OpenAPI document, tried by
everyone who might try it, against the first clinic's real records (API.md: 401 without a token, 403 for
the wrong role, 404 for what is another clinic's or another patient's, never a hint that it exists).

A route or an operation added without its entry in ROUTES fails `test_every_route_has_an_entry`.
The data is built once for the module; every request runs in a SAVEPOINT that is rolled back after it,
so one caller's change (a logout, an approval) never alters what the next caller meets.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from conftest import TEST_NOW, AuthActions, csrf_token_from
from factories import Factory
from flask import Flask
from sms_webhook import OUR_NUMBER, PUBLIC, TOKEN, signature
from sqlalchemy.orm import scoped_session, sessionmaker
from werkzeug.test import TestResponse

from tracker import create_app
from tracker.clock import FrozenClock
from tracker.extensions import db, limiter
from tracker.models import User
from tracker.services.accounts import enrolment, password_reset, tokens
from tracker.services.alerts import writes as alerts
from tracker.services.boosters import requests as boosters
from tracker.services.checkins import links as checkin_links
from tracker.services.clinic import medicines
from tracker.side_effects import ITEM_KEYS as SIDE_EFFECT_ITEMS

CALLERS = ("anonymous", "patient", "other_patient", "clinician", "admin", "other_clinician", "other_admin")
# Those who must never see the first patient's record: everything they get back is searched for it.
OUTSIDERS = ("anonymous", "other_patient", "other_clinician", "other_admin")
LOGIN = "login"  # sent to the login page to log in first (`?next=` the page asked for)
Answer = int | str

# --- expectations by kind of route, in CALLERS order --------------------------------------------------


def each(*answers: Answer) -> tuple[Answer, ...]:
    assert len(answers) == len(CALLERS)
    return answers


def everyone(answer: Answer) -> tuple[Answer, ...]:
    return (answer,) * len(CALLERS)


def api_any(answer: Answer) -> tuple[Answer, ...]:
    """Any bearer token."""
    return (401, *(answer,) * (len(CALLERS) - 1))


def api_patient(own: Answer, other: Answer | None = None) -> tuple[Answer, ...]:
    """A patient's own record: staff are the wrong role."""
    return each(401, own, own if other is None else other, 403, 403, 403, 403)


def api_staff(own: Answer, other: Answer = 404) -> tuple[Answer, ...]:
    """The clinic's: patients are the wrong role, the other clinic finds nothing."""
    return each(401, 403, 403, own, own, other, other)


def api_admin(own: Answer, other: Answer) -> tuple[Answer, ...]:
    return each(401, 403, 403, 403, own, 403, other)


def page_any(answer: Answer) -> tuple[Answer, ...]:
    return (LOGIN, *(answer,) * (len(CALLERS) - 1))


def page_patient(own: Answer, other: Answer | None = None) -> tuple[Answer, ...]:
    return each(LOGIN, own, own if other is None else other, 403, 403, 403, 403)


def page_staff(own: Answer, other: Answer = 404) -> tuple[Answer, ...]:
    return each(LOGIN, 403, 403, own, own, other, other)


def page_admin(own: Answer, other: Answer) -> tuple[Answer, ...]:
    return each(LOGIN, 403, 403, 403, own, 403, other)


@dataclass(frozen=True)
class Probe:
    """One request, tried by every caller: `path` is the rule with {name} for its parameters."""

    method: str
    path: str
    expect: tuple[Answer, ...]
    body: dict[str, Any] | None = None  # JSON for /api/, form fields (with the caller's CSRF token) for pages
    query: str = ""
    csrf: bool = True
    dev_only: bool = False  # a development page: 404 in production (test_dev_routes_are_absent_in_production)
    leak_exempt: frozenset[str] = field(default_factory=frozenset)  # callers allowed to see the patient
    names: tuple[tuple[str, str], ...] = ()  # a parameter filled from another of the world's values
    signed: bool = False  # with Twilio's signature (sms_webhook.py)

    def values(self, params: dict[str, str]) -> dict[str, str]:
        return params | {name: params[source] for name, source in self.names}

    def url(self, params: dict[str, str]) -> str:
        params = self.values(params)
        return fill(self.path, params) + (f"?{fill(self.query, params)}" if self.query else "")

    @property
    def key(self) -> tuple[str, str]:
        return self.method, self.path


SOON = (TEST_NOW + timedelta(days=3)).isoformat()
EARLIER = (TEST_NOW - timedelta(hours=2)).isoformat()
INBOUND = {"MessageSid": "SM" + "1" * 32, "From": "+13125550901", "To": OUR_NUMBER, "Body": "HELP"}
STATUS = {"MessageSid": "SM" + "2" * 32, "MessageStatus": "delivered"}
PHQ9_BODY = {"instrument": "phq9", "answers": [1, 1, 1, 1, 0, 0, 0, 0, 0], "difficulty": None}

ROUTES: tuple[Probe, ...] = (
    # Anyone
    Probe("GET", "/healthz", everyone(200)),
    Probe("GET", "/readyz", everyone(200)),
    Probe("GET", "/static/{filename}", everyone(200)),
    Probe("GET", "/favicon.ico", everyone(200)),
    Probe("GET", "/api/v1/openapi.json", everyone(200)),
    Probe("GET", "/login", each(200, 302, 302, 302, 302, 302, 302)),
    Probe("POST", "/login", each(200, 302, 302, 302, 302, 302, 302), body={}),
    Probe("POST", "/login", everyone(400), body={}, csrf=False),
    Probe("GET", "/", each(LOGIN, 302, 302, 302, 302, 302, 302)),
    Probe("GET", "/invite/{secret}", everyone(200)),
    Probe("POST", "/invite/{secret}", everyone(422), body={}),
    Probe("GET", "/c/{token}", everyone(200)),
    Probe("POST", "/c/{token}", everyone(422), body={}),
    Probe("POST", "/c/{token}", everyone(400), body={}, csrf=False),
    # Twilio's webhooks: nothing without its signature, whoever sends it; with it, no login is asked
    Probe("POST", "/sms/inbound", everyone(403), body=INBOUND, csrf=False),
    Probe("POST", "/sms/inbound", everyone(200), body=INBOUND, csrf=False, signed=True),
    Probe("POST", "/sms/status", everyone(403), body=STATUS, csrf=False),
    Probe("POST", "/sms/status", everyone(200), body=STATUS, csrf=False, signed=True),
    Probe("GET", "/dev/sms", everyone(200), dev_only=True, leak_exempt=frozenset(CALLERS)),
    # Any account, on the web
    Probe("GET", "/reset", everyone(200)),
    Probe("POST", "/reset", everyone(422), body={}),
    Probe("GET", "/reset/{secret}", everyone(200), names=(("secret", "reset_secret"),)),
    Probe("POST", "/reset/{secret}", everyone(422), body={}, names=(("secret", "reset_secret"),)),
    Probe("GET", "/reset/{secret}", everyone(404)),  # an invitation is no reset link
    Probe("POST", "/logout", page_any(302), body={}),
    Probe("POST", "/logout/everywhere", page_any(302), body={}),
    Probe("GET", "/account/password", page_any(200)),
    Probe("POST", "/account/password", page_any(422), body={}),
    # The patient's pages
    Probe("GET", "/me", page_patient(200)),
    Probe("GET", "/me/checkin", page_patient(200)),
    Probe("POST", "/me/checkin", page_patient(422), body={}),
    # The GAD-7 page answers only where the clinic's schedule asks it (CLINICAL.md §7); this clinic's does not.
    Probe("GET", "/me/checkin/gad7", page_patient(404)),
    Probe("POST", "/me/checkin/gad7", page_patient(404), body={}),
    Probe("GET", "/me/history", page_patient(200)),
    Probe("GET", "/me/booster", page_patient(200)),
    Probe("POST", "/me/booster", page_patient(422), body={}),
    # CLINICAL.md §7: nothing is due for the first patient (their infusion was given weeks ago).
    Probe("GET", "/me/side-effects", page_patient(200)),
    Probe("POST", "/me/side-effects", page_patient(409), body={}),
    Probe("GET", "/me/reminders", page_patient(200)),
    Probe("POST", "/me/reminders", page_patient(422), body={"local_time": "not a time"}),
    Probe("GET", "/me/checkins/{checkin_id}", page_patient(200, 404)),
    Probe("GET", "/me/checkins/{checkin_id}/safety", page_patient(200, 404)),
    # The clinic's pages
    Probe("GET", "/clinic/", page_staff(200, 200)),
    Probe("GET", "/clinic/patients", page_staff(200, 200)),
    Probe("GET", "/clinic/calendar", page_staff(200, 200)),
    Probe("GET", "/clinic/patients", page_staff(200, 200), query="q=Marigold"),
    Probe("GET", "/clinic/patients/{patient_id}", page_staff(200)),
    Probe("GET", "/clinic/patients/{patient_id}", page_staff(404, 404), names=(("patient_id", "unknown_id"),)),
    Probe("GET", "/clinic/patients/new", page_staff(200, 200)),
    Probe("POST", "/clinic/patients/new", page_staff(422, 422), body={}),
    Probe("GET", "/clinic/patients/{patient_id}/summary", page_staff(200)),
    Probe("GET", "/clinic/patients/{patient_id}/summary", page_staff(404, 404), names=(("patient_id", "unknown_id"),)),
    Probe("GET", "/clinic/patients/{patient_id}/checkins/new", page_staff(200)),
    Probe("POST", "/clinic/patients/{patient_id}/checkins/new", page_staff(422), body={}),
    Probe("POST", "/clinic/patients/{patient_id}/booster-requests", page_staff(422), body={}),
    Probe("GET", "/clinic/infusions/{infusion_id}/given", page_staff(200)),
    Probe("GET", "/clinic/infusions/{infusion_id}/correct", page_staff(409)),  # only a given one is corrected
    Probe(
        "GET", "/clinic/infusions/{infusion_id}/correct", page_staff(200), names=(("infusion_id", "given_infusion_id"),)
    ),
    Probe(
        "POST",
        "/clinic/infusions/{infusion_id}/correct",
        page_staff(422),
        body={},
        names=(("infusion_id", "given_infusion_id"),),
    ),
    Probe("GET", "/clinic/infusions/{infusion_id}/change", page_staff(200)),
    Probe("POST", "/clinic/infusions/{infusion_id}/reschedule", page_staff(422), body={}),
    Probe("POST", "/clinic/infusions/{infusion_id}/cancel", page_staff(422), body={}),  # a reason is needed
    Probe("GET", "/clinic/infusions/{infusion_id}/side-effects", page_staff(200)),
    Probe(
        "POST",
        "/clinic/infusions/{infusion_id}/side-effects",
        page_staff(422),
        body={},
        names=(("infusion_id", "given_infusion_id"),),
    ),
    Probe("POST", "/clinic/patients/{patient_id}/infusions", page_staff(303), body={}),
    Probe("POST", "/clinic/patients/{patient_id}/phase", page_staff(422), body={}),
    Probe("POST", "/clinic/patients/{patient_id}/reminders", page_staff(422), body={}),
    # Not flagged: nothing to clear (409); another clinic's patient is not found. No reason: 422 before that.
    Probe(
        "POST",
        "/clinic/patients/{patient_id}/high-risk-flag/clear",
        page_staff(409),
        body={"flag-reason": "Seen in clinic today"},
    ),
    # Booked for another day, given today after another: asked to be confirmed (422) before it is saved.
    Probe("POST", "/clinic/infusions/{infusion_id}/given", page_staff(422), body={}),
    Probe("POST", "/clinic/alerts/{alert_id}/acknowledge", page_staff(303), body={}),
    Probe("POST", "/clinic/alerts/{alert_id}/resolve", page_staff(422), body={}),
    Probe("POST", "/clinic/patients/{patient_id}/medicines", page_staff(422), body={}),  # a name is needed
    Probe("POST", "/clinic/medicines/{medicine_id}/end", page_staff(303), body={}),
    Probe("POST", "/clinic/medicines/{medicine_id}/remove", page_staff(303), body={}),
    Probe("POST", "/clinic/booster-requests/{request_id}/approve", page_staff(303), body={}),
    Probe("POST", "/clinic/booster-requests/{request_id}/schedule", page_staff(422), body={}),
    Probe("POST", "/clinic/booster-requests/{request_id}/decline", page_staff(422), body={}),
    Probe("POST", "/clinic/booster-requests/{request_id}/cancel", page_staff(422), body={}),
    Probe("POST", "/clinic/alerts/{alert_id}/acknowledge", everyone(400), body={}, csrf=False),
    # Exports
    Probe("GET", "/exports/checkins.csv", page_staff(200, 200)),
    Probe("GET", "/exports/outcomes", page_staff(200, 200)),
    Probe("GET", "/exports/patients/{patient_id}/checkins.csv", page_staff(200)),
    Probe("GET", "/exports/patients/{patient_id}/fhir.json", page_staff(200)),
    Probe("GET", "/exports/infusions.csv", page_staff(200, 200)),
    Probe("GET", "/exports/side-effects.csv", page_staff(200, 200)),
    Probe("GET", "/exports/patients/{patient_id}/infusions.csv", page_staff(200)),
    # The admin's pages
    Probe("GET", "/admin/", page_admin(200, 200)),
    Probe("GET", "/admin/settings", page_admin(200, 200)),
    Probe("GET", "/admin/settings/medicines", page_admin(200, 200)),
    Probe("POST", "/admin/settings/medicines", page_admin(302, 302), body={}),
    Probe("POST", "/admin/settings", page_admin(422, 422), body={}),
    Probe("GET", "/admin/staff", page_admin(200, 200)),
    Probe("POST", "/admin/staff", page_admin(422, 422), body={}),
    Probe("POST", "/admin/staff/{user_id}/invite", page_admin(302, 404), body={}),
    Probe("POST", "/admin/staff/{user_id}/reset", page_admin(303, 404), body={}),
    Probe("GET", "/admin/staff/{user_id}/link", page_admin(302, 404)),  # nothing held: back to staff
    Probe("GET", "/admin/staff/{user_id}/deactivate", page_admin(200, 404)),
    Probe("POST", "/admin/staff/{user_id}/deactivate", page_admin(302, 404), body={}),
    Probe("POST", "/admin/staff/{user_id}/reactivate", page_admin(302, 404), body={}),
    Probe("POST", "/admin/staff/{user_id}/name", page_admin(302, 404), body={}),
    Probe("GET", "/admin/audit", page_admin(200, 200)),
    Probe("GET", "/admin/audit", page_admin(200, 422), query="patient={patient_id}"),
    Probe("GET", "/admin/audit", page_admin(422, 422), query="patient={unknown_id}"),
    Probe("GET", "/admin/audit", page_admin(200, 422), query="staff={user_id}"),
    # API: logging in and out
    Probe("POST", "/api/v1/auth/token", everyone(422), body={}),
    Probe("DELETE", "/api/v1/auth/token", api_any(204)),
    Probe("DELETE", "/api/v1/auth/sessions", api_any(204)),
    Probe("POST", "/api/v1/auth/password", api_any(422), body={}),
    Probe("POST", "/api/v1/auth/invitation", everyone(422), body={}),
    Probe("POST", "/api/v1/auth/invitation", everyone(422), body={"token": "{secret}", "password": "short"}),
    Probe("POST", "/api/v1/auth/password-reset", everyone(202), body={"username": "nobody@example.org"}),
    Probe("POST", "/api/v1/auth/password-reset", everyone(422), body={}),
    Probe("POST", "/api/v1/auth/password-reset/confirm", everyone(422), body={}),
    Probe(
        "POST",
        "/api/v1/auth/password-reset/confirm",
        everyone(422),
        body={"token": "{secret}", "password": "short"},
        names=(("secret", "reset_secret"),),
    ),
    # API: the patient's own record
    Probe("GET", "/api/v1/me", api_patient(200)),
    Probe("PATCH", "/api/v1/me", api_patient(200), body={"timezone": "America/Denver"}),
    Probe("GET", "/api/v1/me/side-effects", api_patient(200)),
    Probe("POST", "/api/v1/me/side-effects", api_patient(409), body=dict.fromkeys(SIDE_EFFECT_ITEMS, "none")),
    Probe("GET", "/api/v1/instruments/phq9", api_any(200)),
    Probe("GET", "/api/v1/instruments/gad7", api_any(200)),
    Probe("GET", "/api/v1/checkins", api_patient(200)),
    Probe("POST", "/api/v1/checkins", api_patient(201), body=PHQ9_BODY),
    Probe("GET", "/api/v1/checkins/{checkin_id}", api_patient(200, 404)),
    Probe("GET", "/api/v1/booster-requests", api_patient(200)),
    Probe("POST", "/api/v1/booster-requests", api_patient(409, 201), body={"reason": "Feeling low again"}),
    Probe("GET", "/api/v1/infusions", api_patient(200)),
    # API: the clinic's
    Probe("GET", "/api/v1/clinic/patients", api_staff(200, 200)),
    Probe("GET", "/api/v1/clinic/patients", api_staff(200, 200), query="q=Marigold"),
    Probe(
        "POST",
        "/api/v1/clinic/patients",
        api_staff(201, 201),
        body={"display_name": "New Person", "phone": "+13125550999", "timezone": "America/Chicago"},
    ),
    Probe("GET", "/api/v1/clinic/patients/{patient_id}", api_staff(200)),
    Probe("GET", "/api/v1/clinic/patients/{patient_id}", api_staff(404, 404), names=(("patient_id", "unknown_id"),)),
    Probe("PATCH", "/api/v1/clinic/patients/{patient_id}", api_staff(200), body={"display_name": "Renamed"}),
    Probe("GET", "/api/v1/clinic/patients/{patient_id}/checkins", api_staff(200)),
    Probe(
        "POST", "/api/v1/clinic/patients/{patient_id}/checkins", api_staff(201), body=PHQ9_BODY | {"taken_at": EARLIER}
    ),
    Probe("GET", "/api/v1/clinic/patients/{patient_id}/infusions", api_staff(200)),
    Probe(
        "POST",
        "/api/v1/clinic/patients/{patient_id}/infusions",
        api_staff(201),
        body={"kind": "maintenance", "status": "scheduled", "scheduled_for": SOON},
    ),
    # The second clinic books its own patient's infusion for the first clinic's booster request, or for none:
    # one refusal for both.
    *(
        Probe(
            "POST",
            "/api/v1/clinic/patients/{patient_id}/infusions",
            each(401, 403, 403, 404, 404, 422, 422),
            body={"kind": "booster", "status": "scheduled", "scheduled_for": SOON, "booster_request_id": request},
            names=(("patient_id", "their_patient_id"),),
        )
        for request in ("{request_id}", "{unknown_id}")
    ),
    Probe("PATCH", "/api/v1/clinic/infusions/{infusion_id}", api_staff(200), body={"scheduled_for": SOON}),
    Probe("GET", "/api/v1/clinic/infusions/{infusion_id}/side-effects", api_staff(200)),
    Probe(
        "POST",
        "/api/v1/clinic/infusions/{infusion_id}/side-effects",
        api_staff(201),
        body=dict.fromkeys(SIDE_EFFECT_ITEMS, "none"),
        names=(("infusion_id", "given_infusion_id"),),
    ),
    Probe("POST", "/api/v1/clinic/patients/{patient_id}/booster-requests", api_staff(409), body={"reason": "Rising"}),
    Probe("GET", "/api/v1/clinic/booster-requests", api_staff(200, 200)),
    Probe("GET", "/api/v1/clinic/booster-requests", api_staff(200), query="patient_id={patient_id}"),
    Probe("GET", "/api/v1/clinic/booster-requests", api_staff(404, 404), query="patient_id={unknown_id}"),
    Probe("POST", "/api/v1/clinic/booster-requests/{request_id}/approve", api_staff(200), body={}),
    Probe("POST", "/api/v1/clinic/booster-requests/{request_id}/decline", api_staff(200), body={"reason": "Stable"}),
    Probe("POST", "/api/v1/clinic/booster-requests/{request_id}/cancel", api_staff(200), body={"reason": "Moved"}),
    Probe(
        "POST", "/api/v1/clinic/booster-requests/{request_id}/schedule", api_staff(200), body={"scheduled_for": SOON}
    ),
    Probe("GET", "/api/v1/clinic/alerts", api_staff(200, 200)),
    Probe("GET", "/api/v1/clinic/alerts", api_staff(200), query="patient_id={patient_id}"),
    Probe("GET", "/api/v1/clinic/alerts", api_staff(404, 404), query="patient_id={unknown_id}"),
    Probe("POST", "/api/v1/clinic/alerts/{alert_id}/acknowledge", api_staff(200), body={}),
    Probe(
        "POST",
        "/api/v1/clinic/alerts/{alert_id}/resolve",
        api_staff(200),
        body={"risk_level": "low", "screener_not_done": "Could not reach the patient"},
    ),
    Probe("GET", "/api/v1/clinic/patients/{patient_id}/medicines", api_staff(200)),
    Probe("POST", "/api/v1/clinic/patients/{patient_id}/medicines", api_staff(201), body={"name": "Sertraline"}),
    Probe("PATCH", "/api/v1/clinic/medicines/{medicine_id}", api_staff(200), body={"dose": "2 mg"}),
    Probe("DELETE", "/api/v1/clinic/medicines/{medicine_id}", api_staff(204)),
    Probe("GET", "/api/v1/clinic/settings", api_staff(200, 200)),
    Probe("PATCH", "/api/v1/clinic/settings", api_admin(200, 200), body={"safety_ack_minutes": 20}),
)


# --- the world the callers meet -------------------------------------------------------------------------


@dataclass
class Caller:
    name: str
    session_cookie: str | None = None
    csrf_token: str | None = None
    bearer: str | None = None


@dataclass
class World:
    app: Flask
    connection: sa.Connection
    params: dict[str, str]
    callers: dict[str, Caller]
    secrets: dict[str, str]  # what identifies the first patient's record, to be searched for in answers
    together: bool = False


@pytest.fixture(scope="module")
def world(app: Flask) -> Iterator[World]:
    """Two clinics; the first patient has a check-in (item 9 positive, so an open safety alert), a booked
    infusion, an open booster request and a one-time check-in link; a pending patient holds an invitation.
    Everyone logs in once, on the web and by token."""
    with app.app_context():
        engine = db.engine
    connection = engine.connect()
    outer = connection.begin()
    original = db.session
    db.session = scoped_session(  # type: ignore[method-assign]
        sessionmaker(bind=connection, join_transaction_mode="create_savepoint"),
        scopefunc=original.registry.scopefunc,  # type: ignore[attr-defined]
    )
    previous = {name: app.config[name] for name in ("CLOCK", "TWILIO_AUTH_TOKEN", "PUBLIC_BASE_URL")}
    app.config.update(CLOCK=FrozenClock(TEST_NOW), TWILIO_AUTH_TOKEN=TOKEN, PUBLIC_BASE_URL=PUBLIC)
    limiter.reset()
    try:
        yield _build(app, connection)
    finally:
        app.config.update(previous)
        db.session = original  # type: ignore[method-assign]
        outer.rollback()
        connection.close()
        limiter.reset()


def _build(app: Flask, connection: sa.Connection) -> World:
    factory = Factory(app)
    with app.app_context():
        contacts = {"phone": "+13125550199", "oncall_phone": "+13125550100"}
        first = factory.clinic(name="Lakeside", **contacts)
        second = factory.clinic(name="Riverside", phone="+13125550299", oncall_phone="+13125550200")
        patient = factory.patient(first, display_name="Marigold Vantongeren", phone="+13125550901")
        other_patient = factory.patient(first, display_name="Other Patient", phone="+13125550902")
        clinician = factory.user(first, "clinician", email="clinician@lakeside.example")
        admin = factory.user(first, "admin", email="admin@lakeside.example")
        other_clinician = factory.user(second, "clinician", email="clinician@riverside.example")
        other_admin = factory.user(second, "admin", email="admin@riverside.example")
        their_patient = factory.patient(second, display_name="Riverside Patient", phone="+13125550903")
        pending = factory.patient(first, display_name="Pending Patient", phone="+13125550904", password=None)

        checkin = factory.checkin(patient, answers=[2, 2, 1, 1, 1, 1, 1, 1, 1])
        alert = alerts.open_safety_alert(patient, checkin)  # CLINICAL.md §3, as submitting it would
        infusion = factory.infusion(patient, kind="maintenance")
        given = factory.infusion(patient, given_at=TEST_NOW - timedelta(days=20), weight_kg=Decimal("70"))
        request = boosters.raise_request(patient, "clinician", clinician, "Scores rising")
        medicine = medicines.add(clinician, patient, "Lorazepam", "1 mg")
        link = checkin_links.create(patient.id).url.rsplit("/", 1)[1]
        pending_user = db.session.get(User, pending.user_id)
        assert pending_user is not None
        secret = enrolment.invite(pending_user, clinician).rsplit("/", 1)[1]
        reset_secret = password_reset.issue_for_staff(admin, clinician).rsplit("/", 1)[1]
        accounts = {
            "patient": patient.user_id,
            "other_patient": other_patient.user_id,
            "clinician": clinician.id,
            "admin": admin.id,
            "other_clinician": other_clinician.id,
            "other_admin": other_admin.id,
        }
        callers = {name: Caller(name) for name in CALLERS}
        for name, user_id in accounts.items():
            callers[name].bearer = tokens.issue(db.session.get(User, user_id)).secret  # type: ignore[arg-type]
        params = {
            "patient_id": str(patient.id),
            "checkin_id": str(checkin.id),
            "infusion_id": str(infusion.id),
            "given_infusion_id": str(given.id),
            "alert_id": str(alert.id),
            "request_id": str(request.id),
            "medicine_id": str(medicine.id),
            "user_id": str(clinician.id),
            "token": link,
            "secret": secret,
            "reset_secret": reset_secret,
            "unknown_id": str(uuid.uuid4()),
            "their_patient_id": str(their_patient.id),
            "filename": "css/app.css",
        }
        secrets = {
            "display name": patient.display_name,
            "phone": patient.phone,
            **{
                name: params[name]
                for name in ("patient_id", "checkin_id", "infusion_id", "given_infusion_id", "alert_id", "request_id")
            },
        }
        logins: dict[str, str] = {
            "patient": patient.phone,
            "other_patient": other_patient.phone,
            "clinician": "clinician@lakeside.example",
            "admin": "admin@lakeside.example",
            "other_clinician": "clinician@riverside.example",
            "other_admin": "admin@riverside.example",
        }
        db.session.commit()
    for name, caller in callers.items():
        client = app.test_client()
        if name in logins:
            assert AuthActions(client).login(logins[name]).status_code == 302
            page = client.get("/", follow_redirects=True)
        else:
            page = client.get("/login")
        caller.csrf_token = csrf_token_from(page.get_data(as_text=True))
        cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
        caller.session_cookie = cookie.value if cookie else None
    return World(app, connection, params, callers, secrets)


# --- asking -----------------------------------------------------------------------------------------------


def fill(template: str, params: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)\}", lambda match: params[match[1]], template)


@dataclass(frozen=True)
class Reply:
    status: int
    location: str
    text: str

    @property
    def answer(self) -> Answer:
        if self.status in (301, 302, 303) and self.location.startswith("/login?next="):
            return LOGIN
        return self.status


@contextmanager
def together(world: World) -> Iterator[None]:
    """Several requests in one SAVEPOINT, each seeing what the one before it left."""
    savepoint = world.connection.begin_nested()
    world.together = True
    try:
        yield
    finally:
        world.together = False
        savepoint.rollback()


def ask(
    world: World, probe: Probe, caller: Caller, with_cookie: bool | None = None, extra: dict[str, str] | None = None
) -> Reply:
    """One request as this caller, in a SAVEPOINT rolled back afterwards (unless `together`); API calls carry
    the caller's token and no cookie, pages the caller's session cookie and CSRF token."""
    app = world.app
    api = probe.path.startswith("/api/")
    client = app.test_client()
    if (not api if with_cookie is None else with_cookie) and caller.session_cookie:
        client.set_cookie(app.config["SESSION_COOKIE_NAME"], caller.session_cookie)
    url = probe.url(world.params)
    headers = {"Authorization": f"Bearer {caller.bearer}"} if api and caller.bearer and with_cookie is None else {}
    headers |= extra or {}
    kwargs: dict[str, Any] = {"headers": headers}
    if probe.body is not None:
        values = probe.values(world.params)
        body = {key: fill(value, values) if isinstance(value, str) else value for key, value in probe.body.items()}
        if api:
            kwargs["json"] = body
        else:
            kwargs["data"] = body | ({"csrf_token": caller.csrf_token} if probe.csrf else {})
        if probe.signed:
            headers["X-Twilio-Signature"] = signature(probe.path, body)
    savepoint = None if world.together else world.connection.begin_nested()
    try:
        limiter.reset()
        try:
            response: TestResponse = client.open(url, method=probe.method, **kwargs)
        except Exception as error:  # the test app lets a view's error through: it is a 500, listed with the rest
            return Reply(500, "", repr(error))
        # A binary answer (the site's icon) is read as text too: what is searched for is never in its bytes.
        body = response.get_data().decode(errors="replace")
        reply = Reply(response.status_code, response.headers.get("Location", ""), body)
        response.close()
    finally:
        if savepoint is not None:
            savepoint.rollback()
    return reply


def _label(probe: Probe) -> str:
    extra = f"?{probe.query}" if probe.query else ""
    extra += (
        " (no CSRF token)" if not probe.csrf and probe.body is not None and not probe.path.startswith("/api") else ""
    )
    return f"{probe.method} {probe.path}{extra}"


# --- the tests ------------------------------------------------------------------------------------------


def _rules(app: Flask) -> set[tuple[str, str]]:
    found = set()
    for rule in app.url_map.iter_rules():
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:  # type: ignore[operator]
            found.add((method, path))
    return found


def _operations(app: Flask) -> dict[tuple[str, str], dict[str, Any]]:
    document = app.test_client().get("/api/v1/openapi.json").get_json()
    return {
        (method.upper(), path): operation
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in ("get", "put", "post", "patch", "delete")
    }


def test_every_route_has_an_entry(app: Flask) -> None:
    """The URL map and the OpenAPI document against the table, both ways: nothing missing, nothing stale."""
    rules = _rules(app)
    operations = set(_operations(app))
    entries = {probe.key for probe in ROUTES}
    assert rules - entries == set(), "routes with no entry in ROUTES"
    assert operations - entries == set(), "OpenAPI operations with no entry in ROUTES"
    assert entries - rules == set(), "entries in ROUTES for routes that do not exist"
    assert operations <= rules, "the document describes operations the app does not serve"
    assert {key for key in rules if key[1].startswith("/api/v1/") and key[1] != "/api/v1/openapi.json"} == operations


def test_the_document_says_which_operations_need_a_token(app: Flask) -> None:
    """An operation answers 401 without a token exactly when the document asks for bearerAuth."""
    operations = _operations(app)
    for probe in ROUTES:
        if probe.key in operations:
            secured = {"bearerAuth": []} in operations[probe.key].get("security", [])
            assert secured == (probe.expect[0] == 401), _label(probe)


def test_access_matrix(world: World) -> None:
    """Every probe, every caller: the expected answer, and never a sign of the first patient's record for
    those who have no business with it."""
    wrong: list[str] = []
    for probe in ROUTES:
        for caller_name, expected in zip(CALLERS, probe.expect, strict=True):
            reply = ask(world, probe, world.callers[caller_name])
            if reply.answer != expected:
                wrong.append(f"{_label(probe)} as {caller_name}: {reply.answer}, expected {expected}")
            if caller_name in OUTSIDERS and caller_name not in probe.leak_exempt:
                url = probe.url(world.params)
                for what, value in world.secrets.items():
                    if value not in url and value in reply.text:
                        wrong.append(f"{_label(probe)} as {caller_name}: the answer shows the patient's {what}")
    assert not wrong, "\n".join(wrong)


RECORD_IDS = ("patient_id", "checkin_id", "infusion_id", "alert_id", "request_id", "user_id")
CSRF_VALUE = re.compile(r'(name="csrf_token"[^>]*value=")[^"]+"')


def test_what_is_not_theirs_answers_as_what_does_not_exist(world: World) -> None:
    """API.md: another clinic's or another patient's record is answered exactly as an id nobody has, to the
    word (the ids themselves and the page's CSRF token aside)."""
    different = []
    for probe in ROUTES:
        names = set(re.findall(r"\{(\w+)\}", probe.path)) & set(RECORD_IDS)
        if not names or ("patient_id", "their_patient_id") in probe.names:  # the second clinic's own patient
            continue
        stranger = replace(probe, names=tuple((name, "unknown_id") for name in names))
        ids = [probe.values(world.params)[name] for name in names] + [world.params["unknown_id"]]
        for caller_name in ("other_patient", "other_clinician", "other_admin"):
            caller = world.callers[caller_name]
            answers = []
            for reply in (ask(world, probe, caller), ask(world, stranger, caller)):
                text = CSRF_VALUE.sub(r'\1"', reply.text)
                for value in ids:
                    text = text.replace(value, "<id>")
                answers.append((reply.status, text))
            if answers[0] != answers[1]:
                different.append(f"{_label(probe)} as {caller_name}: {answers[0][0]}, and {answers[1][0]} for no one's")
    assert not different, "\n".join(different)


def test_the_api_takes_no_cookie(world: World) -> None:
    """A logged-in browser's cookie is no token: every API operation that needs one answers it 401."""
    for probe in ROUTES:
        if probe.path.startswith("/api/") and probe.expect[0] == 401:
            for name in ("clinician", "admin", "patient"):
                reply = ask(world, probe, world.callers[name], with_cookie=True)
                assert reply.status == 401, f"{_label(probe)} with {name}'s cookie"


def test_every_route_refuses_a_method_it_does_not_have(world: World) -> None:
    """405 for a method a path does not take (PUT on every path but none has one), never a 500."""
    for path in sorted({probe.path for probe in ROUTES}):
        reply = ask(world, Probe("PUT", path, everyone(405)), world.callers["anonymous"])
        assert reply.status == 405, path


def test_dev_routes_are_absent_in_production(tmp_path: Path) -> None:
    environ = {
        "TRACKER_ENV": "production",
        "SECRET_KEY": "k" * 20 + "9f8e7d6c5b4a3210fedc",
        "PUBLIC_BASE_URL": "https://tracker.example.org",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'production.sqlite3'}",
        "SMS_BACKEND": "console",
    }
    production = create_app({"ENVIRON": environ})
    client = production.test_client()
    dev_paths = [probe.path for probe in ROUTES if probe.dev_only]
    assert dev_paths
    for path in dev_paths:
        assert client.get(path, base_url="https://tracker.example.org").status_code == 404, path


# --- enrolment tells no clinic about another's people ------------------------------------------------------

FREE_PHONE = "+13125550990"
# Phones and emails already in use, by whom: the first clinic's patient and admin (another clinic, for the
# second clinic's clinician who enrols), the second clinic's own patient and admin.
TAKEN = {
    "another clinic's patient's phone": {"phone": "+13125550901"},
    "the same phone spelt otherwise": {"phone": "(312) 555-0901"},
    "another clinic's pending patient's phone": {"phone": "+13125550904"},
    "another clinic's admin's email": {"phone": FREE_PHONE, "email": "Admin@Lakeside.example"},
    "its own patient's phone": {"phone": "+13125550903"},
    "its own admin's email": {"phone": FREE_PHONE, "email": "admin@riverside.example"},
}


def _enrolment(contact: dict[str, str], path: str) -> Probe:
    body = {"display_name": "Jo Newcomer", "timezone": "America/Chicago", **contact}
    return Probe("POST", path, api_staff(201), body=body)


def test_enrolment_answers_alike_whoever_holds_the_phone_or_email(world: World) -> None:
    """API: a phone or email in use anywhere gets one answer, word for word, whichever clinic holds it and
    whether a patient or staff does; a free one is enrolled."""
    caller = world.callers["other_clinician"]
    free = ask(world, _enrolment({"phone": FREE_PHONE}, "/api/v1/clinic/patients"), caller)
    assert free.status == 201
    answers = {
        case: ask(world, _enrolment(contact, "/api/v1/clinic/patients"), caller) for case, contact in TAKEN.items()
    }
    own = answers["its own patient's phone"]
    assert own.status == 409 and enrolment.CONTACT_TAKEN in own.text
    for case, reply in answers.items():
        assert (reply.status, reply.text) == (own.status, own.text), case
        assert "Lakeside" not in reply.text and "Marigold" not in reply.text, case


def _page_without_its_inputs(html: str, contact: dict[str, str]) -> str:
    """The page as it would be for any contact: the values typed back into the form and the CSRF token out."""
    html = re.sub(r'name="csrf_token"[^>]*>', "", html)
    for value in contact.values():
        html = html.replace(value, "").replace(value.replace("(", "&#40;").replace(")", "&#41;"), "")
    return html


def test_the_enrolment_page_answers_alike_whoever_holds_the_phone_or_email(world: World) -> None:
    """Web: the same page and message for a phone or email in use, whichever clinic holds it."""
    caller = world.callers["other_clinician"]
    free = ask(world, _enrolment({"phone": FREE_PHONE}, "/clinic/patients/new"), caller)
    assert free.status == 303
    pages = {case: ask(world, _enrolment(contact, "/clinic/patients/new"), caller) for case, contact in TAKEN.items()}
    own = pages["its own patient's phone"]
    assert own.status == 422 and enrolment.CONTACT_TAKEN in own.text
    expected = _page_without_its_inputs(own.text, TAKEN["its own patient's phone"])
    for case, reply in pages.items():
        page = _page_without_its_inputs(reply.text, TAKEN[case])
        assert reply.status == own.status and page == expected, case
        assert "Lakeside" not in page and "Marigold" not in page, case


def test_inviting_staff_answers_alike_whoever_holds_the_email(world: World) -> None:
    """An admin inviting an email in use hears the same, whether another clinic's account holds it or theirs."""
    caller = world.callers["other_admin"]
    emails = {
        "another clinic's clinician": "clinician@lakeside.example",
        "its own clinician": "clinician@riverside.example",
    }
    pages = {
        case: ask(
            world,
            Probe("POST", "/admin/staff", page_admin(422, 422), body={"role": "clinician", "email": email}),
            caller,
        )
        for case, email in emails.items()
    }
    free = ask(
        world,
        Probe(
            "POST", "/admin/staff", page_admin(303, 303), body={"role": "clinician", "email": "new@riverside.example"}
        ),
        caller,
    )
    assert free.status == 303 and free.location.endswith("/link")  # to the page that shows the link once
    own = pages["its own clinician"]
    expected = _page_without_its_inputs(own.text, emails)  # the list of staff shows its own clinician
    assert own.status == 422
    for case, reply in pages.items():
        page = _page_without_its_inputs(reply.text, emails)
        assert reply.status == own.status and page == expected, case
        assert "Lakeside" not in page, case


def test_an_idempotency_key_replays_only_its_own_callers_answer(world: World) -> None:
    """The stored first answers hold records: another account sending the same key gets its own answer."""
    key = {"Idempotency-Key": "same-key-on-two-phones"}
    checkin = Probe("POST", "/api/v1/checkins", api_patient(201), body=PHQ9_BODY)
    request = Probe(
        "POST", "/api/v1/clinic/patients/{patient_id}/booster-requests", api_staff(409), body={"reason": "Rising"}
    )
    with together(world):
        first = ask(world, checkin, world.callers["patient"], extra=key)
        again = ask(world, checkin, world.callers["patient"], extra=key)
        other = ask(world, checkin, world.callers["other_patient"], extra=key)
        staff = ask(world, request, world.callers["other_clinician"], extra=key)
    mine = json.loads(first.text)
    assert first.status == again.status == 201 and json.loads(again.text) == mine  # a retry: the first answer
    assert other.status == 201 and json.loads(other.text)["id"] != mine["id"]
    assert staff.status == 404  # the first clinic's patient, as before: the key changes nothing
    for reply in (other, staff):
        assert mine["id"] not in reply.text
    for reply in (other, staff):
        for what, value in world.secrets.items():
            assert value not in reply.text, what
