"""The `reminders` job: queues each due reminder once, with its one-time link; opt-out stops everything."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from factories import Factory
from flask import Flask

from tracker.clock import FrozenClock
from tracker.extensions import db
from tracker.jobs import reminders as reminders_job
from tracker.jobs.registry import JobResult, load_jobs
from tracker.models import CheckinLink, Clinic, InboundMessage, OutboundMessage, Patient, User
from tracker.models.access import hash_secret
from tracker.services.messaging import texts as messages
from tracker.services.messaging.inbound import handle_inbound
from tracker.services.messaging.outbox import queue_sms

# The clinic's default: Monday 10:00 in the patient's zone; Chicago's Monday 2026-11-23 10:00 is 16:00 UTC.
MONDAY_10_CHICAGO = datetime(2026, 11, 23, 16, 0, tzinfo=UTC)
LINK = re.compile(r"http://127\.0\.0\.1:5000/c/([A-Za-z0-9_-]{43})")


def run(clock: FrozenClock, at: datetime | None = None) -> JobResult:
    if at is not None:
        clock.set(at)
    return load_jobs()["reminders"].run(db.session, clock())


def outbox(patient: Patient | None = None) -> list[OutboundMessage]:
    query = sa.select(OutboundMessage).order_by(OutboundMessage.created_at)
    if patient is not None:
        query = query.where(OutboundMessage.patient_id == patient.id)
    return list(db.session.scalars(query))


def links(patient: Patient) -> list[CheckinLink]:
    return list(db.session.scalars(sa.select(CheckinLink).where(CheckinLink.patient_id == patient.id)))


def test_the_job_is_registered_to_run_every_five_minutes() -> None:
    assert load_jobs()["reminders"].every == timedelta(minutes=5)


@pytest.mark.parametrize("kind", sorted(reminders_job.BODIES))
def test_each_body_is_one_plain_segment_besides_the_link(kind: str) -> None:
    """160 GSM-7 characters with a 40-character clinic name, the link aside; no PHI (test_sms_messages checks)."""
    body = reminders_job.BODIES[kind].format(clinic="C" * 40, url="")
    assert len(body) <= 160 and body.isascii()
    assert "reply CHECKIN" in body and "{url}" in reminders_job.BODIES[kind]
    assert f"reminder_{kind}" in messages.ALL_TEMPLATES


def test_queues_one_reminder_with_a_one_time_link(ctx: None, factory: Factory, clock: FrozenClock) -> None:
    patient = factory.patient(factory.clinic(name="Lakeside Wellness"), phase="maintenance")

    result = run(clock, MONDAY_10_CHICAGO)

    assert result.counts == {"checked": 1, "queued_weekly": 1}
    [message] = outbox(patient)
    match = re.fullmatch(
        r"Lakeside Wellness: time for your weekly check-in\. Tap (\S+) or reply CHECKIN\.", message.body
    )
    assert match, message.body
    token = LINK.fullmatch(match.group(1))
    assert token, match.group(1)
    assert (message.to_phone, message.purpose, message.status) == (patient.phone, "reminder_weekly", "queued")
    assert message.dedupe_key == f"reminder:{patient.id}:2026-11-23"
    assert message.clinic_id == patient.clinic_id
    [link] = links(patient)
    # Only the hash is kept: the token itself is nowhere in the row.
    assert link.token_hash == hash_secret(token.group(1)) and token.group(1) not in link.token_hash
    assert link.expires_at == MONDAY_10_CHICAGO + timedelta(hours=72)
    assert link.used_at is None and link.checkin_id is None


def test_running_again_queues_nothing_more(ctx: None, factory: Factory, clock: FrozenClock) -> None:
    patient = factory.patient(phase="maintenance")

    run(clock, MONDAY_10_CHICAGO)
    assert run(clock).counts == {"checked": 1}
    for minutes in range(5, 11 * 60, 5):  # the rest of the day, as the scheduler runs it
        run(clock, MONDAY_10_CHICAGO + timedelta(minutes=minutes))

    assert len(outbox(patient)) == 1 and len(links(patient)) == 1
    run(clock, MONDAY_10_CHICAGO + timedelta(days=7))
    assert [m.dedupe_key for m in outbox(patient)] == [
        f"reminder:{patient.id}:2026-11-23",
        f"reminder:{patient.id}:2026-11-30",
    ]


def test_a_day_another_scheduler_queued_first_is_skipped_not_an_error(
    ctx: None, factory: Factory, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The other process committed after this run read the outbox: the unique key stops the second text."""
    clinic = factory.clinic()
    first, second = factory.patient(clinic, phase="maintenance"), factory.patient(clinic, phase="maintenance")
    clock.set(MONDAY_10_CHICAGO)
    queue_sms(
        first.phone, "theirs", "reminder_weekly", patient_id=first.id, dedupe_key=f"reminder:{first.id}:2026-11-23"
    )
    db.session.commit()
    monkeypatch.setattr(reminders_job, "last_reminders", lambda *args: {})  # as read before their commit

    result = run(clock)

    assert result.counts == {"checked": 2, "duplicates": 1, "queued_weekly": 1}
    assert [m.body for m in outbox(first)] == ["theirs"]
    assert links(first) == []  # the link went with the SAVEPOINT
    assert len(outbox(second)) == 1 and len(links(second)) == 1


def test_patients_are_read_in_batches(
    ctx: None, factory: Factory, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reminders_job, "BATCH_SIZE", 2)
    clinic = factory.clinic()
    patients = [factory.patient(clinic, phase="maintenance") for _ in range(5)]

    assert run(clock, MONDAY_10_CHICAGO).counts == {"checked": 5, "queued_weekly": 5}
    assert {m.patient_id for m in outbox()} == {p.id for p in patients}


def test_checking_patients_costs_the_same_queries_for_three_or_thirty(
    ctx: None, factory: Factory, clock: FrozenClock, count_queries: Callable[[], Any]
) -> None:
    clinic = factory.clinic()
    for _ in range(3):
        factory.patient(clinic, phase="maintenance")
    clock.set(MONDAY_10_CHICAGO - timedelta(hours=1))  # nobody is due yet
    with count_queries() as three:
        run(clock)
    for _ in range(27):
        factory.patient(clinic, phase="maintenance")
    with count_queries() as thirty:
        run(clock)
    assert thirty.count == three.count
    assert outbox() == []


def test_opt_out_stops_everything(ctx: None, factory: Factory, clock: FrozenClock) -> None:
    """Weekly, infusion mornings and confirming check-ins: none reach a patient who opted out, disabled or left."""
    clinic = factory.clinic()
    tuesday_noon = datetime(2026, 11, 24, 18, 0, tzinfo=UTC)
    wednesday_noon = datetime(2026, 11, 25, 18, 0, tzinfo=UTC)
    kept_out = [
        factory.patient(clinic, phase="maintenance", sms_opted_out=True, confirm_checkin_due_at=wednesday_noon),
        factory.patient(clinic, phase="as_needed", reminders_enabled=False),
        factory.patient(clinic, phase="discharged"),
        factory.patient(clinic, phase="screening"),
    ]
    induction_opted_out = factory.patient(clinic, phase="induction", sms_opted_out=True)
    factory.infusion(induction_opted_out, scheduled_for=tuesday_noon)
    kept_out.append(induction_opted_out)
    control = factory.patient(clinic, phase="induction")
    factory.infusion(control, scheduled_for=tuesday_noon)
    stopping = factory.patient(clinic, phase="maintenance", confirm_checkin_due_at=wednesday_noon)

    def week(start: datetime) -> None:
        for hour in range(7 * 24):
            run(clock, start + timedelta(hours=hour))

    week(datetime(2026, 11, 23, 6, 0, tzinfo=UTC))
    assert [m.purpose for m in outbox(stopping)] == ["reminder_weekly", "reminder_confirming"]
    # STOP, through the real webhook path, then another week with everything due again.
    db.session.add(message := InboundMessage(from_phone=stopping.phone, body="STOP", received_at=clock()))
    db.session.flush()
    assert handle_inbound(message) == "opted_out"
    db.session.commit()
    db.session.execute(
        sa.update(Patient)
        .where(Patient.id == stopping.id)
        .values(confirm_checkin_due_at=wednesday_noon + timedelta(days=7))
    )
    factory.infusion(control, scheduled_for=tuesday_noon + timedelta(days=7))
    week(datetime(2026, 11, 30, 6, 0, tzinfo=UTC))

    for patient in kept_out:
        assert outbox(patient) == [] and links(patient) == [], patient.phase
    assert len(outbox(stopping)) == 2 and len(links(stopping)) == 2
    assert [m.purpose for m in outbox(control)] == ["reminder_induction_morning"] * 2


def test_induction_morning_waits_for_quiet_hours_to_end(ctx: None, factory: Factory, clock: FrozenClock) -> None:
    patient = factory.patient(factory.clinic(name="Lakeside Wellness"), phase="induction", timezone="America/Denver")
    factory.infusion(patient, scheduled_for=datetime(2026, 11, 24, 18, 0, tzinfo=UTC))  # Tue 11:00 MST

    assert run(clock, datetime(2026, 11, 24, 14, 55, tzinfo=UTC)).counts == {"checked": 1}  # 07:55 MST
    assert run(clock, datetime(2026, 11, 24, 15, 0, tzinfo=UTC)).counts == {"checked": 1, "queued_induction_morning": 1}
    [message] = outbox(patient)
    assert message.body.startswith("Lakeside Wellness: please check in before your visit today. Tap http")
    assert message.dedupe_key == f"reminder:{patient.id}:2026-11-24"


def test_a_cancelled_infusion_brings_no_morning_reminder(ctx: None, factory: Factory, clock: FrozenClock) -> None:
    patient = factory.patient(phase="induction")
    infusion = factory.infusion(patient, scheduled_for=datetime(2026, 11, 24, 18, 0, tzinfo=UTC))
    infusion.status = "cancelled"
    db.session.commit()
    for hour in range(24):
        run(clock, datetime(2026, 11, 24, 6, 0, tzinfo=UTC) + timedelta(hours=hour))
    assert outbox(patient) == []


def test_the_confirming_check_in_reads_like_any_reminder(ctx: None, factory: Factory, clock: FrozenClock) -> None:
    due = datetime(2026, 11, 26, 1, 30, tzinfo=UTC)  # Wed 19:30 CST
    patient = factory.patient(phase="as_needed", confirm_checkin_due_at=due)
    assert run(clock, due).counts == {"checked": 1, "queued_confirming": 1}
    [message] = outbox(patient)
    assert message.purpose == "reminder_confirming"
    assert re.fullmatch(r"Clinic \d+: time for your check-in\. Tap \S+ or reply CHECKIN\.", message.body)


@pytest.mark.parametrize(
    ("zone", "expected_utc"),
    [
        # EU clocks go back on Oct 25, US clocks on Nov 1: 10:00 local is a different UTC hour each Sunday.
        ("Europe/London", ["2026-10-18 09:00", "2026-10-25 10:00", "2026-11-01 10:00", "2026-11-08 10:00"]),
        ("America/New_York", ["2026-10-18 14:00", "2026-10-25 14:00", "2026-11-01 15:00", "2026-11-08 15:00"]),
    ],
)
def test_weekly_reminders_across_the_fall_back_in_two_zones(
    ctx: None, factory: Factory, clock: FrozenClock, zone: str, expected_utc: list[str]
) -> None:
    """Sunday 10:00, the job run every hour for three weeks: each text leaves at 10:00 on the patient's clock."""
    patient = factory.patient(phase="maintenance", timezone=zone, reminder_weekday=6)
    start = datetime(2026, 10, 17, 0, 0, tzinfo=UTC)
    for hour in range(24 * 23):
        run(clock, start + timedelta(hours=hour))

    sent = [m.created_at for m in outbox(patient)]
    assert [at.strftime("%Y-%m-%d %H:%M") for at in sent] == expected_utc
    assert {at.astimezone(ZoneInfo(zone)).strftime("%a %H:%M") for at in sent} == {"Sun 10:00"}


@pytest.mark.postgres_only
def test_two_schedulers_at_once_queue_one_reminder(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two runs in two transactions, both past their reads before either writes: one text, one link, no error."""
    with app.app_context():
        clinic = Clinic(name="Race clinic", timezone="America/Chicago")
        db.session.add(clinic)
        db.session.flush()
        user = User(clinic_id=clinic.id, role="patient", phone="+13125559871")
        db.session.add(user)
        db.session.flush()
        patient = Patient(
            user_id=user.id, clinic_id=clinic.id, display_name="Race", phone=user.phone, timezone="America/Chicago"
        )
        patient.phase = "maintenance"
        db.session.add(patient)
        db.session.commit()
        ids = (clinic.id, user.id, patient.id)
    both_read = threading.Barrier(2, timeout=10)
    read = reminders_job.candidates

    def read_then_wait(*args: Any) -> list[reminders_job.Candidate]:
        found = read(*args)
        both_read.wait()  # neither writes before both have seen an empty outbox
        return found

    monkeypatch.setattr(reminders_job, "candidates", read_then_wait)
    results: list[JobResult] = []

    def scheduler() -> None:
        with app.app_context():  # each thread its own app context, so its own session and connection
            results.append(load_jobs()["reminders"].run(db.session, MONDAY_10_CHICAGO))

    threads = [threading.Thread(target=scheduler) for _ in range(2)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=20)
        assert not any(thread.is_alive() for thread in threads)
        assert sorted(str(result) for result in results) == [
            "checked: 1, duplicates: 1",
            "checked: 1, queued_weekly: 1",
        ]
        with app.app_context():
            assert (
                len(db.session.scalars(sa.select(OutboundMessage).where(OutboundMessage.patient_id == ids[2])).all())
                == 1
            )
            assert len(db.session.scalars(sa.select(CheckinLink).where(CheckinLink.patient_id == ids[2])).all()) == 1
    finally:
        with app.app_context():  # committed for real: leave the database as it was
            db.session.execute(sa.delete(OutboundMessage).where(OutboundMessage.patient_id == ids[2]))
            db.session.execute(sa.delete(CheckinLink).where(CheckinLink.patient_id == ids[2]))
            db.session.execute(sa.delete(Patient).where(Patient.id == ids[2]))
            db.session.execute(sa.delete(User).where(User.id == ids[1]))
            db.session.execute(sa.delete(Clinic).where(Clinic.id == ids[0]))
            db.session.commit()


def test_a_missed_check_in_nudge_earlier_that_day_uses_up_the_days_reminder(
    ctx: None, factory: Factory, clock: FrozenClock
) -> None:
    """At most one reminder-like text a day: the missed-check-in nudge counts too."""
    patient = factory.patient(factory.clinic(), phase="maintenance")
    clock.set(MONDAY_10_CHICAGO - timedelta(hours=1))
    queue_sms(patient.phone, messages.MISSED_CHECKIN_NUDGE, "reminder_missed_checkin", patient_id=patient.id)
    db.session.flush()

    result = run(clock, MONDAY_10_CHICAGO)

    assert result.counts.get("queued_weekly", 0) == 0
    assert [m.purpose for m in outbox(patient)] == ["reminder_missed_checkin"]


def test_queries_grow_with_batches_not_with_reminders(
    ctx: None, factory: Factory, clock: FrozenClock, count_queries: Callable[[], Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every patient due: 5 patients are one batch, 50 are five, and the queries follow the batches."""
    monkeypatch.setattr(reminders_job, "BATCH_SIZE", 10)
    clinic = factory.clinic()
    for _ in range(5):
        factory.patient(clinic, phase="maintenance")
    with count_queries() as five:
        assert run(clock, MONDAY_10_CHICAGO).counts == {"checked": 5, "queued_weekly": 5}
    for _ in range(45):
        factory.patient(clinic, phase="maintenance")
    with count_queries() as fifty:  # a week on: all fifty due
        assert run(clock, MONDAY_10_CHICAGO + timedelta(days=7)).counts == {"checked": 50, "queued_weekly": 50}

    assert fifty.count <= 5 * five.count, (five.count, fifty.count)
    assert len(outbox()) == 55
    assert len(db.session.scalars(sa.select(CheckinLink)).all()) == 55


@pytest.mark.postgres_only
def test_two_schedulers_at_once_queue_each_reminder_of_many_batches_once(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two runs side by side over 30 patients in batches of 7, both past each batch's reads before either writes:
    every patient gets one text and one link, and each run counts what it queued and what the other had."""
    monkeypatch.setattr(reminders_job, "BATCH_SIZE", 7)
    with app.app_context():
        clinic = Clinic(name="Race clinic", timezone="America/Chicago")
        db.session.add(clinic)
        db.session.flush()
        clinic_id = clinic.id
        users = [User(clinic_id=clinic_id, role="patient", phone=f"+1312555{n:04d}") for n in range(30)]
        db.session.add_all(users)
        db.session.flush()
        for user in users:
            patient = Patient(
                user_id=user.id, clinic_id=clinic_id, display_name="Race", phone=user.phone, timezone="America/Chicago"
            )
            patient.phase = "maintenance"
            db.session.add(patient)
        db.session.commit()
    both_read = threading.Barrier(2, timeout=10)
    read = reminders_job.candidates

    def read_then_wait(*args: Any) -> list[reminders_job.Candidate]:
        found = read(*args)
        both_read.wait()  # each batch: neither writes before both have read the outbox
        return found

    monkeypatch.setattr(reminders_job, "candidates", read_then_wait)
    results: list[JobResult] = []

    def scheduler() -> None:
        with app.app_context():
            results.append(load_jobs()["reminders"].run(db.session, MONDAY_10_CHICAGO))

    threads = [threading.Thread(target=scheduler) for _ in range(2)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert not any(thread.is_alive() for thread in threads)
        assert len(results) == 2
        assert [result.counts["checked"] for result in results] == [30, 30]
        assert sum(result.counts.get("queued_weekly", 0) for result in results) == 30
        assert sum(result.counts.get("duplicates", 0) for result in results) == 30
        with app.app_context():
            patients = sa.select(Patient.id).where(Patient.clinic_id == clinic_id)
            texts = db.session.scalars(sa.select(OutboundMessage).where(OutboundMessage.patient_id.in_(patients))).all()
            made = db.session.scalars(sa.select(CheckinLink).where(CheckinLink.patient_id.in_(patients))).all()
            assert sorted(str(m.patient_id) for m in texts) == sorted(str(link.patient_id) for link in made)
            assert len({m.patient_id for m in texts}) == len(texts) == 30
            # Each stored link is the one in the text that went out, never the other run's.
            for message in texts:
                token = LINK.search(message.body)
                assert token is not None
                assert hash_secret(token.group(1)) in {link.token_hash for link in made}
    finally:
        with app.app_context():
            patients = sa.select(Patient.id).where(Patient.clinic_id == clinic_id)
            db.session.execute(sa.delete(OutboundMessage).where(OutboundMessage.patient_id.in_(patients)))
            db.session.execute(sa.delete(CheckinLink).where(CheckinLink.patient_id.in_(patients)))
            db.session.execute(sa.delete(Patient).where(Patient.clinic_id == clinic_id))
            db.session.execute(sa.delete(User).where(User.clinic_id == clinic_id))
            db.session.execute(sa.delete(Clinic).where(Clinic.id == clinic_id))
            db.session.commit()
