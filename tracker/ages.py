"""How long ago, in the words a clinician reads at a glance: worked out when the page is drawn. Pure.

Days are calendar days on the clinic's clock: a check-in at 11 PM is "yesterday" at 8 AM, whatever the hours
between. A patient who never checked in has no age; they read "no check-in yet" and sort as the oldest.
"""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo

from tracker.local_time import duration_phrase, in_zone


def days_ago(moment: datetime, now: datetime, zone: tzinfo) -> int:
    """Calendar days from the moment to now on the zone's clock (0 today, 1 yesterday); never negative."""
    return max(0, (in_zone(now, zone).date() - in_zone(moment, zone).date()).days)


def _days(days: int) -> str:
    return f"{days} day{'s' if days != 1 else ''}"


def ago(moment: datetime | None, now: datetime, zone: tzinfo, never: str = "never") -> str:
    """'today', 'yesterday', '26 days ago'; `never` without a moment."""
    if moment is None:
        return never
    days = days_ago(moment, now, zone)
    return "today" if days == 0 else "yesterday" if days == 1 else f"{_days(days)} ago"


def elapsed(moment: datetime, now: datetime, zone: tzinfo) -> str:
    """How long something has waited: 'just now', '3 h 5 min ago' within a day, then as `ago` ('yesterday')."""
    delta = now - moment
    if delta < timedelta(minutes=1):
        return "just now"
    if delta < timedelta(days=1):
        return f"{duration_phrase(delta)} ago"
    return ago(moment, now, zone)


def last_checkin(latest_at: datetime | None, now: datetime, zone: tzinfo) -> str:
    """'last check-in today', 'last check-in yesterday', 'last check-in 26 days ago', 'no check-in yet'."""
    if latest_at is None:
        return "no check-in yet"
    return f"last check-in {ago(latest_at, now, zone)}"


def no_checkin_for(latest_at: datetime | None, now: datetime, zone: tzinfo) -> str:
    """'no check-in for 26 days', 'no check-in since yesterday', 'last check-in today', 'no check-in yet'."""
    if latest_at is None:
        return "no check-in yet"
    days = days_ago(latest_at, now, zone)
    if days == 0:
        return "last check-in today"
    if days == 1:
        return "no check-in since yesterday"
    return f"no check-in for {_days(days)}"


def capital(phrase: str) -> str:
    return phrase[:1].upper() + phrase[1:]
