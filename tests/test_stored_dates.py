"""Dates and numbers are bounded where they are read (API.md, issue 12): nothing stored can break a page later."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from conftest import AuthActions, csrf_token_from
from factories import Factory
from flask import Flask
from flask.testing import FlaskClient

from tracker.clock import FrozenClock
from tracker.extensions import db
from tracker.models import CheckIn, Clinic, Infusion, Patient
from tracker.services.boosters import requests as boosters
from tracker.web import charts

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


# Rows stored before the bounds existed, written straight into the database: every page that draws them still
# draws (the bad value shown as it is, or left out of a chart), on SQLite and PostgreSQL alike.

YEAR_1 = datetime(1, 1, 1, tzinfo=UTC)
YEAR_9999 = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)
YEAR_26 = datetime(26, 5, 1, 9, 30, tzinfo=UTC)


def _bad_doses(dialect: str) -> dict[str, Any]:
    if dialect == "postgresql":  # numeric(5,3) takes NaN; the widest it takes otherwise is 99.999
        return {"dose_mg_per_kg": "NaN", "weight_kg": "9999.9", "total_mg": "NaN"}
    return {"dose_mg_per_kg": "9e999", "weight_kg": "1e300", "total_mg": "-9e999"}  # SQLite: inf and huge


CORRUPTIONS: dict[str, Callable[[str], list[sa.Executable]]] = {
    "check-in in year 1": lambda _: [sa.update(CheckIn).where(CheckIn.total == 11).values(taken_at=YEAR_1)],
    "check-in in year 9999": lambda _: [sa.update(CheckIn).where(CheckIn.total == 11).values(taken_at=YEAR_9999)],
    "year 9999 east of UTC": lambda _: [  # 14 hours ahead: past the calendar's last day on the zone's clock
        sa.update(CheckIn).where(CheckIn.total == 11).values(taken_at=YEAR_9999),
        sa.update(Infusion).where(Infusion.status == "scheduled").values(scheduled_for=YEAR_9999),
        sa.update(Patient).values(timezone="Pacific/Kiritimati"),
        sa.update(Clinic).values(timezone="Pacific/Kiritimati"),
    ],
    "every check-in at the calendar's ends": lambda _: [
        sa.update(CheckIn).where(CheckIn.total == 11).values(taken_at=YEAR_1),
        sa.update(CheckIn).where(CheckIn.total != 11).values(taken_at=YEAR_9999),
    ],
    "infusion in year 26": lambda _: [
        sa.update(Infusion).where(Infusion.status == "given").values(given_at=YEAR_26, scheduled_for=YEAR_26)
    ],
    "booking in year 9999": lambda _: [
        sa.update(Infusion).where(Infusion.status == "scheduled").values(scheduled_for=YEAR_9999)
    ],
    "dose not a number, or huge": lambda dialect: [
        sa.text(
            "UPDATE infusion SET "
            + ", ".join(
                f"{name} = {value if dialect == 'sqlite' else repr(value)}"
                for name, value in _bad_doses(dialect).items()
            )
        )
    ],
    "empty display name": lambda _: [sa.update(Patient).values(display_name="")],
    "time zone no longer valid": lambda _: [
        sa.update(Patient).values(timezone="Mars/Olympus_Mons"),
        sa.update(Clinic).values(timezone="Atlantis/Capital"),
    ],
}


@pytest.fixture
def stored(app: Flask, factory: Factory, clock: FrozenClock) -> dict[str, Any]:
    """A patient with a history: check-ins, an induction series, a booking, an open request and alerts."""
    clinic = factory.clinic(oncall_phone="+13125550100")
    patient = factory.patient(clinic)
    now = clock()
    for n, total in enumerate([21, 18, 11, 16, 19]):
        factory.checkin(patient, total=total, taken_at=now - timedelta(days=60 - 12 * n))
    for n in range(3):
        factory.infusion(patient, kind="induction", given_at=now - timedelta(days=58 - 2 * n), weight_kg=Decimal("70"))
    factory.infusion(patient, kind="booster", scheduled_for=now + timedelta(days=3))
    with app.app_context():
        boosters.raise_request(db.session.get(Patient, patient.id), "scan", None, None)  # type: ignore[arg-type]
        db.session.commit()
    checkin = factory.checkin(patient, total=12, taken_at=now - timedelta(days=1))
    return {"patient": patient, "staff": factory.staff_for(patient), "checkin": checkin}


def _corrupt(app: Flask, name: str) -> None:
    """Write the bad values past the checks that now keep them out: this test's transaction undoes it all."""
    with app.app_context():
        dialect = db.engine.dialect.name
        if dialect == "sqlite":
            db.session.execute(sa.text("PRAGMA ignore_check_constraints = 1"))
        else:
            for column in ("dose_mg_per_kg", "weight_kg", "total_mg"):
                db.session.execute(sa.text(f"ALTER TABLE infusion DROP CONSTRAINT ck_infusion_{column}_range"))
        try:
            for statement in CORRUPTIONS[name](dialect):
                db.session.execute(statement, execution_options={"synchronize_session": False})
            db.session.commit()
        finally:
            if dialect == "sqlite":  # the pooled connection keeps its pragmas
                db.session.execute(sa.text("PRAGMA ignore_check_constraints = 0"))


@pytest.mark.parametrize("corruption", list(CORRUPTIONS))
def test_pages_and_reads_draw_rows_stored_before_the_bounds(
    app: Flask, client: FlaskClient, stored: dict[str, Any], bearer: Callable[..., Any], corruption: str
) -> None:
    _corrupt(app, corruption)
    patient, staff = stored["patient"], stored["staff"]
    AuthActions(client).login(staff.email or "")
    for url in [
        "/clinic/",
        "/clinic/patients",
        "/clinic/patients?sort=days_since_last",
        f"/clinic/patients/{patient.id}",
        f"/exports/patients/{patient.id}/checkins.csv",
        "/exports/checkins.csv",
        f"/exports/patients/{patient.id}/fhir.json",
        "/exports/outcomes",
    ]:
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        assert response.get_data(), url  # a streamed export writes its rows only now
        response.close()
    staff_api = bearer(staff)
    for url in [
        "/api/v1/clinic/patients",
        f"/api/v1/clinic/patients/{patient.id}",
        f"/api/v1/clinic/patients/{patient.id}/checkins",
        f"/api/v1/clinic/patients/{patient.id}/infusions",
        "/api/v1/clinic/booster-requests",
        "/api/v1/clinic/alerts",
    ]:
        assert client.get(url, headers=staff_api).status_code == 200, url
    own = bearer(patient)
    for url in ["/api/v1/me", "/api/v1/checkins", f"/api/v1/checkins/{stored['checkin'].id}", "/api/v1/infusions"]:
        assert client.get(url, headers=own).status_code == 200, url
    browser = app.test_client()
    AuthActions(browser).login(patient.phone)
    for url in ["/me", "/me/history", f"/me/checkins/{stored['checkin'].id}"]:
        assert browser.get(url).status_code == 200, url


def test_a_check_in_of_year_1_is_listed_as_stored_and_left_out_of_the_chart(
    app: Flask, client: FlaskClient, stored: dict[str, Any]
) -> None:
    _corrupt(app, "check-in in year 1")
    AuthActions(client).login(stored["staff"].email or "")
    html = client.get(f"/clinic/patients/{stored['patient'].id}").get_data(as_text=True)
    assert 'data-points="5"' in html  # six check-ins, five drawn
    assert '<table class="list compact" data-rows="6">' in html
    assert "Jan 1, 1, 12:00 AM UTC" in html  # Chicago's clock has no such day: shown on UTC's
    assert "1 entry is dated outside 2000–2100 and not drawn" in html


@pytest.mark.parametrize("far", [YEAR_1, YEAR_26, YEAR_9999])
def test_the_chart_draws_what_lies_in_the_calendar_and_counts_the_rest(far: datetime) -> None:
    now = datetime(2026, 11, 21, tzinfo=UTC)
    chart = charts.trajectory(
        [charts.Point("a", now - timedelta(days=20), 14), charts.Point("b", far, 27), charts.Point("c", now, 9)],
        [charts.InfusionIn("i", "booster", "given", far), charts.InfusionIn("j", "booster", "given", now)],
        [charts.RequestIn("r", now - timedelta(days=5), "routine", "declined", decided_at=far)],
        window_start=far,
        reference_low=9,
        now=now,
        zone=ZoneInfo("Pacific/Kiritimati"),
    )
    assert [p.id for p in chart.points] == ["a", "c"] and [g.id for g in chart.infusions] == ["j"]
    assert [r.id for r in chart.requests] == ["r"] and chart.decisions == ()
    assert chart.left_out == 2 and [row.total for row in chart.rows] == ([27, 14, 9] if far < now else [14, 9, 27])
    assert chart.start > now - timedelta(days=30)  # the span is the drawn marks', not year 1's
    assert all(charts.LEFT <= p.x <= charts.RIGHT for p in chart.points)


def test_a_blank_name_still_gives_the_clinician_a_way_to_the_record(
    app: Flask, client: FlaskClient, stored: dict[str, Any]
) -> None:
    _corrupt(app, "empty display name")
    AuthActions(client).login(stored["staff"].email or "")
    link = f'<a href="/clinic/patients/{stored["patient"].id}">(no name)</a>'
    assert link in client.get("/clinic/patients").get_data(as_text=True)
    assert "(no name)" in client.get("/clinic/").get_data(as_text=True)
    assert "<h1>(no name)</h1>" in client.get(f"/clinic/patients/{stored['patient'].id}").get_data(as_text=True)
