"""The measured workloads. Each runs the product's own code (its jobs, its pages and API through the Flask test
client) on a generated database and measures it beside a floor taken in the same process, the same run.

Each workload runs in a process of its own (bench/run.py starts it), so what it holds is the workload's own: the
app and its data, as a scheduler or web worker would hold them. Order matters, as on a Monday morning: the full
scan first (the data is fresh, every patient due), the reminders job (the weekly slot has just passed), the
dispatcher sending what it queued, the check-ins that answer them and the scan after them, then the pages. Each
process sets the app's clock a few minutes further on from the data's "now", so what one step writes is in the
past of the next.
"""

from __future__ import annotations

import importlib
import random
import re
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from bench.generate import answers_for, staff_email
from bench.harness import PASSWORD, Measure, make_app, measure
from tracker.extensions import db, limiter
from tracker.instruments import PHQ9
from tracker.jobs.registry import load_jobs
from tracker.models import CheckIn, Infusion, OutboundMessage, Patient
from tracker.unit_of_work import transaction

ROOT = Path(__file__).resolve().parent.parent
NEW_CHECKINS = 1000
PAGE_RUNS = 5
HEALTHZ_RUNS = 20
# Minutes after the data's "now" at which each step runs (see the module docstring).
STEP_MINUTES = {
    "scan-full": 0,
    "reminders": 5,
    "missed-checkins": 7,
    "dispatcher": 10,
    "scan-new-checkins": 20,
    "patient-list": 25,
    "attention-queue": 25,
    "api-patients": 25,
}


@dataclass
class Row:
    """One line of the results: the work, its floor, and what they cost."""

    work: str
    seconds: float
    queries: int
    sql_seconds: float
    peak_rss_mb: float  # the work's own peak, the floors' not included
    start_rss_mb: float  # before the work: the app, its imports and connections
    floor: str = ""
    floor_seconds: float | None = None
    floor_queries: int | None = None
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if not self.floor_seconds:
            return None
        return self.seconds / self.floor_seconds

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ratio": self.ratio}


def row(work: str, m: Measure, floor: Measure | None = None, floor_name: str = "", note: str = "") -> Row:
    return Row(
        work,
        m.seconds,
        m.queries,
        m.sql_seconds,
        m.rss_peak_mb,
        m.rss_start_mb,
        floor_name,
        floor.seconds if floor else None,
        floor.queries if floor else None,
        note,
    )


def median_of(runs: int, work: Callable[[], Measure]) -> Measure:
    """The run of median time among `runs` (the machine is shared: one slow run says little)."""
    done = sorted((work() for _ in range(max(1, runs))), key=lambda m: m.seconds)
    return done[len(done) // 2]


@contextmanager
def app_at(url: str, now: datetime, step: str, **config: Any) -> Iterator[Flask]:
    app = make_app(url, now + timedelta(minutes=STEP_MINUTES[step]), **config)
    with app.app_context():
        db.session.execute(sa.text("SELECT 1"))  # the driver loaded and connected, as in any worker
        db.session.remove()
    try:
        yield app
    finally:
        with app.app_context():
            db.engine.dispose()


def step_now(app: Flask) -> datetime:
    moment: datetime = app.config["CLOCK"]()
    return moment


# The relapse scan.


def scan_due() -> sa.ColumnElement[bool]:
    """Due a scan, as the patient's columns say: changed since the last scan, or never scanned."""
    return sa.or_(Patient.scanned_at.is_(None), Patient.changed_at > Patient.scanned_at)


def _window_rows(due_only: bool, patient_ids: list[uuid.UUID] | None = None) -> sa.Select[Any]:
    """The scan's window (CLINICAL.md §5): each due patient's PHQ-9s after their latest given infusion."""
    starts = sa.select(Infusion.patient_id, sa.func.max(Infusion.given_at).label("start")).where(
        Infusion.status == "given"
    )
    if due_only:  # only the due patients' infusions: the floor reads no more than the scan must
        starts = starts.where(Infusion.patient_id.in_(sa.select(Patient.id).where(scan_due())))
    start = starts.group_by(Infusion.patient_id).subquery()
    query = (
        sa.select(CheckIn.patient_id, CheckIn.id, CheckIn.taken_at, CheckIn.total, CheckIn.created_at)
        .join(Patient, Patient.id == CheckIn.patient_id)
        .outerjoin(start, start.c.patient_id == CheckIn.patient_id)
        .where(CheckIn.instrument == PHQ9.name, sa.or_(start.c.start.is_(None), CheckIn.taken_at > start.c.start))
    )
    if due_only:  # by the patients' ids, so the check-ins are found through their index, not a scan of all
        query = query.where(CheckIn.patient_id.in_(sa.select(Patient.id).where(scan_due())))
    if patient_ids is not None:
        query = query.where(CheckIn.patient_id.in_(patient_ids))
    return query


def read_floor(query: sa.Select[Any]) -> Measure:
    """Reading the rows once: one SELECT, every row fetched into Python."""
    with measure(db.engine) as m, db.engine.connect() as conn:
        m.extra["rows"] = sum(1 for _ in conn.execute(query))
    return m


def aggregate_floor(query: sa.Select[Any]) -> Measure:
    """One aggregate over the same rows, computed in the database."""
    rows = query.subquery()
    with measure(db.engine) as m, db.engine.connect() as conn:
        conn.execute(sa.select(sa.func.count(), sa.func.sum(rows.c.total), sa.func.max(rows.c.taken_at))).one()
    return m


def run_job(name: str, now: datetime) -> tuple[Measure, str]:
    job = load_jobs()[name]
    with measure(db.engine) as m:
        result = job.run(db.session, now)
    db.session.remove()
    return m, str(result)


def scan_rows(work: str, now: datetime, query: sa.Select[Any], note: str) -> list[Row]:
    # Twice each: the first read warms the cache for the scan as much as for the second.
    read = min((read_floor(query) for _ in range(2)), key=lambda m: m.seconds)
    aggregate = min((aggregate_floor(query) for _ in range(2)), key=lambda m: m.seconds)
    m, result = run_job("relapse-scan", now)
    window = f"{read.extra['rows']} window rows"
    return [
        row(work, m, read, f"read {window} once", f"{note}; {result}"),
        row(work, m, aggregate, "one aggregate over them"),
    ]


def scan_full(url: str, now: datetime, _options: dict[str, Any]) -> list[Row]:
    with app_at(url, now, "scan-full") as app, app.app_context():
        due = db.session.scalar(sa.select(sa.func.count()).where(scan_due()))
        db.session.remove()  # on SQLite every transaction holds the write lock (tracker/db.py)
        return scan_rows("full relapse scan", step_now(app), _window_rows(due_only=True), f"{due} patients due")


def scan_new_checkins(url: str, now: datetime, options: dict[str, Any]) -> list[Row]:
    """NEW_CHECKINS check-ins by as many patients past induction, each through the product's own submit."""
    from tracker.services.checkins import submit

    count = int(options.get("new_checkins", NEW_CHECKINS))
    with app_at(url, now, "scan-new-checkins") as app, app.app_context():
        moment = step_now(app)
        # On a reused database an earlier run's check-ins may stand at this moment: these come after them.
        latest = db.session.scalar(sa.select(sa.func.max(Patient.changed_at)))
        if latest is not None and latest >= moment:
            moment = latest + timedelta(minutes=1)
            app.config["CLOCK"].set(moment)
        ids = list(
            db.session.scalars(
                sa.select(Patient.id).where(Patient.phase.in_(("as_needed", "maintenance"))).order_by(Patient.id)
            )
        )
        rng = random.Random(7)
        chosen = rng.sample(ids, min(count, len(ids)))
        for start in range(0, len(chosen), 100):
            with transaction(db.session):
                for patient_id in chosen[start : start + 100]:
                    patient = db.session.get(Patient, patient_id)
                    assert patient is not None
                    total = rng.choice((3, 5, 7, 9, 12, 15, 18))
                    submit.submit(patient, "phq9", list(answers_for(total, rng)), 1, "app", taken_at=moment)
        db.session.remove()
        query = _window_rows(due_only=True)
        return scan_rows("scan after new check-ins", moment, query, f"{len(chosen)} new check-ins")


# Pages and the API, through the Flask test client.

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def staff_client(app: Flask) -> FlaskClient:
    limiter.reset()
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    found = CSRF.search(page)
    data = {"username": staff_email(0), "password": PASSWORD, "csrf_token": found.group(1) if found else ""}
    answer = client.post("/login", data=data)
    if answer.status_code not in (302, 303):
        raise RuntimeError(f"bench login failed: {answer.status_code}")
    return client


def get(client: FlaskClient, path: str, **kwargs: Any) -> Measure:
    with measure(db.engine) as m:
        answer = client.get(path, **kwargs)
        m.extra["status"] = answer.status_code
        m.extra["bytes"] = len(answer.get_data())
    if answer.status_code != 200:
        raise RuntimeError(f"GET {path}: {answer.status_code}")
    return m


def page_rows(work: str, client: FlaskClient, path: str, floor: Measure, runs: int, **kwargs: Any) -> Row:
    get(client, path, **kwargs)  # templates compiled, caches warm
    m = median_of(runs, lambda: get(client, path, **kwargs))
    note = f"{m.extra['bytes'] // 1024} KiB, SQL {m.sql_seconds * 1000:.0f} ms"
    return row(work, m, floor, "/healthz, same client", note)


def healthz(client: FlaskClient, runs: int) -> Measure:
    get(client, "/healthz")
    return median_of(runs, lambda: get(client, "/healthz"))


def patient_list(url: str, now: datetime, options: dict[str, Any]) -> list[Row]:
    with app_at(url, now, "patient-list") as app:
        client = staff_client(app)
        with app.app_context():
            floor = healthz(client, options.get("healthz_runs", HEALTHZ_RUNS))
            runs = options.get("page_runs", PAGE_RUNS)
            return [
                page_rows("patient list page", client, "/clinic/patients", floor, runs),
                page_rows("patient list, page 20", client, "/clinic/patients?page=20", floor, runs),
                page_rows("patient list, needs attention", client, "/clinic/patients?attention=yes", floor, runs),
            ]


def attention_queue(url: str, now: datetime, options: dict[str, Any]) -> list[Row]:
    with app_at(url, now, "attention-queue") as app:
        client = staff_client(app)
        with app.app_context():
            floor = healthz(client, options.get("healthz_runs", HEALTHZ_RUNS))
            runs = options.get("page_runs", PAGE_RUNS)
            return [page_rows("attention queue page", client, "/clinic/", floor, runs)]


def api_patients(url: str, now: datetime, options: dict[str, Any]) -> list[Row]:
    with app_at(url, now, "api-patients") as app:
        limiter.reset()
        client = app.test_client()
        answer = client.post("/api/v1/auth/token", json={"username": staff_email(0), "password": PASSWORD})
        if answer.status_code != 201:
            raise RuntimeError(f"bench API login failed: {answer.status_code}")
        headers = {"Authorization": f"Bearer {answer.get_json()['access_token']}"}
        with app.app_context():
            floor = healthz(client, options.get("healthz_runs", HEALTHZ_RUNS))
            runs = options.get("page_runs", PAGE_RUNS)
            path = "/api/v1/clinic/patients?limit=200"
            return [page_rows(f"GET {path}", client, path, floor, runs, headers=headers)]


# The reminders job and the dispatcher.


def reminders_job(url: str, now: datetime, _options: dict[str, Any]) -> list[Row]:
    with app_at(url, now, "reminders") as app, app.app_context():
        from tracker.jobs.reminders import eligible

        def read_eligible() -> Measure:
            with measure(db.engine) as m:
                m.extra["rows"] = len(eligible(db.session, None, 10**9))
            db.session.remove()
            return m

        floor = min((read_eligible() for _ in range(2)), key=lambda m: m.seconds)
        m, result = run_job("reminders", step_now(app))
        return [row("reminders job", m, floor, f"read {floor.extra['rows']} eligible patients once", result)]


def missed_checkins_job(url: str, now: datetime, _options: dict[str, Any]) -> list[Row]:
    with app_at(url, now, "missed-checkins") as app, app.app_context():
        from tracker.jobs.missed_checkins import eligible

        def read_eligible() -> Measure:
            with measure(db.engine) as m:
                m.extra["rows"] = len(eligible(db.session, None, 10**9))
            db.session.remove()
            return m

        floor = min((read_eligible() for _ in range(2)), key=lambda m: m.seconds)
        m, result = run_job("missed-checkins", step_now(app))
        return [row("missed-checkins job", m, floor, f"read {floor.extra['rows']} weekly patients once", result)]


@dataclass
class FakeTwilioProcess:
    """tests/fake_twilio.py served from a process of its own, as Twilio is: its work is not the dispatcher's."""

    base_url: str
    account_sid: str
    auth_token: str
    pipe: Any
    process: Any
    messages: int = 0


def _serve_fake_twilio(pipe: Any) -> None:
    sys.path.insert(0, str(ROOT / "tests"))
    fake_twilio: Any = importlib.import_module("fake_twilio")  # the tests' fake Twilio, not a package
    with fake_twilio.FakeTwilio() as fake:
        pipe.send((fake.base_url, fake.account_sid, fake.auth_token))
        pipe.recv()  # until the workload is done
        pipe.send(len(fake.messages))


@contextmanager
def fake_twilio_process() -> Iterator[FakeTwilioProcess]:
    import multiprocessing

    ours, theirs = multiprocessing.Pipe()
    process = multiprocessing.get_context("fork").Process(target=_serve_fake_twilio, args=(theirs,), daemon=True)
    process.start()
    if not ours.poll(30):
        process.kill()
        raise RuntimeError("the fake Twilio process did not start")
    base_url, account_sid, auth_token = ours.recv()
    fake = FakeTwilioProcess(base_url, account_sid, auth_token, ours, process)
    try:
        yield fake
    finally:
        ours.send("stop")
        fake.messages = ours.recv() if ours.poll(30) else -1
        process.join(timeout=30)


def dispatcher(url: str, now: datetime, options: dict[str, Any]) -> list[Row]:
    """Sends `messages` queued texts through the real Twilio client to tests/fake_twilio.py (in a process of its
    own) at `rate` per second."""
    from tracker.jobs.dispatch_sms import dispatch
    from tracker.services.messaging.outbox import queue_sms

    rate = float(options.get("sms_rate", 100))
    wanted = int(options.get("sms_messages", 300))
    with fake_twilio_process() as fake:
        environ = {
            "SMS_BACKEND": "twilio",
            "TWILIO_ACCOUNT_SID": fake.account_sid,
            "TWILIO_AUTH_TOKEN": fake.auth_token,
            "TWILIO_FROM_NUMBER": "+15005550006",
            "TWILIO_API_BASE_URL": fake.base_url,
            "SMS_RATE_PER_SECOND": str(rate),
        }
        with app_at(url, now, "dispatcher", ENVIRON=environ) as app, app.app_context():
            moment = step_now(app)
            M = OutboundMessage
            due = sa.and_(M.status == "queued", M.next_attempt_at <= moment)
            queued = db.session.scalar(sa.select(sa.func.count()).where(due)) or 0
            with transaction(db.session):
                if queued > wanted:
                    # Only `wanted` rows due now; the others later (bench setup, not measured).
                    keep = sa.select(M.id).where(due).order_by(M.next_attempt_at, M.id).limit(wanted)
                    db.session.execute(
                        sa.update(M)
                        .where(due, M.id.not_in(keep.scalar_subquery()))
                        .values(next_attempt_at=moment + timedelta(days=1))
                    )
                phones = list(db.session.scalars(sa.select(Patient.phone).order_by(Patient.id).limit(wanted)))
                for i in range(max(0, wanted - queued)):
                    queue_sms(phones[i % len(phones)], "Bench: a text to send.", "bench")
            db.session.remove()
            sent = 0
            with measure(db.engine) as m:
                while sent < wanted:
                    result = dispatch(db.session, moment)
                    done = result.counts.get("sent", 0)
                    if not done:
                        break
                    sent += done
                    db.session.remove()
            achieved = sent / m.seconds if m.seconds else 0.0
            floor = Measure(seconds=sent / rate)  # the configured rate's time for the same texts
    note = (
        f"{sent} sent, {achieved:.0f} msg/s of {rate:.0f} configured; "
        f"{m.queries / max(1, sent):.1f} queries per text; fake got {fake.messages}"
    )
    return [row(f"SMS dispatcher at {rate:.0f}/s", m, floor, "the configured rate", note)]


WORKLOADS: dict[str, Callable[[str, datetime, dict[str, Any]], list[Row]]] = {
    "scan-full": scan_full,
    "scan-new-checkins": scan_new_checkins,
    "patient-list": patient_list,
    "attention-queue": attention_queue,
    "api-patients": api_patients,
    "reminders": reminders_job,
    "missed-checkins": missed_checkins_job,
    "dispatcher": dispatcher,
}
