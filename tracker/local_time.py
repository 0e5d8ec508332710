"""Time as people read it: a zone from a stored name, and the few ways a moment is written. Pure.

Every page, text and export takes its zone and its wording from here, so a patient's texts, their pages and the
clinic's screens say a time the same way. strftime's names are English: the app never changes the C locale.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

# The moments anything of ours can be: a check-in, an infusion, a booking. Outside them a date is a typing
# slip or an attack, and one near the calendar's ends overflows when moved to another zone.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)
OUT_OF_RANGE = "must be a date between 2000 and 2100"


def in_range_utc(moment: datetime) -> datetime | None:
    """The moment in UTC when it lies in [EARLIEST, LATEST); None otherwise (also when no zone can hold it)."""
    try:
        at = moment.astimezone(UTC)
    except (OverflowError, ValueError):
        return None
    return at if EARLIEST <= at < LATEST else None


def zone_of(name: str | None, fallback: str | None = None) -> tzinfo:
    """The named zone; a bad name (never accepted on input, but data outlives checks) falls back, then to UTC.

    UTC is labelled as such wherever a time is shown, so a fallback never passes for local time.
    """
    for candidate in (name, fallback):
        if not candidate:
            continue
        try:
            return ZoneInfo(candidate)
        except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a name too long to be a file
            continue
    return UTC


def in_zone(moment: datetime, zone: tzinfo) -> datetime:
    """The moment on the zone's clock; on UTC's when the zone's cannot show it (a date stored at the calendar's
    very ends, before such dates were refused), so it is written out as it is instead of breaking the page."""
    try:
        return moment.astimezone(zone)
    except (OverflowError, ValueError):
        return moment.astimezone(UTC)


def _clock(at: datetime) -> str:
    return f"{at.hour % 12 or 12}:{at:%M} {'AM' if at.hour < 12 else 'PM'}"


def clock_time(moment: datetime, zone: tzinfo) -> str:
    """'9:30 AM CST': the time of day alone, for a day already written beside it."""
    at = in_zone(moment, zone)
    return f"{_clock(at)} {at:%Z}"


def wall_clock(moment: datetime, zone: tzinfo) -> str:
    """'Dec 1, 2026, 9:30 AM CST'."""
    at = in_zone(moment, zone)
    return f"{at:%b} {at.day}, {at.year}, {_clock(at)} {at:%Z}"


def day(moment: datetime, zone: tzinfo, now: datetime | None = None) -> str:
    """'Dec 1'; with the year when it is not the year of `now` (given)."""
    at = in_zone(moment, zone)
    if now is not None and at.year != now.astimezone(zone).year:
        return f"{at:%b} {at.day}, {at.year}"
    return f"{at:%b} {at.day}"


def short_day(moment: datetime, zone: tzinfo) -> str:
    """'12/1', for a chart's axis."""
    at = in_zone(moment, zone)
    return f"{at.month}/{at.day}"


def spoken(moment: datetime, zone: tzinfo) -> str:
    """'Tuesday, December 1 at 9:30 AM CST', as a text to a patient says it."""
    at = in_zone(moment, zone)
    return f"{at:%A, %B} {at.day} at {_clock(at)} {at.tzname()}"


def duration_phrase(delta: timedelta) -> str:
    """A wait as a clinician reads it at a glance: '12 min', '3 h 5 min', '4 days'."""
    minutes = max(0, int(delta.total_seconds() // 60))
    if minutes < 60:
        return f"{minutes} min"
    hours, rest = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {rest} min" if rest and hours < 6 else f"{hours} h"
    days = hours // 24
    return f"{days} day{'s' if days != 1 else ''}"
