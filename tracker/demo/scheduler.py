"""The scheduler's jobs during the demo build, each run at the moments of the story's clock where it has work.

The real scheduler runs every job every few seconds or minutes, and most runs find nothing. Here: the
dispatcher a tick after a text was queued (again while it finds full batches); the reminders job at each
moment a reminder falls due, and the missed-checkins job an hour after a gap in someone's check-ins falls
due and again a day later, for a nudge it held back (the story knows both).
The relapse scan judges a patient a tick after each check-in that could be a relapse signal (past
induction, with a total at or above the clinic's signal threshold: CLINICAL.md §5 raises and adds to
requests only on those), with the scan's own per-patient function; the whole job runs once more a minute
before the end, for every patient changed since. They run inside the build's unit of work, where their
per-item units become SAVEPOINTs (tracker/unit_of_work.py).

Texts go to `Network`, standing in for Twilio: it accepts each with a message SID, and the delivery report
the story's carrier makes for it arrives later, applied as the status webhook (tracker/sms/webhooks.py)
applies Twilio's.
"""

from __future__ import annotations

import heapq
import itertools
import random
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from tracker import clock
from tracker.clock import FrozenClock
from tracker.demo.steps import Carrier
from tracker.demo.story import Story
from tracker.extensions import db
from tracker.jobs import relapse_scan
from tracker.jobs.dispatch_sms import dispatch
from tracker.jobs.missed_checkins import missed_checkins
from tracker.jobs.registry import JobResult
from tracker.jobs.reminders import send_reminders
from tracker.models import OutboundMessage
from tracker.services.messaging import delivery
from tracker.services.messaging.pacing import JOB_EVERY as DISPATCH_EVERY
from tracker.services.messaging.pacing import Pacer, Settings
from tracker.services.messaging.senders import SendResult
from tracker.unit_of_work import transaction

MISSED_CHECKINS_EVERY = timedelta(hours=1)  # the job's schedule; a held-back nudge goes within a day
LINK = re.compile(r"/c/(\S+)")  # a one-time check-in link in a text (tracker/services/checkins/links.py)
# Counts a job reports when an item went wrong; it logs why and goes on, but the story cannot.
TROUBLE = ("errors", "retry_next_run", "lease_expired", "claimed_elsewhere")


class DemoError(RuntimeError):
    """The story and what the system did with it disagree; nothing of the demo is kept."""


class Network:
    """Twilio and the phones, as far as the demo needs them: every text accepted with a message SID from the
    demo's seed, and the last check-in link each phone received, for its patient to tap."""

    def __init__(self, carrier: Carrier, seed: int) -> None:
        self.carrier = carrier
        self.rng = random.Random(seed)
        self.accepted: list[tuple[str, str, datetime]] = []  # (sid, to, when), until the scheduler reads them
        self._links: dict[str, str] = {}

    def send(self, to: str, body: str, status_callback: str | None = None) -> SendResult:
        sid = f"SM{self.rng.getrandbits(128):032x}"
        now = clock.now()
        self.accepted.append((sid, to, now))
        if (link := LINK.search(body)) and self.carrier.reaches(to, now):
            self._links[to] = link[1]
        return SendResult(sid=sid, status="queued")

    def link_for(self, phone: str) -> str | None:
        """The token of the last check-in link the phone received."""
        return self._links.get(phone)


@dataclass(order=True)
class _Run:
    at: datetime
    order: int
    job: str = field(compare=False)
    patient_id: uuid.UUID | None = field(default=None, compare=False)  # the one patient a scan judges
    report: tuple[str, str, int | None] | None = field(default=None, compare=False)  # sid, status, code


class Scheduler:
    """The jobs' runs still to come, in time order; `run_until` moves the clock through them."""

    def __init__(self, story: Story, frozen: FrozenClock, seed: int) -> None:
        self.story, self.clock = story, frozen
        self.network = Network(story.carrier, seed)
        self._runs: list[_Run] = []
        self._order = itertools.count()
        self._waiting: set[str] = set()  # jobs with a run already to come, which covers any later change
        self._queued = False  # a text was added to the outbox since the dispatcher was last called
        self._batch = Settings.from_config(current_app.config).batch
        for at in story.reminder_runs:
            self._add(at, "reminders")
        for due in story.gaps_due:
            for at in (due + MISSED_CHECKINS_EVERY, due + timedelta(days=1) + MISSED_CHECKINS_EVERY):
                self._add(at, "missed-checkins")
        self._add(story.end - timedelta(minutes=1), "relapse-scan")

    def _add(
        self,
        at: datetime,
        job: str,
        patient_id: uuid.UUID | None = None,
        report: tuple[str, str, int | None] | None = None,
    ) -> None:
        heapq.heappush(self._runs, _Run(at, next(self._order), job, patient_id, report))

    def _soon(self, job: str, after: datetime, every: timedelta, patient_id: uuid.UUID | None = None) -> None:
        """The job's next tick after `after`, unless a run of it (for this patient) is already to come."""
        key = f"{job}:{patient_id}"
        if key not in self._waiting:
            self._waiting.add(key)
            self._add(after + every, job, patient_id)

    @contextmanager
    def watching(self) -> Iterator[None]:
        """Notice texts being queued, so the dispatcher runs when there is something to send."""
        session = db.session()
        sa.event.listen(session, "after_flush", self._flushed)
        sa.event.listen(session, "do_orm_execute", self._executing)
        try:
            yield
        finally:
            sa.event.remove(session, "after_flush", self._flushed)
            sa.event.remove(session, "do_orm_execute", self._executing)

    def _flushed(self, session: sa.orm.Session, context: object) -> None:
        if any(isinstance(row, OutboundMessage) for row in session.new):
            self._queued = True

    def _executing(self, state: sa.orm.ORMExecuteState) -> None:
        # A bulk insert (the reminders job's batch) goes past the flush.
        mapper = state.bind_mapper
        if state.is_insert and mapper is not None and mapper.class_ is OutboundMessage:
            self._queued = True

    def _send_soon(self, at: datetime) -> None:
        if self._queued:
            self._queued = False
            self._soon("dispatch-sms", at, DISPATCH_EVERY)

    def changed(self, at: datetime) -> None:
        """Something was written at `at`: any text it queued goes out."""
        self._send_soon(at)

    def judge_soon(self, patient_id: uuid.UUID, at: datetime) -> None:
        """A check-in that may be a relapse signal: the scan judges the patient at its next tick."""
        self._soon("scan-patient", at, relapse_scan.JOB_EVERY, patient_id)

    def run_until(self, moment: datetime) -> None:
        """Every run due before `moment`, in time order, each at its own moment on the clock."""
        while self._runs and self._runs[0].at < moment:
            run = heapq.heappop(self._runs)
            self.clock.set(run.at)
            self._waiting.discard(f"{run.job}:{run.patient_id}")
            self._run(run)

    def _run(self, run: _Run) -> None:
        now = run.at
        if run.report is not None:
            delivery.record_report(*run.report)  # as the status webhook applies Twilio's
            return
        if run.job == "dispatch-sms":
            result = dispatch(
                db.session,
                now,
                sender=self.network,
                pacer=Pacer(1.0, monotonic=lambda: 0.0, sleep=lambda _: None),
                jitter=lambda low, high: 1.0,
            )
            for sid, to, sent_at in self.network.accepted:
                if (report := self.story.carrier.report(to, sent_at)) is not None:
                    self._add(sent_at + self.story.carrier.report_after, "report", report=(sid, *report))
            self.network.accepted.clear()
            if result.counts.get("claimed") == self._batch:
                self._soon("dispatch-sms", now, DISPATCH_EVERY)  # a full batch may have left more
        elif run.job == "scan-patient":
            assert run.patient_id is not None  # judge_soon names the patient
            with transaction(db.session):  # as the job does for each patient it claims
                relapse_scan.scan_patient(db.session, run.patient_id)
            result = JobResult()
        elif run.job == "relapse-scan":
            result = relapse_scan.relapse_scan(db.session, now)
        elif run.job == "reminders":
            result = send_reminders(db.session, now)
        else:
            result = missed_checkins(db.session, now)
        self._check(run.job, now, result)
        self._send_soon(now)

    @staticmethod
    def _check(job: str, now: datetime, result: JobResult) -> None:
        trouble = {what: n for what, n in result.counts.items() if what in TROUBLE}
        if trouble:
            raise DemoError(f"the {job} job run at {now:%Y-%m-%d %H:%M} UTC went wrong ({trouble}); see its log")
