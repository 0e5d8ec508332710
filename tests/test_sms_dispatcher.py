"""The dispatcher: the outbox drained through the real twilio client against the fake Twilio server."""

from __future__ import annotations

import logging
import random
import threading
import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from fake_twilio import FakeTwilio, Step
from flask import Flask
from sqlalchemy.orm import Session

from tracker import clock as tracker_clock
from tracker.clock import FrozenClock
from tracker.extensions import db
from tracker.jobs.dispatch_sms import dispatch
from tracker.jobs.registry import JobResult, load_jobs
from tracker.models import Alert, Clinic, OutboundMessage, Patient
from tracker.services.messaging import delivery as dispatcher
from tracker.services.messaging.delivery import claim_due
from tracker.services.messaging.outbox import queue_sms
from tracker.services.messaging.pacing import Pacer, Settings
from tracker.services.messaging.senders import SendResult, make_sender

FROM = "+15005550006"
ONCALL = "+13125550100"
CLINIC = {"oncall_phone": ONCALL, "phone": "+13125550199"}
pytestmark = pytest.mark.in_app_context  # conftest's clinic, clinician and patient are made in `ctx`
LEASE = timedelta(minutes=2)


class FakeTime:
    """A monotonic clock that only moves when the dispatcher sleeps."""

    def __init__(self) -> None:
        self.current = 1000.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.current

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.current += seconds


@pytest.fixture
def twilio(app: Flask, fake: FakeTwilio, monkeypatch: pytest.MonkeyPatch) -> FakeTwilio:
    """The app sends through make_sender's TwilioSender to the fake; monkeypatch restores the config."""
    settings = {
        "SMS_BACKEND": "twilio",
        "TWILIO_ACCOUNT_SID": fake.account_sid,
        "TWILIO_AUTH_TOKEN": fake.auth_token,
        "TWILIO_FROM_NUMBER": FROM,
        "TWILIO_MESSAGING_SERVICE_SID": None,
        "TWILIO_API_BASE_URL": fake.base_url,
        "TWILIO_TIMEOUT_SECONDS": 0.5,
        "SMS_RATE_PER_SECOND": 1,
    }
    for key, value in settings.items():
        monkeypatch.setitem(app.config, key, value)
    return fake


@pytest.fixture
def time_() -> FakeTime:
    return FakeTime()


def run(time_: FakeTime, rate: float = 1, **kwargs: Any) -> JobResult:
    return dispatch(db.session, db_now(), pacer=Pacer(rate, time_.monotonic, time_.sleep), jitter=no_jitter, **kwargs)


def db_now() -> datetime:
    return tracker_clock.now()


def no_jitter(low: float, high: float) -> float:
    return 1.0


def queue(patient: Patient, body: str = "Time for your check-in.", **kwargs: Any) -> OutboundMessage:
    kwargs.setdefault("patient_id", patient.id)
    kwargs.setdefault("clinic_id", patient.clinic_id)
    to = kwargs.pop("to", patient.phone)
    message = queue_sms(to, body, kwargs.pop("purpose", "reminder"), **kwargs)
    db.session.flush()
    return message


def row(message_id: uuid.UUID) -> OutboundMessage:
    db.session.expire_all()
    found = db.session.get(OutboundMessage, message_id)
    assert found is not None
    return found


def alerts(patient: Patient) -> list[Alert]:
    return list(db.session.scalars(sa.select(Alert).where(Alert.patient_id == patient.id)))


# Sending ---------------------------------------------------------------------------------------


def test_each_message_reaches_twilio_once(twilio: FakeTwilio, patient: Patient, time_: FakeTime) -> None:
    first = queue(patient, "one")
    second = queue(patient, "two", to=ONCALL, purpose="safety_oncall")

    result = run(time_)

    assert result.counts == {"claimed": 2, "sent": 2}
    assert sorted((m["To"], m["Body"]) for m in twilio.messages) == [(ONCALL, "two"), (patient.phone, "one")]
    assert {m["StatusCallback"] for m in twilio.messages} == {"http://127.0.0.1:5000/sms/status"}
    for message in (row(first.id), row(second.id)):
        assert message.status == "sent"
        assert message.attempts == 1
        assert message.lease_until is None
        assert message.sent_at is not None
        assert message.twilio_sid in {m["sid"] for m in twilio.accepted}

    assert str(run(time_)) == "nothing to do"
    assert len(twilio.messages) == 2


def test_critical_messages_go_first(twilio: FakeTwilio, patient: Patient, time_: FakeTime) -> None:
    for n in range(6):
        queue(patient, f"reminder {n}")
    queue(patient, "urgent", to=ONCALL, critical=True)

    run(time_)

    bodies = [m["Body"] for m in twilio.messages]
    assert bodies[0] == "urgent"
    assert len(bodies) == 5 and {b.split()[0] for b in bodies[1:]} == {"reminder"}


def test_not_yet_due_rows_wait(twilio: FakeTwilio, patient: Patient, time_: FakeTime, clock: FrozenClock) -> None:
    later = queue(patient, send_after=clock() + timedelta(minutes=10))

    run(time_)
    assert twilio.messages == []

    clock.advance(minutes=10)
    run(time_)
    assert row(later.id).status == "sent"


def test_console_backend_prints_and_keeps_the_row(
    patient: Patient, time_: FakeTime, capsys: pytest.CaptureFixture[str]
) -> None:
    message = queue(patient, "hello from the console")

    run(time_)

    assert capsys.readouterr().out == f"SMS to {patient.phone}: hello from the console\n"
    sent = row(message.id)
    assert sent.status == "sent"
    assert sent.twilio_sid is not None and sent.twilio_sid.startswith("console-")


def test_a_bad_configuration_claims_nothing(
    app: Flask, patient: Patient, time_: FakeTime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "SMS_BACKEND", "twilio")
    monkeypatch.setitem(app.config, "TWILIO_ACCOUNT_SID", None)
    message = queue(patient)

    with pytest.raises(ValueError, match="TWILIO_ACCOUNT_SID"):
        run(time_)

    assert row(message.id).status == "queued"
    assert row(message.id).attempts == 0


# Failures --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("step", "code"),
    [
        pytest.param(FakeTwilio.error(429, 20429, "Too Many Requests"), 20429, id="429"),
        pytest.param(FakeTwilio.error(500, 20500, "Internal Server Error"), 20500, id="500"),
        pytest.param(FakeTwilio.delay(1.5), None, id="timeout"),
        pytest.param(FakeTwilio.drop(), None, id="dropped"),
    ],
)
def test_retryable_failures_come_back_later(
    twilio: FakeTwilio, patient: Patient, time_: FakeTime, clock: FrozenClock, step: Step, code: int | None
) -> None:
    twilio.script(step)
    message = queue(patient, "retry me")

    assert run(time_).counts == {"claimed": 1, "retried": 1}

    waiting = row(message.id)
    assert waiting.status == "queued"
    assert waiting.attempts == 1
    assert waiting.error_code == code
    assert waiting.next_attempt_at == clock() + timedelta(seconds=30)
    assert waiting.lease_until is None
    assert len(twilio.messages) == 1

    clock.advance(seconds=29)
    run(time_)
    assert len(twilio.messages) == 1  # not before its time

    clock.advance(seconds=1)
    run(time_)
    assert row(message.id).status == "sent"
    assert row(message.id).attempts == 2
    # A timed-out request may have been accepted: the retry can double a text (README: "When a send times out").
    assert [m["Body"] for m in twilio.messages] == ["retry me", "retry me"]


def test_backoff_doubles_then_a_critical_message_fails_and_alerts_once(
    twilio: FakeTwilio, patient: Patient, time_: FakeTime, clock: FrozenClock
) -> None:
    twilio.script(*[FakeTwilio.error(503, 20503, "Service Unavailable")] * 6)
    message = queue(patient, "urgent", to=ONCALL, purpose="safety_oncall", critical=True)

    waits = []
    for _ in range(5):
        run(time_)
        waiting = row(message.id)
        assert waiting.status == "queued"
        waits.append((waiting.next_attempt_at - clock()).total_seconds())
        clock.set(waiting.next_attempt_at)
    result = run(time_)

    assert waits == [30, 60, 120, 240, 480]
    assert result.counts == {"claimed": 1, "failed": 1}
    failed = row(message.id)
    assert (failed.status, failed.attempts, failed.error_code) == ("failed", 6, 20503)
    assert len(twilio.messages) == 6
    [alert] = alerts(patient)
    assert (alert.kind, alert.status, alert.clinic_id) == ("attention", "open", patient.clinic_id)
    assert alert.dedupe_key == f"sms-undelivered:{message.id}"

    clock.advance(hours=1)
    run(time_)
    assert len(twilio.messages) == 6  # failed is final


def test_backoff_has_jitter_and_a_cap() -> None:
    settings = Settings(rate=1, max_attempts=6, retry_base=30, retry_max=600, timeout=10)
    rng = random.Random(4)

    first = [settings.backoff(1, rng.uniform).total_seconds() for _ in range(200)]
    late = [settings.backoff(12, rng.uniform).total_seconds() for _ in range(200)]

    assert 24 <= min(first) < 27 and 33 < max(first) <= 36
    assert len(set(first)) > 100
    assert min(late) >= 480 and max(late) <= 720


def test_opted_out_recipient_is_marked_and_never_retried(
    twilio: FakeTwilio, patient: Patient, time_: FakeTime, clock: FrozenClock
) -> None:
    twilio.script(FakeTwilio.error(400, 21610, "Attempt to send to unsubscribed recipient"))
    refused = queue(patient, "first")
    clock.advance(seconds=1)  # sent in this order
    later = queue(patient, "second")

    assert run(time_).counts == {"claimed": 2, "opted_out": 1, "cancelled": 1}

    assert (row(refused.id).status, row(refused.id).error_code) == ("failed", 21610)
    assert row(later.id).status == "cancelled"  # consent is checked again before each send
    stored = db.session.get(Patient, patient.id)
    assert stored is not None and stored.sms_opted_out and stored.sms_opted_out_at == clock()
    clock.advance(days=1)
    run(time_)
    assert [m["Body"] for m in twilio.messages] == ["first"]
    assert alerts(patient) == []  # neither was critical


def test_opted_out_patient_is_not_texted_but_the_on_call_still_is(
    twilio: FakeTwilio, patient: Patient, time_: FakeTime
) -> None:
    crisis = queue(patient, "crisis text", purpose="crisis", critical=True)
    oncall = queue(patient, "on-call text", to=ONCALL, purpose="safety_oncall", critical=True)
    patient.sms_opted_out = True
    db.session.flush()

    run(time_)

    assert row(crisis.id).status == "cancelled"
    assert row(oncall.id).status == "sent"
    assert [m["To"] for m in twilio.messages] == [ONCALL]
    [alert] = alerts(patient)  # the crisis text could not reach them: the clinic is told
    assert alert.dedupe_key == f"sms-undelivered:{crisis.id}"


def test_invalid_patient_number_fails_at_once_and_alerts_the_clinic(
    twilio: FakeTwilio, patient: Patient, time_: FakeTime, clock: FrozenClock
) -> None:
    twilio.script(*[FakeTwilio.error(400, 21211, "The 'To' number is not a valid phone number.")] * 2)
    first = queue(patient, "one")
    second = queue(patient, "two")

    assert run(time_).counts == {"claimed": 2, "invalid_number": 2}

    for message in (first, second):
        assert (row(message.id).status, row(message.id).error_code) == ("failed", 21211)
    [alert] = alerts(patient)  # one alert per patient and number, however many texts fail
    assert alert.kind == "attention" and alert.clinic_id == patient.clinic_id
    assert "phone number" in alert.reason
    clock.advance(days=1)
    run(time_)
    assert len(twilio.messages) == 2


def test_invalid_clinic_number_fails_without_a_patient_alert(
    twilio: FakeTwilio, patient: Patient, time_: FakeTime
) -> None:
    twilio.script(FakeTwilio.error(400, 21211, "Invalid number"))
    message = queue(patient, "note", to=ONCALL, purpose="note")

    run(time_)

    assert row(message.id).status == "failed"
    assert alerts(patient) == []


def test_a_permanent_refusal_fails_at_once(twilio: FakeTwilio, patient: Patient, time_: FakeTime) -> None:
    twilio.script(FakeTwilio.error(400, 21606, "The From number is not a valid, SMS-capable number"))
    message = queue(patient, "urgent", purpose="crisis", critical=True)

    assert run(time_).counts == {"claimed": 1, "failed": 1}
    assert (row(message.id).status, row(message.id).attempts) == ("failed", 1)
    assert len(alerts(patient)) == 1


# Pace ------------------------------------------------------------------------------------------


class Recorder:
    """The real sender, noting the fake monotonic time of each send."""

    def __init__(self, inner: Any, time_: FakeTime) -> None:
        self.inner, self.time_, self.times = inner, time_, list[float]()

    def send(self, to: str, body: str, status_callback: str | None = None) -> SendResult:
        self.times.append(self.time_.current)
        result: SendResult = self.inner.send(to, body, status_callback)
        return result


@pytest.mark.parametrize(("rate", "per_run"), [(1, 5), (2, 10)])
def test_rate_is_held_within_and_across_runs(
    app: Flask,
    twilio: FakeTwilio,
    patient: Patient,
    time_: FakeTime,
    monkeypatch: pytest.MonkeyPatch,
    rate: int,
    per_run: int,
) -> None:
    monkeypatch.setitem(app.config, "SMS_RATE_PER_SECOND", rate)
    for n in range(per_run + 3):
        queue(patient, f"message {n}")
    sender = Recorder(make_sender(app.config), time_)
    pacer = Pacer(rate, time_.monotonic, time_.sleep)

    first = dispatch(db.session, db_now(), sender=sender, pacer=pacer, jitter=no_jitter)
    second = dispatch(db.session, db_now(), sender=sender, pacer=pacer, jitter=no_jitter)
    sender.inner.close()

    assert first.counts == {"claimed": per_run, "sent": per_run}  # rate x 5 s per run
    assert second.counts == {"claimed": 3, "sent": 3}
    gaps = [later - earlier for earlier, later in zip(sender.times, sender.times[1:], strict=False)]
    assert len(gaps) == per_run + 2
    assert min(gaps) >= 1 / rate - 1e-9
    assert len(twilio.messages) == per_run + 3


def test_pacer_sleeps_only_what_is_left() -> None:
    time_ = FakeTime()
    pacer = Pacer(2, time_.monotonic, time_.sleep)

    pacer.wait()
    time_.current += 0.2
    pacer.wait()
    time_.current += 5
    pacer.wait()

    assert time_.sleeps == [pytest.approx(0.3)]


# Claims ----------------------------------------------------------------------------------------


def test_a_crashed_dispatchers_lease_is_reclaimed(
    twilio: FakeTwilio, patient: Patient, time_: FakeTime, clock: FrozenClock
) -> None:
    message = queue(patient, "orphan")
    claims = claim_due(db.session, clock(), 5, LEASE)  # claimed, then the process died
    db.session.commit()
    assert [c.id for c in claims] == [message.id]

    assert str(run(time_)) == "nothing to do"  # the lease still holds
    clock.advance(seconds=LEASE.total_seconds() - 1)
    assert str(run(time_)) == "nothing to do"

    clock.advance(seconds=2)
    run(time_)

    sent = row(message.id)
    assert (sent.status, sent.attempts) == ("sent", 2)
    assert len(twilio.messages) == 1


def test_two_dispatchers_never_claim_the_same_row(patient: Patient, clock: FrozenClock) -> None:
    ids = {queue(patient, f"m{n}").id for n in range(4)}

    first = claim_due(db.session, clock(), 3, LEASE)
    db.session.commit()
    second = claim_due(db.session, clock(), 3, LEASE)
    db.session.commit()
    third = claim_due(db.session, clock(), 3, LEASE)

    assert len(first) == 3 and len(second) == 1 and third == []
    assert {c.id for c in first} | {c.id for c in second} == ids


def test_a_row_claimed_between_our_read_and_our_write_is_left_alone(
    patient: Patient, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite's claim: another dispatcher takes the row after we read it; our conditional UPDATE matches nothing."""
    message = queue(patient)
    real_execute = db.session.execute
    raced: list[bool] = []

    class Rows:
        def __init__(self, rows: list[Any]) -> None:
            self.rows = rows

        def all(self) -> list[Any]:
            return self.rows

    def racing(statement: Any, *args: Any, **kwargs: Any) -> Any:
        result = real_execute(statement, *args, **kwargs)
        if raced or not isinstance(statement, sa.Select):
            return result
        raced.append(True)
        rows = result.all()
        real_execute(  # the other dispatcher's claim lands between our read and our write
            sa.update(OutboundMessage)
            .where(OutboundMessage.id == message.id)
            .values(status="sending", attempts=1, lease_until=clock() + LEASE)
        )
        return Rows(rows)

    monkeypatch.setattr(db.session, "execute", racing)

    assert claim_due(db.session, clock(), 5, LEASE) == []
    monkeypatch.undo()
    assert raced == [True]
    assert (row(message.id).status, row(message.id).attempts) == ("sending", 1)


def test_two_runs_do_not_send_a_row_twice(twilio: FakeTwilio, patient: Patient, time_: FakeTime) -> None:
    for n in range(3):
        queue(patient, f"m{n}")

    run(time_)
    run(time_)

    assert sorted(m["Body"] for m in twilio.messages) == ["m0", "m1", "m2"]


def test_a_result_is_written_only_while_the_claim_holds(patient: Patient, clock: FrozenClock) -> None:
    message = queue(patient)
    [stale] = claim_due(db.session, clock(), 1, LEASE)
    db.session.commit()
    clock.advance(seconds=LEASE.total_seconds() + 1)
    [current] = claim_due(db.session, clock(), 1, LEASE)
    db.session.commit()

    assert dispatcher._finish(db.session, stale, "sent", twilio_sid="SMstale") is False
    assert row(message.id).status == "sending"
    assert dispatcher._finish(db.session, current, "sent", twilio_sid="SMcurrent") is True
    assert row(message.id).twilio_sid == "SMcurrent"


def test_a_group_of_sends_is_recorded_together_only_where_the_claim_holds(
    patient: Patient, clock: FrozenClock, caplog: pytest.LogCaptureFixture
) -> None:
    lost, kept = queue(patient, "lost"), queue(patient, "kept", to=ONCALL)
    stale = claim_due(db.session, clock(), 2, LEASE)
    db.session.commit()
    clock.advance(seconds=LEASE.total_seconds() + 1)
    db.session.execute(  # another dispatcher reclaimed one of them after our lease ran out
        sa.update(OutboundMessage).where(OutboundMessage.id == lost.id).values(attempts=OutboundMessage.attempts + 1)
    )

    dispatcher.record_sent_many(db.session, [(claim, f"SM{claim.body}") for claim in stale])

    assert (row(kept.id).status, row(kept.id).twilio_sid) == ("sent", "SMkept")
    assert (row(lost.id).status, row(lost.id).twilio_sid) == ("sending", None)
    assert f"sms {lost.id}: claim lost" in caplog.text


def test_a_row_reclaimed_too_often_fails_without_sending(
    twilio: FakeTwilio, patient: Patient, time_: FakeTime, clock: FrozenClock
) -> None:
    message = queue(patient, purpose="crisis", critical=True)
    message.status, message.attempts, message.lease_until = "sending", 6, clock() - timedelta(seconds=1)
    db.session.flush()

    run(time_)

    assert (row(message.id).status, row(message.id).attempts) == ("failed", 7)
    assert twilio.messages == []
    assert len(alerts(patient)) == 1


def test_logs_name_ids_never_numbers_or_bodies(
    twilio: FakeTwilio, patient: Patient, time_: FakeTime, caplog: pytest.LogCaptureFixture
) -> None:
    twilio.script(
        FakeTwilio.error(500, 20500, f"error about {patient.phone}"),
        FakeTwilio.error(400, 21211, f"The 'To' number {patient.phone} is not valid"),
        FakeTwilio.error(400, 21610, "unsubscribed"),
    )
    for n in range(4):
        queue(patient, f"secret body {n}", critical=True)

    with caplog.at_level(logging.DEBUG):
        run(time_)

    assert caplog.records
    assert patient.phone not in caplog.text and patient.phone[1:] not in caplog.text
    assert "secret body" not in caplog.text


def test_the_jobs_are_registered() -> None:
    jobs = load_jobs()

    assert jobs["dispatch-sms"].every == timedelta(seconds=5)
    assert jobs["expire-sms-checkins"].every == timedelta(hours=1)


# PostgreSQL: two dispatchers at once -------------------------------------------------------------


@pytest.mark.postgres_only
def test_concurrent_claims_skip_locked_rows(app: Flask) -> None:
    """Two dispatchers in two transactions at once: the second skips what the first holds, never waits."""
    with app.app_context():
        url = db.engine.url
    engine = sa.create_engine(url)
    now = tracker_clock.system_now()
    with Session(engine) as setup:
        clinic = Clinic(name="Race clinic", timezone="UTC")
        setup.add(clinic)
        setup.flush()
        rows = [
            OutboundMessage(
                to_phone=f"+1312555{9000 + n}",
                body=f"race {n}",
                purpose="race",
                clinic_id=clinic.id,
                next_attempt_at=now - timedelta(minutes=1),
                created_at=now - timedelta(minutes=1, seconds=-n),
            )
            for n in range(8)
        ]
        setup.add_all(rows)
        setup.commit()
        ids = {r.id for r in rows}
        clinic_id = clinic.id
    first, second = Session(engine), Session(engine)
    try:
        second.execute(sa.text("SET lock_timeout = '3s'"))  # without SKIP LOCKED this would wait, then fail
        got_first = claim_due(first, now, 5, LEASE)  # not committed: its rows stay locked
        got_second: list[dispatcher.Claim] = []
        worker = threading.Thread(target=lambda: got_second.extend(claim_due(second, now, 5, LEASE)))
        worker.start()
        worker.join(timeout=10)
        assert not worker.is_alive()
        first.commit()
        second.commit()

        first_ids, second_ids = {c.id for c in got_first}, {c.id for c in got_second}
        assert len(first_ids) == 5 and len(second_ids) == 3
        assert first_ids.isdisjoint(second_ids)
        assert first_ids | second_ids == ids
        with Session(engine) as check:
            statuses = check.scalars(sa.select(OutboundMessage.status).where(OutboundMessage.id.in_(ids))).all()
        assert set(statuses) == {"sending"}
    finally:
        first.close()
        second.close()
        with engine.begin() as conn:
            conn.execute(sa.delete(OutboundMessage).where(OutboundMessage.id.in_(ids)))
            conn.execute(sa.delete(Clinic).where(Clinic.id == clinic_id))
        engine.dispose()


def test_a_sent_text_keeps_no_one_time_link_the_phone_already_has(
    twilio: FakeTwilio, patient: Patient, time_: FakeTime
) -> None:
    link = "https://tracker.example.org/c/Xy9_secret-Token123"
    message = queue(patient, f"Lakeside: time for your check-in. {link} or reply CHECKIN.")
    invitation = queue(patient, f"Set up: https://tracker.example.org/invite/AbCdEf012345 {link}", purpose="invitation")

    assert run(time_).counts == {"claimed": 2, "sent": 2}

    assert sorted(m["Body"] for m in twilio.messages)[0].endswith("or reply CHECKIN.")
    assert any(link in m["Body"] for m in twilio.messages)  # the patient's phone got the link
    assert row(message.id).body == "Lakeside: time for your check-in. [check-in link] or reply CHECKIN."
    assert row(invitation.id).body == "Set up: [invitation link] [check-in link]"


LINKS = (
    "Set up: https://tracker.example.org/invite/AbCdEf012345 "
    "check in: https://tracker.example.org/c/Xy9_secret-Token123 "
    "reset: https://tracker.example.org/reset/Rr_42-secret"
)
REDACTED = "Set up: [invitation link] check in: [check-in link] reset: [password reset link]"


@pytest.mark.parametrize(
    ("steps", "status"),
    [
        ([FakeTwilio.error(400, 21610, "Attempt to send to unsubscribed recipient")], "failed"),
        ([FakeTwilio.error(400, 21211, "The 'To' number is not a valid phone number.")], "failed"),
        ([FakeTwilio.error(400, 21606, "The From number is not a valid, SMS-capable number")], "failed"),
        ([FakeTwilio.error(503, 20503, "Service Unavailable")] * 6, "failed"),
    ],
    ids=["opted-out", "invalid-number", "refused", "retries-used-up"],
)
def test_a_text_that_fails_for_good_keeps_no_one_time_link(
    twilio: FakeTwilio, patient: Patient, time_: FakeTime, clock: FrozenClock, steps: list[Step], status: str
) -> None:
    twilio.script(*steps)
    message = queue(patient, LINKS, purpose="invitation")

    for _ in steps:
        run(time_)
        waiting = row(message.id)
        if waiting.status == "queued":  # a retry still needs the links it will send
            assert waiting.body == LINKS
            clock.set(waiting.next_attempt_at)

    assert (row(message.id).status, row(message.id).body) == (status, REDACTED)
    assert all(m["Body"] == LINKS for m in twilio.messages)  # what was tried carried the links


def test_a_cancelled_text_keeps_no_one_time_link(twilio: FakeTwilio, patient: Patient, time_: FakeTime) -> None:
    message = queue(patient, LINKS, purpose="invitation")
    patient.sms_opted_out = True
    db.session.flush()

    assert run(time_).counts == {"claimed": 1, "cancelled": 1}

    assert (row(message.id).status, row(message.id).body) == ("cancelled", REDACTED)
    assert twilio.messages == []


def test_a_row_reclaimed_too_often_keeps_no_one_time_link(
    twilio: FakeTwilio, patient: Patient, time_: FakeTime, clock: FrozenClock
) -> None:
    message = queue(patient, LINKS, purpose="invitation")
    message.status, message.attempts, message.lease_until = "sending", 6, clock() - timedelta(seconds=1)
    db.session.flush()

    run(time_)

    assert (row(message.id).status, row(message.id).body) == ("failed", REDACTED)
