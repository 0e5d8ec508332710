"""The relapse scan in batches (tracker/jobs/relapse_scan.py) does exactly what judging each patient alone does.

Twin patients, one in each of two clinics with the same settings, live the same course on the test clock
through the services (check-ins, back-dated entries, infusions, declines, cancellations, requests of their
own). At each scan point the first twin of every pair is judged by the batched job, the second alone through
`relapse_scan.scan_patient` (the services, as before batches), and in the end every request, alert, text,
audit row and confirming check-in of the one is the other's, clause by clause of CLINICAL.md §5 and over
random trajectories with a fixed seed. Then: a batch failing midway loses and doubles nothing, and the
statements a scan runs follow its batches, not its patients.
"""

from __future__ import annotations

import dataclasses
import random
import uuid
from collections import Counter
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from factories import Factory

from tracker import relapse
from tracker.clock import FrozenClock
from tracker.extensions import db
from tracker.jobs import relapse_scan as scan_job
from tracker.jobs.registry import load_jobs
from tracker.models import Alert, AuditEvent, BoosterRequest, Clinic, OutboundMessage, Patient
from tracker.services.boosters import queries as booster_queries
from tracker.services.boosters import requests as boosters
from tracker.services.boosters import scan
from tracker.services.checkins import submit as checkins
from tracker.services.course import relapse_inputs
from tracker.services.course import writes as course
from tracker.unit_of_work import transaction

ONCALL = "+13125550100"
Inputs = relapse_inputs.RelapseInputs
Event = tuple[Any, ...]


def answers_for(total: int) -> list[int]:
    """PHQ-9 answers with this total on items 1–8 (item 9 at 0: no safety alert)."""
    answers = [0] * 9
    for i in range(total):
        answers[i % 8] += 1
    return answers


# CLINICAL.md §5, clause by clause: (phase, events). Days count from the first infusion; ("scan", d) is a run.
VECTORS: dict[str, tuple[str, list[Event]]] = {
    "pair 5 days apart: routine": ("maintenance", [("c", 1, 3), ("c", 10, 12), ("scan", 10), ("c", 15, 13)]),
    "pair 15 days apart: routine": ("maintenance", [("c", 1, 3), ("c", 2, 12), ("c", 17, 13)]),
    "4 days apart: nothing": ("maintenance", [("c", 1, 3), ("c", 10, 12), ("c", 14, 13)]),
    "16 days apart: nothing": ("maintenance", [("c", 1, 3), ("c", 2, 12), ("c", 18, 13)]),
    "a non-signal breaks the pair": ("maintenance", [("c", 1, 3), ("c", 10, 12), ("c", 12, 7), ("c", 15, 13)]),
    "urgent alone, on-call texted": ("maintenance", [("c", 1, 3), ("c", 5, 20)]),
    "20 without the rise: severe alert": ("maintenance", [("c", 1, 16), ("c", 5, 20)]),
    "severe first of its window": ("as_needed", [("c", 1, 22), ("scan", 1), ("c", 3, 23)]),
    "as_needed is watched": ("as_needed", [("c", 1, 3), ("c", 5, 21)]),
    "induction is not": ("induction", [("c", 1, 3), ("c", 5, 24)]),
    "discharged is not": ("discharged", [("c", 1, 3), ("c", 5, 24)]),
    "a new window": ("maintenance", [("c", 1, 3), ("c", 10, 12), ("scan", 10), ("i", 12), ("c", 13, 3), ("c", 16, 14)]),
    "a booster completes the request": (
        "maintenance",
        [("c", 1, 3), ("c", 10, 12), ("c", 15, 13), ("scan", 15), ("i", 17), ("c", 19, 4)],
    ),
    "a decline holds back what it saw": (
        "maintenance",
        [
            ("c", 1, 3),
            ("c", 10, 12),
            ("c", 15, 13),
            ("scan", 15),
            ("decline", 16),
            ("c", 18, 14),  # pairs with c10, which the decision saw
            ("c", 21, 14),  # pairs with c15, which it saw too
            ("scan", 21),
            ("c", 23, 15),  # pairs with c18: both after it
        ],
    ),
    "a cancellation too": (
        "maintenance",
        [("c", 1, 3), ("c", 5, 22), ("scan", 5), ("cancel", 6), ("c", 8, 23), ("scan", 8), ("c", 9, 12)],
    ),
    "evidence added, then made urgent": (
        "maintenance",
        [("c", 1, 3), ("c", 10, 12), ("c", 15, 13), ("scan", 15), ("c", 17, 14), ("scan", 17), ("c", 19, 22)],
    ),
    "a patient's request takes the evidence": ("maintenance", [("c", 1, 3), ("ask", 9), ("c", 10, 12), ("c", 15, 13)]),
    "a severe check-in joins an open request": ("maintenance", [("c", 1, 23), ("ask", 2), ("c", 3, 24)]),
    "a back-dated entry closes a pair": (
        "maintenance",
        [("c", 1, 3), ("c", 15, 13), ("scan", 15), ("late", 16, 12, 9)],
    ),
    "confirming check-in asked, then cleared": (
        "maintenance",
        [("c", 1, 3), ("c", 10, 12), ("scan", 10), ("c", 12, 6)],
    ),
    "no infusion yet: the whole history": ("maintenance", [("c", -20, 3), ("c", -5, 12), ("c", 0.5, 13)]),
    "a GAD-7 is no PHQ-9": ("maintenance", [("c", 1, 3), ("gad", 3, 20), ("c", 5, 4)]),
}


def random_course(rng: random.Random) -> tuple[str, list[Event]]:
    """A year-like course in a few weeks: infusions now and then, totals that drift, clinicians deciding."""
    phase = rng.choice(["maintenance", "maintenance", "as_needed", "induction"])
    events: list[Event] = []
    level = rng.choice([3, 5, 8, 14])
    day = 0.5
    while day < 60:
        roll = rng.random()
        if roll < 0.07:
            events.append(("i", day))
            level = rng.choice([3, 5, 8])
        elif roll < 0.12:
            events.append((rng.choice(["decline", "cancel", "ask"]), day))
        elif roll < 0.16:
            events.append(("late", day, max(0, min(24, level + rng.randint(-4, 6))), day - rng.uniform(1, 6)))
        else:
            level = max(0, min(24, level + rng.choice([-4, -2, 0, 1, 3, 5, 8])))
            events.append(("c", day, level))
        if rng.random() < 0.3:
            events.append(("scan", day))
        day += rng.uniform(1, 6)
    return phase, events


class Twins:
    """Each course lived by two patients: `batched` in one clinic, `alone` in the other (same settings)."""

    def __init__(self, factory: Factory, clock: FrozenClock, courses: dict[str, tuple[str, list[Event]]]) -> None:
        self.factory, self.clock, self.start = factory, clock, clock()
        self.clinics = tuple(factory.clinic(oncall_phone=ONCALL, urgent_min_total=20) for _ in range(2))
        self.staff = [factory.user(clinic) for clinic in self.clinics]
        # Each course starts with an infusion on day 0, unless it has events before it (no infusion yet).
        self.courses = {
            name: (phase, events if min(e[1] for e in events) < 0 else [("i", 0, "maintenance"), *events])
            for name, (phase, events) in courses.items()
        }
        self.pairs: dict[str, tuple[Patient, Patient]] = {}
        self.checkin_names: dict[uuid.UUID, str] = {}
        self.other_names: dict[uuid.UUID, str] = {}
        for name, (phase, _) in self.courses.items():
            self.pairs[name] = tuple(  # type: ignore[assignment]
                factory.patient(clinic, phase=phase, changed_at=self.start) for clinic in self.clinics
            )
        self.batched_counts: Counter[str] = Counter()
        self.alone_counts: Counter[str] = Counter()

    def at(self, day: float) -> datetime:
        return self.start + timedelta(days=40 + day)  # room for the courses' days before the first infusion

    def live(self) -> None:
        """Every course's events in time order, both twins at each moment, a scan of both at each scan point."""
        timeline = sorted(
            (
                (event[1], order, name, event)
                for name, (_, events) in self.courses.items()
                for order, event in enumerate(events)
            ),
            key=lambda item: (item[0], item[1], item[2]),
        )
        scans = sorted({event[1] for _, _, _, event in timeline if event[0] == "scan"})
        for day, _, name, event in timeline:
            while scans and scans[0] < day:
                self.scan(scans.pop(0))
            if event[0] != "scan":
                for side, twin in enumerate(self.pairs[name]):
                    self.apply(name, side, twin, event)
        for day in scans:
            self.scan(day)
        self.scan(999)

    def apply(self, name: str, side: int, patient: Patient, event: Event) -> None:
        kind, day = event[0], event[1]
        self.clock.set(self.at(day))
        if kind in ("c", "gad", "late"):
            instrument, answers = ("gad7", [3, 3, 3, 3, 3, 3, 2]) if kind == "gad" else ("phq9", answers_for(event[2]))
            taken_at = self.at(event[3]) if kind == "late" else None
            checkin = checkins.submit(patient, instrument, answers, None, "app", taken_at=taken_at).checkin
            self.checkin_names[checkin.id] = f"{name}@{day}"
        elif kind == "i":
            kind_given = event[2] if len(event) > 2 else "booster"
            # A course may give two on one day (day 0 and day 0.5): confirmed, as a clinician would be asked to.
            given = course.record_infusion(
                patient, kind=kind_given, status="given", by=None, given_at=self.at(day), hold_confirmed=True
            )
            self.other_names[given.infusion.id] = f"{name}: infusion @{day}"
        elif kind in ("decline", "cancel"):
            request = booster_queries.open_request_for(patient.id)
            if request is not None:
                staff = self.staff[side]
                if kind == "decline" and request.status == "open":
                    boosters.decline(request, staff, "Seen in clinic; not needed yet.")
                elif kind == "cancel":
                    boosters.cancel(request, staff, "The patient asked to wait.")
        elif kind == "ask" and booster_queries.open_request_for(patient.id) is None:
            boosters.raise_request(patient, "patient", None, "I feel it coming back.")
        db.session.commit()

    def scan(self, day: float) -> None:
        """The batched job over the first clinic; each due patient of the second judged alone, as before."""
        self.clock.set(self.at(day) + timedelta(minutes=5))
        alone_ids = db.session.scalars(
            sa.select(Patient.id)
            .where(Patient.clinic_id == self.clinics[1].id, scan_job.scan_due())
            .order_by(Patient.id)
        ).all()
        db.session.commit()
        for patient_id in alone_ids:
            with transaction(db.session):
                self.alone_counts.update(scan_job.scan_patient(db.session, patient_id))
        with only_clinic(self.clinics[0].id):
            result = load_jobs()["relapse-scan"].run(db.session, self.clock())
        self.batched_counts.update(result.counts)

    def state(self, side: int, name: str) -> dict[str, Any]:
        """What a twin's course left, with ids turned into names both twins share."""
        patient = self.pairs[name][side]
        requests = db.session.scalars(
            sa.select(BoosterRequest).where(BoosterRequest.patient_id == patient.id).order_by(BoosterRequest.raised_at)
        ).all()
        named = {request.id: f"request {n}" for n, request in enumerate(requests)}
        names = {str(k): v for k, v in {**named, **self.checkin_names, **self.other_names}.items()}

        def rename(text: str | None) -> str | None:
            if text is None:
                return None
            for raw, readable in names.items():
                text = text.replace(raw, readable)
            return text.replace(str(patient.id), "patient")

        alerts = db.session.scalars(sa.select(Alert).where(Alert.patient_id == patient.id)).all()
        texts = db.session.scalars(sa.select(OutboundMessage).where(OutboundMessage.patient_id == patient.id)).all()
        audit = db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.patient_id == patient.id, AuditEvent.action.like("booster.%"))
        ).all()
        row = db.session.execute(
            sa.select(Patient.confirm_checkin_due_at, Patient.changed_at, Patient.scanned_at).where(
                Patient.id == patient.id
            )
        ).one()
        return {
            "requests": [
                (
                    named[r.id],
                    r.status,
                    r.urgency,
                    r.raised_by,
                    r.version,
                    r.raised_at,
                    sorted((self.checkin_names[e.checkin_id], e.added_at) for e in r.evidence),
                )
                for r in requests
            ],
            "alerts": sorted(
                (
                    a.kind,
                    a.cause,
                    a.reason,
                    a.status,
                    rename(a.dedupe_key),
                    named.get(a.booster_request_id) if a.booster_request_id is not None else None,
                    a.raised_at,
                )
                for a in alerts
            ),
            "texts": sorted((t.to_phone, t.purpose, t.body, t.critical, rename(t.dedupe_key), t.status) for t in texts),
            "audit": sorted(
                (e.at, e.action, e.actor_id is None, e.target_type, rename(str(e.target_id)), rename(repr(e.detail)))
                for e in audit
            ),
            "patient": (row.confirm_checkin_due_at, row.changed_at, row.scanned_at is not None),
        }


@contextmanager
def only_clinic(clinic_id: uuid.UUID) -> Iterator[None]:
    """The job's pick narrowed to one clinic, so the other's twins are left to be judged alone."""
    real = scan_job.scan_due
    scan_job.scan_due = lambda: sa.and_(real(), Patient.clinic_id == clinic_id)
    try:
        yield
    finally:
        scan_job.scan_due = real


def assert_twins_agree(twins: Twins) -> None:
    for name in twins.courses:
        assert twins.state(0, name) == twins.state(1, name), name
    # Every scan left nothing due, and both ways reported the same work.
    assert twins.batched_counts == twins.alone_counts


def test_the_clauses_of_section_5_give_the_same_outcome_batched_and_alone(
    ctx: None, factory: Factory, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(scan_job, "BATCH_SIZE", 4)  # several batches, the twins spread over them
    twins = Twins(factory, clock, VECTORS)
    twins.live()
    assert_twins_agree(twins)
    # The vectors reach every kind of outcome, so the agreement above covers each.
    for what in (
        "raised_routine",
        "raised_urgent",
        "evidence_added",
        "made_urgent",
        "oncall_texted",
        "severe_alerted",
        "confirm_asked",
        "confirm_cleared",
    ):
        assert twins.batched_counts[what] > 0, what


def test_random_trajectories_give_the_same_outcome_batched_and_alone(
    ctx: None, factory: Factory, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(scan_job, "BATCH_SIZE", 7)
    rng = random.Random(20261201)
    twins = Twins(factory, clock, {f"random {n}": random_course(rng) for n in range(24)})
    twins.live()
    assert_twins_agree(twins)
    assert twins.batched_counts["raised_routine"] + twins.batched_counts["raised_urgent"] > 3


# --- failures and cost ----------------------------------------------------------------------------------------


def urgent_patients(factory: Factory, clock: FrozenClock, count: int, clinic: Clinic | None = None) -> list[Patient]:
    """Patients each with a low check-in, then a severe one: an urgent request (and a text) due."""
    clinic = clinic or factory.clinic(oncall_phone=ONCALL)
    start = clock()
    found = []
    for _ in range(count):
        patient = factory.patient(clinic, phase="maintenance", changed_at=start)
        clock.set(start)
        course.record_infusion(patient, kind="maintenance", status="given", by=None, given_at=start)
        clock.set(start + timedelta(days=1))
        checkins.submit(patient, "phq9", answers_for(3), None, "app")
        clock.set(start + timedelta(days=5))
        checkins.submit(patient, "phq9", answers_for(22), None, "app")
        db.session.commit()
        found.append(patient)
    clock.set(start + timedelta(days=5, minutes=5))
    return found


def outcome(patients: list[Patient]) -> dict[str, Counter[Any]]:
    ids = [p.id for p in patients]
    return {
        "requests": Counter(
            db.session.scalars(sa.select(BoosterRequest.patient_id).where(BoosterRequest.patient_id.in_(ids)))
        ),
        "alerts": Counter(db.session.scalars(sa.select(Alert.patient_id).where(Alert.patient_id.in_(ids)))),
        "texts": Counter(
            db.session.scalars(sa.select(OutboundMessage.patient_id).where(OutboundMessage.patient_id.in_(ids)))
        ),
        "audit": Counter(
            db.session.scalars(
                sa.select(AuditEvent.patient_id).where(
                    AuditEvent.patient_id.in_(ids), AuditEvent.action == "booster.raise"
                )
            )
        ),
    }


def test_a_batch_failing_midway_loses_nothing_and_doubles_nothing(
    ctx: None, factory: Factory, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(scan_job, "BATCH_SIZE", 3)
    patients = urgent_patients(factory, clock, 7)
    real_write, writes = scan._Batch.write, []

    def write_then_fail(batch: scan._Batch) -> None:
        real_write(batch)  # the batch's requests, alerts and texts are flushed...
        writes.append(1)
        if len(writes) == 2:
            raise RuntimeError("+13125550100 must never reach a log")  # ...and the second batch dies before commit

    monkeypatch.setattr(scan._Batch, "write", write_then_fail)
    result = load_jobs()["relapse-scan"].run(db.session, clock())

    # The failed batch was rolled back whole and its three patients judged one by one: each once, nothing lost.
    assert result.counts == {"scanned": 7, "raised_urgent": 7, "oncall_texted": 7}
    assert outcome(patients) == {kind: Counter({p.id: 1 for p in patients}) for kind in outcome(patients)}
    assert "a batch of 3 failed (RuntimeError); its patients judged one by one" in caplog.text
    assert "+1312555" not in caplog.text
    assert load_jobs()["relapse-scan"].run(db.session, clock()).counts == {"scanned": 7}  # touched by the raise
    assert load_jobs()["relapse-scan"].run(db.session, clock()).counts == {}


def test_a_request_raised_meanwhile_fails_the_batch_and_each_patient_then_goes_alone(
    ctx: None, factory: Factory, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The patient raised a request just after the batch read their inputs: the one-open index refuses the
    batch's second request; judged alone, the patient's request takes the scan's evidence instead."""
    monkeypatch.setattr(scan_job, "BATCH_SIZE", 10)
    patients = urgent_patients(factory, clock, 4)
    asking = patients[2]
    boosters.raise_request(asking, "patient", None, "I feel it coming back.")
    db.session.commit()
    real_load = relapse_inputs.load_windows

    def read_before_the_patient_asked(
        patient_ids: Collection[uuid.UUID],
    ) -> dict[uuid.UUID, relapse_inputs.RelapseInputs]:
        found = real_load(patient_ids)
        if asking.id in found:
            found[asking.id] = dataclasses.replace(found[asking.id], open_request=None)
        return found

    monkeypatch.setattr(relapse_inputs, "load_windows", read_before_the_patient_asked)
    result = load_jobs()["relapse-scan"].run(db.session, clock())

    counts = {"scanned": 4, "raised_urgent": 3, "oncall_texted": 4, "evidence_added": 1, "made_urgent": 1}
    assert result.counts == counts
    requests = db.session.scalars(
        sa.select(BoosterRequest).where(BoosterRequest.patient_id.in_([p.id for p in patients]))
    ).all()
    assert Counter(r.patient_id for r in requests) == Counter({p.id: 1 for p in patients})
    [theirs] = [r for r in requests if r.patient_id == asking.id]
    assert (theirs.raised_by, theirs.urgency, len(theirs.evidence)) == ("patient", "urgent", 1)


@pytest.mark.parametrize("batch_size", [5, 40])
def test_a_scans_statements_follow_its_batches_not_its_patients(
    ctx: None,
    factory: Factory,
    clock: FrozenClock,
    monkeypatch: pytest.MonkeyPatch,
    count_queries: Any,
    batch_size: int,
) -> None:
    """Raises, evidence, severe alerts, confirming check-ins and plain scans in every batch: a constant number
    of statements per batch, whatever the patients, their history or what they call for."""
    monkeypatch.setattr(scan_job, "BATCH_SIZE", batch_size)
    clinic = factory.clinic(oncall_phone=ONCALL)
    urgent_patients(factory, clock, 10, clinic)
    start = clock()
    for n in range(30):
        patient = factory.patient(clinic, phase="maintenance" if n % 6 else "induction", changed_at=start)
        for week in range(n % 12):  # a history of varying length, before the window
            factory.checkin(patient, total=4 + week % 3, taken_at=start - timedelta(days=100 - 7 * week))
        factory.infusion(patient, kind="maintenance", given_at=start - timedelta(days=20))
        for day, total in [(1, 22 if n % 4 == 3 else 3), (10, [4, 12, 21][n % 3])]:
            factory.checkin(patient, total=total, taken_at=start - timedelta(days=20 - day))
        if n % 5 == 0:
            clock.set(start)
            boosters.raise_request(patient, "patient", None, "I feel it coming back.")
    db.session.commit()
    patients = db.session.scalar(sa.select(sa.func.count()).select_from(Patient).where(Patient.clinic_id == clinic.id))
    assert patients == 40

    with count_queries() as counter:
        result = load_jobs()["relapse-scan"].run(db.session, clock())

    batches = -(-patients // batch_size)
    assert result.counts["scanned"] == 40
    assert {"raised_urgent", "evidence_added", "severe_alerted", "confirm_asked"} <= set(result.counts)
    # The pick, the claim, the patients, the clinics once, four input reads, two key checks, one INSERT per
    # table and one UPDATE per kind: about twenty per batch, and one pick more at the end.
    assert len(counter.statements) <= 22 * batches + 2, len(counter.statements)
    if batch_size == 40:
        assert len(counter.statements) < patients  # fewer statements than patients: none per patient


def test_each_clinics_settings_are_read_once_per_run(
    ctx: None, factory: Factory, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch, count_queries: Any
) -> None:
    monkeypatch.setattr(scan_job, "BATCH_SIZE", 2)
    clinic = factory.clinic(oncall_phone=ONCALL)
    urgent_patients(factory, clock, 6, clinic)
    with count_queries() as counter:
        assert load_jobs()["relapse-scan"].run(db.session, clock()).counts["raised_urgent"] == 6
    assert sum(1 for s in counter.statements if "FROM clinic" in s) == 1


def test_the_batched_scan_reads_only_each_window(ctx: None, factory: Factory, clock: FrozenClock) -> None:
    """CLINICAL.md §5: what came before the latest infusion never counts, so the scan does not read it."""
    patient = factory.patient(factory.clinic(), phase="maintenance")
    start = clock()
    for week in range(30):
        factory.checkin(patient, total=20, taken_at=start - timedelta(days=300 - 7 * week))
    factory.infusion(patient, kind="maintenance", given_at=start - timedelta(days=10))
    factory.checkin(patient, total=20, taken_at=start - timedelta(days=10))  # at the infusion: before the window
    inside = [factory.checkin(patient, total=t, taken_at=start - timedelta(days=9 - d)) for d, t in [(0, 3), (5, 12)]]
    factory.checkin(patient, instrument="gad7", answers=[1] * 7, taken_at=start - timedelta(days=2))
    db.session.commit()

    inputs = relapse_inputs.load_windows([patient.id])[patient.id]
    whole = relapse_inputs.load_one(patient.id)

    assert [p.id for p in inputs.checkins] == [str(c.id) for c in inside]
    assert [i.given_at for i in inputs.infusions] == [start - timedelta(days=10)]
    assert len(whole.checkins) == 33
    thresholds = scan.thresholds_of(db.session.get(Clinic, patient.clinic_id))  # type: ignore[arg-type]
    assert relapse.assess(
        "maintenance", inputs.checkins, inputs.infusions, inputs.decisions, None, thresholds
    ) == relapse.assess("maintenance", whole.checkins, whole.infusions, whole.decisions, None, thresholds)
