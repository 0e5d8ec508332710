"""tracker.db.insert_once: rows guarded by a unique key go in once, and the loser's transaction goes on.

And the outbox's reminder purposes, named one by one, that the jobs and the SMS check-in share.
"""

from __future__ import annotations

import sqlalchemy as sa
from factories import Factory

from tracker import reminders
from tracker.db import insert_once
from tracker.extensions import db
from tracker.models import CheckinLink, OutboundMessage
from tracker.services.checkins import links as checkin_links
from tracker.services.messaging import outbox


def message(key: str, body: str = "first") -> OutboundMessage:
    return OutboundMessage(to_phone="+13125550999", body=body, purpose="crisis", dedupe_key=key)


def bodies() -> list[str]:
    query = sa.select(OutboundMessage.body).where(OutboundMessage.dedupe_key.like("once:%"))
    return sorted(db.session.scalars(query))


def test_the_first_insert_wins_and_the_second_is_rolled_back(ctx: None) -> None:
    assert insert_once(db.session, message("once:1")) is True
    second = message("once:1", body="second")
    assert insert_once(db.session, second) is False
    assert second not in db.session
    # The SAVEPOINT took only the loser: the transaction reads and writes on.
    assert insert_once(db.session, message("once:2")) is True
    assert bodies() == ["first", "first"]


def test_the_rows_of_one_call_go_in_together_or_not_at_all(ctx: None, factory: Factory) -> None:
    patient = factory.patient()
    assert insert_once(db.session, message("once:3")) is True
    issued = checkin_links.issue(patient.id)
    assert insert_once(db.session, issued.link, message("once:3", body="second")) is False
    links = db.session.scalars(sa.select(CheckinLink).where(CheckinLink.patient_id == patient.id))
    assert list(links) == []  # the link went with the SAVEPOINT
    assert bodies() == ["first"]


def test_every_kind_of_reminder_has_its_purpose() -> None:
    assert set(outbox.REMINDER_PURPOSE) == set(reminders.KINDS)
