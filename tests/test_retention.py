"""Kept only for a while (services/retention.py): replayable API answers go after 24 hours."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from factories import Factory
from flask.testing import FlaskClient

from tracker.clock import FrozenClock
from tracker.extensions import db
from tracker.jobs.registry import load_jobs
from tracker.models import IdempotencyRecord

GOOD = {"instrument": "phq9", "answers": [1, 1, 1, 0, 0, 0, 0, 0, 0]}


def test_idempotency_records_are_purged_after_24_hours(
    client: FlaskClient,
    factory: Factory,
    bearer: Callable[..., Any],
    fetch: Callable[..., list[Any]],
    clock: FrozenClock,
    app: Any,
) -> None:
    headers = {**bearer(factory.patient()), "Idempotency-Key": "first"}
    assert client.post("/api/v1/checkins", json=GOOD, headers=headers).status_code == 201
    clock.advance(hours=23)
    assert (
        client.post("/api/v1/checkins", json=GOOD, headers={**headers, "Idempotency-Key": "second"}).status_code == 201
    )
    clock.advance(hours=1, minutes=1)
    with app.app_context():
        result = load_jobs()["purge-idempotency"].run(db.session, clock.current)
    assert result.counts == {"purged": 1}
    assert [r.key for r in fetch(sa.select(IdempotencyRecord))] == ["second"]
    with app.app_context():
        assert load_jobs()["purge-idempotency"].run(db.session, clock.current).counts == {}
