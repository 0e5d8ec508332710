"""The send slots every dispatcher shares: two dispatchers together keep one sender's rate."""

from __future__ import annotations

import itertools
import threading
from typing import Any

import pytest
import sqlalchemy as sa
from fake_twilio import FakeTwilio
from flask import Flask
from sqlalchemy.orm import Session

from tracker import clock as tracker_clock
from tracker.extensions import db
from tracker.jobs.dispatch_sms import dispatch, limiter_key, shared_slots
from tracker.models import Patient, SendLimiter
from tracker.services.messaging import limiter
from tracker.services.messaging.outbox import queue_sms
from tracker.services.messaging.pacing import Pacer
from tracker.services.messaging.senders import SendResult, make_sender

pytestmark = pytest.mark.in_app_context
KEY = "twilio:+15005550006"


class FakeTime:
    """One wall clock for every dispatcher of a test; it moves only when one of them sleeps."""

    def __init__(self, start: float = 1_000.0) -> None:
        self.current = start

    def time(self) -> float:
        return self.current

    def sleep(self, seconds: float) -> None:
        self.current += seconds


class Recorder:
    """The real sender, noting the fake time of each send."""

    def __init__(self, inner: Any, time_: FakeTime) -> None:
        self.inner, self.time_, self.times = inner, time_, list[float]()

    def send(self, to: str, body: str, status_callback: str | None = None) -> SendResult:
        self.times.append(self.time_.current)
        result: SendResult = self.inner.send(to, body, status_callback)
        return result


@pytest.fixture
def twilio(app: Flask, fake: FakeTwilio, monkeypatch: pytest.MonkeyPatch) -> FakeTwilio:
    settings = {
        "SMS_BACKEND": "twilio",
        "TWILIO_ACCOUNT_SID": fake.account_sid,
        "TWILIO_AUTH_TOKEN": fake.auth_token,
        "TWILIO_FROM_NUMBER": "+15005550006",
        "TWILIO_MESSAGING_SERVICE_SID": None,
        "TWILIO_API_BASE_URL": fake.base_url,
        "TWILIO_TIMEOUT_SECONDS": 0.5,
        "SMS_RATE_PER_SECOND": 20,
    }
    for key, value in settings.items():
        monkeypatch.setitem(app.config, key, value)
    return fake


@pytest.mark.usefixtures("ctx")
def test_reservations_follow_each_other_and_never_overlap() -> None:
    first = limiter.reserve(db.session, KEY, 0.5, 1_000.0)
    second = limiter.reserve(db.session, KEY, 0.5, 1_000.1)  # another dispatcher, a moment later
    third = limiter.reserve(db.session, KEY, 0.5, 1_005.0)  # after an idle spell: from now, no saved-up burst

    assert (first, second, third) == (1_000.0, 1_000.5, 1_005.0)
    assert db.session.get(SendLimiter, KEY).next_free == 1_005.5  # type: ignore[union-attr]
    assert limiter.reserve(db.session, "console", 0.5, 1_000.0) == 1_000.0  # each sender its own pace


@pytest.mark.usefixtures("ctx")
def test_a_next_free_far_ahead_of_the_clock_starts_again_from_now() -> None:
    """A clock that jumped back an hour must not stop the texts for an hour."""
    limiter.reserve(db.session, KEY, 0.5, 10_000.0)
    assert limiter.reserve(db.session, KEY, 0.5, 10_000.0 - 3_600) == 10_000.0 - 3_600


def test_two_dispatchers_at_the_same_moment_share_one_rate(app: Flask, twilio: FakeTwilio, patient: Patient) -> None:
    """Two scheduler processes drain the outbox at once: the second's sends wait for slots the first has not used."""
    for n in range(6):
        queue_sms(patient.phone, f"message {n}", "reminder", patient_id=patient.id, clinic_id=patient.clinic_id)
    db.session.flush()
    time_ = FakeTime()
    rate = 20
    app.config["SMS_RATE_PER_SECOND"] = rate
    senders = [Recorder(make_sender(app.config), time_) for _ in range(2)]
    # Each process has its own pacer and starts at the same moment on the shared clock.
    first = dispatch(db.session, tracker_clock.now(), sender=senders[0], pacer=Pacer(rate, time_.time, time_.sleep))
    started_first = senders[0].times[0]
    time_.current = started_first
    for n in range(6, 9):
        queue_sms(patient.phone, f"message {n}", "reminder", patient_id=patient.id, clinic_id=patient.clinic_id)
    db.session.flush()
    second = dispatch(db.session, tracker_clock.now(), sender=senders[1], pacer=Pacer(rate, time_.time, time_.sleep))
    for sender in senders:
        sender.inner.close()

    assert first.counts["sent"] == 6 and second.counts["sent"] == 3
    times = sorted(senders[0].times + senders[1].times)
    assert min(later - earlier for earlier, later in itertools.pairwise(times)) >= 1 / rate - 1e-9
    assert min(senders[1].times) >= max(senders[0].times) + 1 / rate - 1e-9
    assert len(twilio.accepted) == 9


def test_each_sender_is_paced_under_its_own_name(app: Flask) -> None:
    assert limiter_key({"SMS_BACKEND": "twilio", "TWILIO_FROM_NUMBER": "+15005550006"}) == KEY
    assert limiter_key({"SMS_BACKEND": "twilio", "TWILIO_MESSAGING_SERVICE_SID": "MG1"}) == "twilio:MG1"
    assert limiter_key({}) == "console"


@pytest.mark.postgres_only
def test_concurrent_reservations_on_two_connections_never_overlap(app: Flask) -> None:
    """Two scheduler processes reserving at the same instant, again and again: the row lock orders them."""
    with app.app_context():
        url = db.engine.url
    engine = sa.create_engine(url)
    key = "race:limiter"
    spans: list[tuple[float, float]] = []
    lock = threading.Lock()

    def dispatcher() -> None:
        with Session(engine) as session:
            reserve = shared_slots(session, key)
            for _ in range(40):
                start = reserve(5, 0.01, 2_000.0)
                with lock:
                    spans.append((start, start + 0.05))

    try:
        workers = [threading.Thread(target=dispatcher) for _ in range(2)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=20)
        assert len(spans) == 80
        spans.sort()
        assert all(later[0] >= earlier[1] - 1e-9 for earlier, later in itertools.pairwise(spans))
        assert spans[-1][1] == pytest.approx(2_000.0 + 80 * 0.05)
    finally:
        with engine.begin() as conn:
            conn.execute(sa.delete(SendLimiter).where(SendLimiter.key == key))
        engine.dispose()
