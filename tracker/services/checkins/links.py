"""One-time check-in links: a reminder's link opens one check-in without a password.

Only the token's SHA-256 hash is stored (tracker/models/access.py). A link works once, for 72 hours, and
grants nothing but that one check-in: it never logs anyone in (a shared phone must not open the account).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

import sqlalchemy as sa
from flask import current_app

from tracker import clock
from tracker.errors import Gone, NotFound
from tracker.extensions import db
from tracker.models import CheckIn, CheckinLink, Patient, User
from tracker.models.access import hash_secret, new_secret

LINK_LIFETIME = timedelta(hours=72)


class LinkUsed(Gone):
    title = "This link has been used"


class LinkExpired(Gone):
    title = "This link has expired"


@dataclass(frozen=True)
class IssuedLink:
    link: CheckinLink
    url: str  # holds the token: put it in the message, never in a log


def link_url(token: str) -> str:
    return f"{current_app.config['PUBLIC_BASE_URL']}/c/{token}"


def issue(patient_id: uuid.UUID, now: datetime | None = None) -> IssuedLink:
    """A new link for one check-in by this patient, not yet added: it goes in with the text that carries it."""
    now = now or clock.now()
    token = new_secret()
    link = CheckinLink(
        patient_id=patient_id,
        token_hash=hash_secret(token),
        created_at=now,
        expires_at=now + LINK_LIFETIME,
    )
    return IssuedLink(link, link_url(token))


def create(patient_id: uuid.UUID, now: datetime | None = None) -> IssuedLink:
    """A new link for one check-in by this patient; the caller commits."""
    issued = issue(patient_id, now)
    db.session.add(issued.link)
    db.session.flush()
    return issued


def find(token: str) -> tuple[CheckinLink, Patient]:
    """The live link and its patient: NotFound when unknown, LinkUsed or LinkExpired (410) otherwise."""
    row = db.session.execute(
        sa.select(CheckinLink, Patient, User.active)
        .join(Patient, Patient.id == CheckinLink.patient_id)
        .join(User, User.id == Patient.user_id)
        .where(CheckinLink.token_hash == hash_secret(token))
    ).first()
    if row is None:
        raise NotFound("This check-in link is not known. Please check that it was copied in full.")
    link, patient, active = row
    if link.used_at is not None:
        raise LinkUsed(
            "Each check-in link works once, and this one has been used. To check in again, "
            "reply CHECKIN to our text or log in."
        )
    if link.expires_at <= clock.now() or not active:
        raise LinkExpired(
            "Check-in links work for 72 hours, and this one no longer does. To check in, "
            "reply CHECKIN to our text or log in."
        )
    return link, patient


def claim(link: CheckinLink) -> None:
    """Use the link up, in the caller's transaction, before the check-in is stored.

    A conditional UPDATE: of two submissions at once, one changes the row and the other (which waits for the
    first to commit, or sees its write) changes nothing and is told the link has been used.
    """
    now = clock.now()
    result = db.session.execute(
        sa.update(CheckinLink)
        .where(CheckinLink.id == link.id, CheckinLink.used_at.is_(None), CheckinLink.expires_at > now)
        .values(used_at=now)
        .execution_options(synchronize_session="fetch")
    )
    if cast(sa.CursorResult[Any], result).rowcount != 1:
        raise LinkUsed("Each check-in link works once, and this one has been used or has just expired.")


def record(link: CheckinLink, checkin: CheckIn) -> None:
    """Tie the used link to the check-in it produced."""
    link.checkin_id = checkin.id
    db.session.flush()
