"""GET /api/v1/clinic/patients counts days_since_last_checkin in the clinic's calendar days, as its pages do
(tracker/ages.py): a check-in at 11:30 PM is 1 day ago at 9 AM, though under 24 hours have passed."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from factories import Factory
from flask.testing import FlaskClient

from tracker.clock import FrozenClock


def _days(client: FlaskClient, headers: dict[str, str]) -> int | None:
    [item] = client.get("/api/v1/clinic/patients", headers=headers).get_json()["items"]
    days: int | None = item["days_since_last_checkin"]
    return days


@pytest.mark.parametrize(
    ("zone", "taken", "now", "days"),
    [
        # Chicago (UTC-6 in November): 11:30 PM on the 20th, read at 9 AM on the 21st: yesterday.
        ("America/Chicago", datetime(2026, 11, 21, 5, 30, tzinfo=UTC), datetime(2026, 11, 21, 15, 0, tzinfo=UTC), 1),
        # A minute after midnight, read at 11:59 PM the same day there: today, though it is the 22nd in UTC.
        ("America/Chicago", datetime(2026, 11, 21, 6, 1, tzinfo=UTC), datetime(2026, 11, 22, 5, 59, tzinfo=UTC), 0),
        ("America/Chicago", datetime(2026, 11, 21, 6, 1, tzinfo=UTC), datetime(2026, 11, 22, 6, 0, tzinfo=UTC), 1),
        # 11:59 PM on the 19th, read at 12:01 AM on the 21st: 2 days there, though 24 hours and 2 minutes in all.
        ("America/Chicago", datetime(2026, 11, 20, 5, 59, tzinfo=UTC), datetime(2026, 11, 21, 6, 1, tzinfo=UTC), 2),
        # Sydney (UTC+11): 11 PM on the 20th there, read an hour later at midnight: yesterday.
        ("Australia/Sydney", datetime(2026, 11, 20, 12, 0, tzinfo=UTC), datetime(2026, 11, 20, 13, 0, tzinfo=UTC), 1),
    ],
)
def test_days_since_the_last_check_in_are_the_clinics_calendar_days(
    client: FlaskClient,
    factory: Factory,
    clock: FrozenClock,
    bearer: Callable[..., Any],
    zone: str,
    taken: datetime,
    now: datetime,
    days: int,
) -> None:
    clinic = factory.clinic(timezone=zone)
    patient = factory.patient(clinic, timezone="Pacific/Auckland")  # the patient's own zone is not the count's
    clock.set(min(taken, now))
    factory.checkin(patient, total=9, taken_at=taken)
    clock.set(now)
    assert _days(client, bearer(factory.user(clinic))) == days


def test_no_check_in_yet_has_no_days(client: FlaskClient, factory: Factory, bearer: Callable[..., Any]) -> None:
    clinic = factory.clinic(timezone="America/Chicago")
    factory.patient(clinic)
    assert _days(client, bearer(factory.user(clinic))) is None
