"""tracker/ages.py and tracker/phones.py: the words for an age and a phone number, worked out when drawn."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tracker import ages, phones

CHICAGO = ZoneInfo("America/Chicago")
# 8:00 AM in Chicago on Saturday Nov 21, 2026 (CST, UTC-6).
NOW = datetime(2026, 11, 21, 14, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("moment", "days", "words"),
    [
        (NOW - timedelta(minutes=5), 0, "today"),
        (datetime(2026, 11, 21, 6, 30, tzinfo=UTC), 0, "today"),  # 12:30 AM local: the same calendar day
        (datetime(2026, 11, 21, 5, 0, tzinfo=UTC), 1, "yesterday"),  # 11 PM local on the 20th, 9 hours ago
        (NOW - timedelta(days=1, hours=23), 2, "2 days ago"),
        (NOW - timedelta(days=26), 26, "26 days ago"),
        (NOW + timedelta(hours=1), 0, "today"),  # a moment just ahead of the clock is not "-1 days"
    ],
)
def test_days_are_the_clinics_calendar_days(moment: datetime, days: int, words: str) -> None:
    assert ages.days_ago(moment, NOW, CHICAGO) == days
    assert ages.ago(moment, NOW, CHICAGO) == words


def test_the_same_moment_is_a_different_day_in_another_zone() -> None:
    late = datetime(2026, 11, 21, 5, 0, tzinfo=UTC)  # 11 PM on the 20th in Chicago, 5 AM on the 21st in London
    assert ages.ago(late, NOW, CHICAGO) == "yesterday"
    assert ages.ago(late, NOW, ZoneInfo("Europe/London")) == "today"


@pytest.mark.parametrize(
    ("latest", "last", "missing"),
    [
        (None, "no check-in yet", "no check-in yet"),
        (NOW - timedelta(hours=2), "last check-in today", "last check-in today"),
        (datetime(2026, 11, 20, 15, 0, tzinfo=UTC), "last check-in yesterday", "no check-in since yesterday"),
        (NOW - timedelta(days=26), "last check-in 26 days ago", "no check-in for 26 days"),
    ],
)
def test_check_in_phrases(latest: datetime | None, last: str, missing: str) -> None:
    assert ages.last_checkin(latest, NOW, CHICAGO) == last
    assert ages.no_checkin_for(latest, NOW, CHICAGO) == missing


@pytest.mark.parametrize(
    ("moment", "words"),
    [
        (NOW - timedelta(seconds=20), "just now"),
        (NOW - timedelta(minutes=12), "12 min ago"),
        (NOW - timedelta(hours=3, minutes=5), "3 h 5 min ago"),
        (NOW - timedelta(hours=23), "23 h ago"),
        (NOW - timedelta(hours=30), "yesterday"),
        (NOW - timedelta(days=4), "4 days ago"),
    ],
)
def test_how_long_an_item_has_waited(moment: datetime, words: str) -> None:
    assert ages.elapsed(moment, NOW, CHICAGO) == words


def test_never_is_the_callers_word() -> None:
    assert ages.ago(None, NOW, CHICAGO) == "never"
    assert ages.ago(None, NOW, CHICAGO, never="no check-in yet") == "no check-in yet"


@pytest.mark.parametrize(
    ("stored", "country", "shown"),
    [
        ("+13125550123", "US", "(312) 555-0123"),
        ("+13125550123", None, "+1 312-555-0123"),  # no country: international, never a guess
        ("+13125550123", "GB", "+1 312-555-0123"),
        ("+442079460958", "GB", "020 7946 0958"),
        ("+442079460958", "us", "+44 20 7946 0958"),
        ("+61291234567", "AU", "(02) 9123 4567"),
        ("+16135550123", "CA", "(613) 555-0123"),
        ("+16135550123", "US", "+1 613-555-0123"),  # Canada shares +1 but is another country
        ("not a number", "US", "not a number"),
        ("", "US", ""),
        (None, "US", ""),
    ],
)
def test_phone_numbers_are_shown_as_the_clinics_country_writes_them(
    stored: str | None, country: str | None, shown: str
) -> None:
    assert phones.readable(stored, country) == shown
