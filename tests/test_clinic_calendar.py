"""The clinic's calendar of booked infusions: two weeks by day in the clinic's zone, own clinic only, audited."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from conftest import AuthActions
from factories import Factory
from flask.testing import FlaskClient

from tracker.models import AuditEvent, Clinic

Fetch = Callable[..., list[Any]]


def days_of(html: str) -> list[tuple[str, str]]:
    """Each day's heading and the text of its block."""
    blocks = re.findall(r"<li>\s*<h2>(.*?)</h2>(.*?)</li>\s*(?=<li>\s*<h2>|</ol>)", html, re.S)
    return [(heading, " ".join(re.sub(r"<[^>]+>", " ", body).split())) for heading, body in blocks]


@pytest.fixture
def lakeside(factory: Factory) -> Clinic:
    return factory.clinic("Lakeside", timezone="America/Chicago")


def test_calendar_is_for_staff_only(client: FlaskClient, auth: AuthActions, factory: Factory) -> None:
    assert client.get("/clinic/calendar").status_code == 302
    patient = factory.patient()
    auth.login(patient.phone)
    assert client.get("/clinic/calendar").status_code == 403


def test_two_weeks_by_day_in_the_clinics_zone(
    client: FlaskClient, auth: AuthActions, factory: Factory, lakeside: Clinic
) -> None:
    # Now is Saturday Nov 21, 9:00 AM CST.
    ann = factory.patient(lakeside, display_name="Ann Ames")
    ben = factory.patient(lakeside, display_name="Ben Bell", sms_opted_out=True)
    # 11:30 PM CST on Sunday is already Monday in UTC: it belongs under Sunday.
    factory.infusion(ann, scheduled_for=datetime(2026, 11, 23, 5, 30, tzinfo=UTC), ride_home_confirmed=True)
    factory.infusion(ben, kind="booster", scheduled_for=datetime(2026, 11, 21, 20, 0, tzinfo=UTC))
    factory.infusion(ann, scheduled_for=datetime(2026, 12, 4, 15, 0, tzinfo=UTC))  # the last day shown
    factory.infusion(ann, scheduled_for=datetime(2026, 12, 5, 15, 0, tzinfo=UTC))  # day 15: not shown
    factory.infusion(ann, given_at=datetime(2026, 11, 21, 14, 0, tzinfo=UTC))  # given, not booked
    cancelled = factory.infusion(ben, scheduled_for=datetime(2026, 11, 24, 15, 0, tzinfo=UTC))
    with factory.session() as s:
        s.merge(cancelled).status = "cancelled"
    auth.login(factory.user(lakeside).email or "")
    response = client.get("/clinic/calendar")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    days = days_of(html)
    assert [heading for heading, _ in days][:3] == ["Saturday, Nov 21 (today)", "Sunday, Nov 22", "Monday, Nov 23"]
    assert len(days) == 14 and days[-1][0] == "Friday, Dec 4"
    today, sunday, monday = days[0][1], days[1][1], days[2][1]
    assert "2:00 PM CST Ben Bell Booster" in today
    assert "Not yet: ride home not confirmed; not texted: opted out of texts" in today
    assert "11:30 PM CST Ann Ames Induction Ride home confirmed" in sunday
    assert "Nothing booked" in monday
    assert "Nothing booked" in days[3][1]  # the cancelled visit is not on the calendar
    assert "Ann Ames Induction Not yet: ride home not confirmed" in days[-1][1]
    assert f'href="/clinic/patients/{ann.id}"' in html and f'href="/clinic/patients/{ben.id}"' in html
    assert html.count("Ann Ames") == 2
    assert 'href="/clinic/calendar" aria-current="page">Calendar' in html


def test_another_clinics_bookings_are_not_shown(
    client: FlaskClient, auth: AuthActions, factory: Factory, lakeside: Clinic
) -> None:
    other = factory.patient(factory.clinic("Riverside"), display_name="Other Person")
    factory.infusion(other, scheduled_for=datetime(2026, 11, 22, 15, 0, tzinfo=UTC))
    auth.login(factory.user(lakeside).email or "")
    html = client.get("/clinic/calendar").get_data(as_text=True)
    assert "Other Person" not in html and str(other.id) not in html


def test_reading_the_calendar_is_audited(
    client: FlaskClient, auth: AuthActions, factory: Factory, lakeside: Clinic, fetch: Fetch
) -> None:
    patient = factory.patient(lakeside)
    factory.infusion(patient, scheduled_for=datetime(2026, 11, 22, 15, 0, tzinfo=UTC) + timedelta(hours=1))
    staff = factory.user(lakeside, role="admin")
    auth.login(staff.email or "")
    assert client.get("/clinic/calendar").status_code == 200
    events = fetch(sa.select(AuditEvent).where(AuditEvent.action == "calendar.read"))
    assert [(e.actor_id, e.clinic_id, e.detail) for e in events] == [
        (staff.id, lakeside.id, {"from": "2026-11-21", "days": 14, "count": 1})
    ]


def test_later_fortnights_are_a_link_away(
    client: FlaskClient, auth: AuthActions, factory: Factory, lakeside: Clinic
) -> None:
    ann = factory.patient(lakeside, display_name="Ann Ames")
    factory.infusion(ann, scheduled_for=datetime(2026, 12, 5, 15, 0, tzinfo=UTC))  # day 15: the second page
    factory.infusion(ann, scheduled_for=datetime(2026, 12, 22, 15, 0, tzinfo=UTC))  # the third page
    auth.login(factory.user(lakeside).email or "")
    first = client.get("/clinic/calendar").get_data(as_text=True)
    assert "Ann Ames" not in first and 'href="/clinic/calendar?page=1"' in first and "Earlier" not in first
    second = client.get("/clinic/calendar?page=1").get_data(as_text=True)
    days = days_of(second)
    assert days[0][0] == "Saturday, Dec 5" and "Ann Ames" in days[0][1] and "(today)" not in second
    assert 'href="/clinic/calendar?page=0"' in second and 'href="/clinic/calendar?page=2"' in second
    assert "Ann Ames" in client.get("/clinic/calendar?page=2").get_data(as_text=True)
    last = client.get("/clinic/calendar?page=26").get_data(as_text=True)
    assert "page=27" not in last
    for bad in ("27", "-1", "１", "abc", "1e3", ""):
        assert client.get(f"/clinic/calendar?page={bad}").status_code == 404, bad
