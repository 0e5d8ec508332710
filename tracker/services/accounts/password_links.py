"""One-time links with which the account holder chooses a password: invitations and password resets.

Only the token's SHA-256 hash is stored (tracker/models/access.py); the link itself goes to its holder once,
in a text or on the admin's page that answers the request, and is never logged.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, cast

import sqlalchemy as sa
from flask import current_app

from tracker import clock
from tracker.errors import Gone, NotFound
from tracker.extensions import db
from tracker.models import Invitation, User
from tracker.models.access import hash_secret, new_secret

# Where each kind of link opens, under PUBLIC_BASE_URL (texts.for_staff hides both from staff).
PATHS = {"invitation": "/invite/", "reset": "/reset/"}


def url(purpose: str, secret: str) -> str:
    return f"{current_app.config['PUBLIC_BASE_URL']}{PATHS[purpose]}{secret}"


def issue(user: User, purpose: str, lifetime: timedelta, by: User | None = None) -> str:
    """A new link of this purpose for the user, as a URL; earlier unused ones of the same purpose stop working.

    Only links of the same purpose: anyone may ask for a reset, and that must not void a pending invitation.
    """
    now = clock.now()
    db.session.execute(
        sa.update(Invitation)
        .where(Invitation.user_id == user.id, Invitation.purpose == purpose, Invitation.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    secret = new_secret()
    db.session.add(
        Invitation(
            user_id=user.id,
            purpose=purpose,
            token_hash=hash_secret(secret),
            created_by_id=by.id if by else None,
            created_at=now,
            expires_at=now + lifetime,
        )
    )
    db.session.flush()
    return url(purpose, secret)


def void_all(user: User) -> None:
    """Every unused link of the user, of any purpose, stops working now."""
    db.session.execute(
        sa.update(Invitation)
        .where(Invitation.user_id == user.id, Invitation.used_at.is_(None))
        .values(used_at=clock.now())
        .execution_options(synchronize_session=False)
    )


def find(secret: str, purpose: str, unknown: str, gone: str) -> Invitation:
    """The live link of this purpose: NotFound (`unknown`) when there is none, Gone (`gone`) if used or expired."""
    link = db.session.scalar(
        sa.select(Invitation).where(Invitation.token_hash == hash_secret(secret), Invitation.purpose == purpose)
    )
    if link is None:
        raise NotFound(unknown)
    if link.used_at is not None or link.expires_at <= clock.now():
        raise Gone(gone)
    return link


def claim(link: Invitation, gone: str) -> None:
    """Use the link up before the password it sets is stored: of two requests at once, one wins, the other is Gone.

    A conditional UPDATE, as for check-in links (services/checkins/links.py).
    """
    now = clock.now()
    result = db.session.execute(
        sa.update(Invitation)
        .where(Invitation.id == link.id, Invitation.used_at.is_(None), Invitation.expires_at > now)
        .values(used_at=now)
        .execution_options(synchronize_session="fetch")
    )
    if cast(sa.CursorResult[Any], result).rowcount != 1:
        raise Gone(gone)
