"""The one way every part of a patient's FHIR Bundle writes a moment (fhir_export and the parts it gathers).

FHIR's dateTime takes an offset in whole minutes within ±14:00. A zone's clock before standard time (local mean
time, e.g. -05:50:36 in America/Chicago before 1883) has seconds in its offset, so such a moment is written in UTC,
which says the same instant.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tracker.local_time import in_zone, zone_of

_LARGEST_OFFSET = timedelta(hours=14)


def instant(moment: datetime, timezone: str | None) -> str:
    """A FHIR dateTime with its offset, in the patient's own time zone where FHIR can write that zone's offset."""
    at = in_zone(moment, zone_of(timezone))
    offset = at.utcoffset() or timedelta(0)
    if offset.total_seconds() % 60 or abs(offset) > _LARGEST_OFFSET:
        at = at.astimezone(UTC)
    return at.isoformat(timespec="seconds")
