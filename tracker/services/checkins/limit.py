"""How many check-ins a patient may send of themselves: a generous limit, so a stuck client or a hostile one
cannot fill the record (and the clinic's charts) with hundreds of check-ins a day.

Counted in the database (the check-ins themselves), so it holds across web hosts and ways in (app, web, SMS)
without a limiter store. Check-ins entered by staff in clinic are never counted nor refused.
"""

from __future__ import annotations

import math
import uuid
from datetime import datetime, timedelta

import sqlalchemy as sa

from tracker.errors import TooMany
from tracker.extensions import db
from tracker.models import CheckIn

SELF_SOURCES = ("app", "web", "sms")
PER_WINDOW = 6  # per instrument: a weekly questionnaire answered six times in a day is already far past use
WINDOW = timedelta(hours=24)


def retry_after(patient_id: uuid.UUID, instrument: str, now: datetime) -> int | None:
    """Seconds until the patient may send another `instrument` check-in of their own; None when they may now."""
    since = now - WINDOW
    times = db.session.scalars(
        sa.select(CheckIn.created_at)
        .where(
            CheckIn.patient_id == patient_id,
            CheckIn.instrument == instrument,
            CheckIn.source.in_(SELF_SOURCES),
            CheckIn.created_at > since,
        )
        .order_by(CheckIn.created_at.desc())
        .limit(PER_WINDOW)
    ).all()
    if len(times) < PER_WINDOW:
        return None
    # The oldest of the last PER_WINDOW leaves the window first, and lets one more in.
    return max(1, math.ceil((times[-1] + WINDOW - now).total_seconds()))


def check(patient_id: uuid.UUID, instrument: str, source: str, now: datetime) -> None:
    """Refuse (TooMany) a patient's own check-in past the limit. The caller never asks this of a check-in with a
    positive item 9: that one is always taken (CLINICAL.md §3)."""
    if source not in SELF_SOURCES:
        return
    wait = retry_after(patient_id, instrument, now)
    if wait is not None:
        raise TooMany(message(wait), wait)


def message(wait: int) -> str:
    """The plain words a patient reads, on a page or in a text."""
    return (
        f"You have already checked in {PER_WINDOW} times in the last day. "
        f"You can check in again in {_wait_in_words(wait)}."
    )


def _wait_in_words(seconds: int) -> str:
    """ "4 hours": rounded up, so a patient who waits as long as told is let in."""
    if seconds < 2 * 3600:
        amount, unit = max(1, math.ceil(seconds / 60)), "minute"
    else:
        amount, unit = math.ceil(seconds / 3600), "hour"
    return f"{amount} {unit}{'' if amount == 1 else 's'}"
