"""The dispatcher under faults: a Twilio failing 30% of calls, and a scheduler killed (SIGKILL) mid-dispatch."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from conftest import TEST_NOW
from fake_twilio import FakeTwilio
from flask import Flask
from sqlalchemy.orm import Session

from tracker import clock as tracker_clock
from tracker.clock import FrozenClock
from tracker.extensions import db
from tracker.jobs.dispatch_sms import dispatch
from tracker.models import Clinic, OutboundMessage, SendLimiter
from tracker.services.messaging.outbox import queue_sms
from tracker.services.messaging.pacing import Pacer

CHILD = Path(__file__).with_name("dispatch_child.py")


def twilio_config(fake: FakeTwilio, timeout: float) -> dict[str, object]:
    return {
        "SMS_BACKEND": "twilio",
        "TWILIO_ACCOUNT_SID": fake.account_sid,
        "TWILIO_AUTH_TOKEN": fake.auth_token,
        "TWILIO_FROM_NUMBER": "+15005550006",
        "TWILIO_MESSAGING_SERVICE_SID": None,
        "TWILIO_API_BASE_URL": fake.base_url,
        "TWILIO_TIMEOUT_SECONDS": timeout,
        "SMS_RATE_PER_SECOND": 1000,
        "SMS_MAX_ATTEMPTS": 20,  # with 30% failing, six attempts in a row can all fail; here every text must land
    }


def no_sleep_pacer() -> Pacer:
    return Pacer(1000, lambda: 0.0, lambda _seconds: None)


def drain(clock: FrozenClock, rounds: int = 40) -> None:
    """Run the dispatcher, then move the clock past any retry's wait, until nothing is left to send."""
    for _ in range(rounds):
        dispatch(db.session, clock(), pacer=no_sleep_pacer(), jitter=lambda low, high: 1.0)
        left = db.session.scalar(sa.select(sa.func.count()).where(OutboundMessage.status.in_(("queued", "sending"))))
        if not left:
            return
        clock.advance(hours=1)
    raise AssertionError("the outbox did not drain")


@pytest.mark.in_app_context
def test_a_twilio_failing_30_percent_of_calls_gets_every_text_once_but_the_timeouts(
    app: Flask, fake: FakeTwilio, clock: FrozenClock, ctx: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in twilio_config(fake, timeout=0.25).items():
        monkeypatch.setitem(app.config, key, value)
    clinic = Clinic(name="Faults clinic", timezone="UTC")
    db.session.add(clinic)
    db.session.flush()
    bodies = [f"fault {n}" for n in range(16)]
    for n, body in enumerate(bodies):
        queue_sms(f"+1312555{7000 + n}", body, "bench", clinic_id=clinic.id)
    db.session.flush()
    # 30% fail: half of them 500s, half timeouts (Twilio keeps the text, answers after the client gave up).
    fake.fail_randomly(0.3, seed=7, timeout_share=0.5, delay=0.6)

    drain(clock)

    rows = {
        m.body: m for m in db.session.scalars(sa.select(OutboundMessage).where(OutboundMessage.clinic_id == clinic.id))
    }
    assert {body: row.status for body, row in rows.items()} == dict.fromkeys(bodies, "sent")
    requests = Counter(m["Body"] for m in fake.messages)
    answered = Counter(m["Body"] for m in fake.messages if m["answer"] == 201 and not m["delay"])
    timed_out = Counter(m["Body"] for m in fake.messages if m["answer"] == 201 and m["delay"])
    assert sum(1 for m in fake.messages if m["answer"] == 500) > 0 and sum(timed_out.values()) > 0  # both faults seen
    for body, row in rows.items():
        assert requests[body] == row.attempts  # every attempt reached Twilio, one request each
        assert answered[body] == 1  # accepted and answered once: never sent again after that
        assert row.twilio_sid in {m["sid"] for m in fake.messages if m["Body"] == body and not m["delay"]}
    # The documented double: a text Twilio took but answered too late was sent again.
    doubled = {body for body in bodies if answered[body] + timed_out[body] > 1}
    assert doubled == {body for body in bodies if timed_out[body]}


@pytest.fixture
def committed_outbox(app: Flask) -> Iterator[tuple[sa.Engine, uuid.UUID, list[str]]]:
    """Texts committed for real (a second process must see them), removed afterwards."""
    with app.app_context():
        url = db.engine.url
    engine = sa.create_engine(url)
    with Session(engine) as setup:
        clinic = Clinic(name="Kill clinic", timezone="UTC")
        setup.add(clinic)
        setup.flush()
        bodies = [f"kill {n:02d}" for n in range(60)]
        setup.add_all(
            OutboundMessage(
                to_phone=f"+1312555{8000 + n}",
                body=body,
                purpose="bench",
                clinic_id=clinic.id,
                next_attempt_at=TEST_NOW - timedelta(minutes=1),
                created_at=TEST_NOW - timedelta(minutes=1, seconds=-n),
            )
            for n, body in enumerate(bodies)
        )
        setup.commit()
        clinic_id = clinic.id
    try:
        yield engine, clinic_id, bodies
    finally:
        with engine.begin() as conn:
            conn.execute(sa.delete(OutboundMessage).where(OutboundMessage.clinic_id == clinic_id))
            conn.execute(sa.delete(Clinic).where(Clinic.id == clinic_id))
            conn.execute(sa.delete(SendLimiter))  # the dispatchers' committed slots
        engine.dispose()


def test_a_scheduler_killed_mid_dispatch_loses_nothing_and_doubles_only_its_unrecorded_sends(
    app: Flask,
    fake: FakeTwilio,
    committed_outbox: tuple[sa.Engine, uuid.UUID, list[str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    engine, clinic_id, bodies = committed_outbox
    rate = 40  # 60 texts: 1.5 s of sending, in groups of 4
    child = subprocess.Popen(  # noqa: S603  (this interpreter, the tests' own script)
        [
            sys.executable,
            str(CHILD),
            engine.url.render_as_string(hide_password=False),
            fake.base_url,
            fake.account_sid,
            fake.auth_token,
            str(rate),
            TEST_NOW.isoformat(),
        ],
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(CHILD.parent.parent), str(CHILD.parent)])},
        stdout=subprocess.DEVNULL,
    )
    try:
        assert fake.wait_for_requests(20, timeout=60), "the child never got going"
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL
    before_kill = {m["Body"] for m in fake.messages}
    assert 20 <= len(before_kill) < len(bodies)  # killed mid-dispatch

    with Session(engine) as look:
        rows = look.execute(
            sa.select(OutboundMessage.body, OutboundMessage.status).where(OutboundMessage.clinic_id == clinic_id)
        ).all()
    # Sent, but its group's outcomes never committed: the only texts a restart may send again.
    unrecorded = {body for body, status in rows if status == "sending"} & before_kill

    # The restart: another scheduler, once the dead one's lease has run out.
    restart = FrozenClock(TEST_NOW + timedelta(hours=2))
    for key, value in twilio_config(fake, timeout=2.0).items():
        monkeypatch.setitem(app.config, key, value)
    monkeypatch.setitem(app.config, "CLOCK", restart)
    with app.app_context():
        assert tracker_clock.now() == restart()
        drain(restart)
        db.session.remove()

    with Session(engine) as look:
        statuses = look.scalars(sa.select(OutboundMessage.status).where(OutboundMessage.clinic_id == clinic_id)).all()
    assert set(statuses) == {"sent"}
    reached = Counter(m["Body"] for m in fake.accepted)
    assert set(reached) == set(bodies)  # nothing lost
    doubled = {body for body, n in reached.items() if n > 1}
    assert doubled <= unrecorded  # nothing recorded as sent went again
    assert len(unrecorded) <= 4 + 1  # at most one group (a tenth of a second's sends) and the send in flight
