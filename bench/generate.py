"""Synthetic clinic-network data for the benchmarks: N clinics, P patients, a year of weekly PHQ-9 check-ins.

    python -m bench.generate --url postgresql://postgres@127.0.0.1:5432/bench_10k --patients 10000
    python -m bench.generate --url sqlite:///bench/data/bench.sqlite3 --patients 1000 --clinics 2

or, from code, ``generate(url, clinics=, patients=, weeks=, seed=) -> Summary``. The database is dropped,
rebuilt by the project's migrations, and bulk-loaded (COPY on PostgreSQL, executemany on SQLite), then
analysed. The same seed gives the same rows (the shared password hash aside: its salt is new each time).

Each patient's year follows the clinic's own course (CLINICAL.md §1, §5): a screening PHQ-9, six induction
infusions with a check-in before each, then a weekly check-in after each weekly reminder. Half respond and stay
low; three in ten relapse one to three times (a raised check-in, a higher one a week later, a booster request
the scan would raise, approved and given, or declined, and the scores fall back), some of them relapsing now
with the request still open; two in ten never respond and get maintenance infusions every four weeks. A few
are still in screening or induction. Scores come from the product's PHQ-9 scoring (tracker/instruments), so
totals, severities, diagnoses and item-9 flags are what the app would store; a positive item 9 has its
safety alert, resolved unless recent. The outbox holds the weekly reminders of the last ten weeks, as sent.
Every patient is due a relapse scan (``scanned_at`` is empty), as after a first deploy.
"""

from __future__ import annotations

import argparse
import bisect
import random
import time as clock_time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Any, Protocol, cast
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask_migrate import upgrade
from werkzeug.security import generate_password_hash

from bench.harness import DEFAULT_NOW, PASSWORD, database_url, make_app
from tracker.demo.story import answers_for
from tracker.extensions import db
from tracker.instruments import PHQ9
from tracker.models import (
    Alert,
    AlertCheckIn,
    Base,
    BoosterEvidence,
    BoosterRequest,
    CheckIn,
    Clinic,
    Infusion,
    OutboundMessage,
    Patient,
    PhaseChange,
    User,
)
from tracker.models.user import FAST_PASSWORD_METHOD
from tracker.reminders import local_instant
from tracker.services.alerts.writes import SAFETY_REASON
from tracker.services.boosters.scan import RAISED_REASONS
from tracker.services.messaging import texts
from tracker.services.messaging.outbox import REMINDER_PURPOSE

# Tables in the order their foreign keys allow.
MODELS: tuple[type[Base], ...] = (
    Clinic,
    User,
    Patient,
    PhaseChange,
    BoosterRequest,
    Infusion,
    CheckIn,
    BoosterEvidence,
    Alert,
    AlertCheckIn,
    OutboundMessage,
)
TABLES: tuple[sa.Table, ...] = tuple(cast(sa.Table, model.__table__) for model in MODELS)
ZONES = ("America/Chicago", "America/New_York", "America/Denver", "America/Los_Angeles")
INDUCTION_DAYS = (0, 2, 4, 7, 9, 11)  # six infusions over two weeks and a half (CLINICAL.md §1)
OUTBOX_WEEKS = 10  # the reminders job looks back 61 days
CHUNK = 500  # patients per bulk write
DECLINE_REASON = "Reviewed by phone: symptoms manageable, no booster for now."
SAFETY_ACTION = "Called the patient; C-SSRS screen done, safety plan reviewed."


@dataclass
class Summary:
    """What was made: the database, its size per table, the moment the data ends, and how to log in."""

    url: str
    clinics: int
    patients: int
    weeks: int
    seed: int
    now: datetime
    rows: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    rebuild_seconds: float = 0.0  # of that, the app's rebuild of its stored per-patient figures
    staff_emails: list[str] = field(default_factory=list)  # one clinician per clinic, in clinic order
    password: str = PASSWORD

    @property
    def checkins(self) -> int:
        return self.rows.get("checkin", 0)


def staff_email(clinic_index: int, role: str = "clinician", number: int = 1) -> str:
    """The login of a clinic's staff member (clinic 0 is the largest); every one's password is PASSWORD."""
    return f"{role}{number}@clinic{clinic_index + 1}.bench.example"


def new_uuid(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


@lru_cache(maxsize=65536)
def scored(answers: tuple[int, ...]) -> tuple[int, str, str | None, bool]:
    score = PHQ9.score(answers)
    return score.total, score.severity, score.diagnosis, score.item9_positive


class Rows:
    """Rows per table, written in foreign-key order and cleared at each flush."""

    def __init__(self) -> None:
        self.by_table: dict[str, list[dict[str, Any]]] = {table.name: [] for table in TABLES}
        self.counts: dict[str, int] = dict.fromkeys(self.by_table, 0)

    def add(self, model: type[Base], **values: Any) -> dict[str, Any]:
        self.by_table[model.__tablename__].append(values)
        return values

    def flush(self, loader: Writer) -> None:
        for table in TABLES:
            rows = self.by_table[table.name]
            if rows:
                loader.write(table, rows)
                self.counts[table.name] += len(rows)
                rows.clear()
        loader.commit()


class Writer(Protocol):
    def write(self, table: sa.Table, rows: list[dict[str, Any]]) -> None: ...

    def commit(self) -> None: ...


class Loader:
    """Bulk inserts: COPY through psycopg 3 on PostgreSQL, executemany through SQLAlchemy on SQLite."""

    def __init__(self, engine: sa.Engine) -> None:
        self.postgres = engine.dialect.name == "postgresql"
        # PostgreSQL: the driver's own connection, whose COPY SQLAlchemy does not wrap.
        self.raw: Any = engine.raw_connection() if self.postgres else None
        self.conn = None if self.postgres else engine.connect()
        self.json_columns = {
            table.name: {c.name for c in table.columns if isinstance(c.type, sa.JSON)} for table in TABLES
        }

    def write(self, table: sa.Table, rows: list[dict[str, Any]]) -> None:
        # Only the columns the rows name: a column the generator does not know yet gets its server default.
        named = set().union(*(row.keys() for row in rows)) if rows else set()
        columns = [c.name for c in table.columns if c.name in named]
        if self.conn is not None:
            self.conn.execute(table.insert(), [{c: row.get(c) for c in columns} for row in rows])
            return
        from psycopg.types.json import Jsonb

        json_columns = self.json_columns[table.name]
        names = ", ".join(f'"{c}"' for c in columns)
        with self.raw.cursor() as cursor, cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
            for row in rows:
                copy.write_row(
                    [Jsonb(row[c]) if c in json_columns and row.get(c) is not None else row.get(c) for c in columns]
                )

    def analyze(self) -> None:
        """Fresh statistics, so the planner sees the tables as they now are."""
        if self.conn is not None:
            self.conn.execute(sa.text("ANALYZE"))
        else:
            with self.raw.cursor() as cursor:
                cursor.execute("ANALYZE")
        self.commit()

    def commit(self) -> None:
        (self.conn or self.raw).commit()

    def close(self) -> None:
        (self.conn or self.raw).close()


def reset_database(url: str) -> None:
    """An empty database: PostgreSQL's bench_* recreated (made if missing), a SQLite file removed."""
    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        from pathlib import Path

        if parsed.database:
            path = Path(parsed.database)
            path.parent.mkdir(parents=True, exist_ok=True)
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    admin = sa.create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            exists = conn.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": parsed.database})
            if not exists:
                conn.execute(sa.text(f'CREATE DATABASE "{parsed.database}"'))
    finally:
        admin.dispose()
    engine = sa.create_engine(parsed)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("DROP SCHEMA public CASCADE"))
            conn.execute(sa.text("CREATE SCHEMA public"))
    finally:
        engine.dispose()


class Network:
    """The clinics, their staff and the shared weekly slots, built once before the patients."""

    def __init__(self, rows: Rows, rng: random.Random, clinics: int, patients: int, now: datetime, weeks: int):
        self.rng, self.now, self.weeks = rng, now, weeks
        self.password_hash = generate_password_hash(PASSWORD, method=FAST_PASSWORD_METHOD)
        self.clinics: list[dict[str, Any]] = []
        self.clinicians: dict[uuid.UUID, list[uuid.UUID]] = {}
        self.bodies: dict[uuid.UUID, str] = {}
        opened = now - timedelta(weeks=weeks + 8)
        staff_serial = 0
        for c in range(clinics):
            zone = ZONES[c % len(ZONES)]
            clinic = rows.add(
                Clinic,
                id=new_uuid(rng),
                name=f"Bench Clinic {c + 1}",
                timezone=zone,
                country="US",
                phone=f"+1773{2000000 + c:07d}",
                oncall_phone=f"+1773{3000000 + c:07d}",
                backup_phone=f"+1773{4000000 + c:07d}",
                safety_ack_minutes=30,
                signal_min_total=10,
                signal_min_rise=5,
                confirm_min_days=5,
                confirm_max_days=15,
                urgent_min_total=20,
                induction_infusion_count=6,
                post_induction_phase="as_needed",
                reminder_weekday=0,
                reminder_local_time=time(10, 0),
                quiet_start=time(21, 0),
                quiet_end=time(8, 0),
                missed_checkin_grace_days=2,
                missed_checkin_alert_days=21,
                created_at=opened,
            )
            self.clinics.append(clinic)
            # An admin and a clinician per 500 patients (two at least).
            per_clinic = patients // clinics + 1
            staff = []
            for role_index in range(1 + max(2, per_clinic // 500)):
                role = "admin" if role_index == 0 else "clinician"
                staff_serial += 1
                email = staff_email(c, role, role_index)
                user_id = new_uuid(rng)
                rows.add(
                    User,
                    id=user_id,
                    clinic_id=clinic["id"],
                    email=email,
                    phone=f"+1415{2000000 + staff_serial:07d}",
                    password_hash=self.password_hash,
                    role=role,
                    active=True,
                    login_id=f"bench-{user_id.hex}",
                    created_at=opened,
                )
                if role == "clinician":
                    staff.append(user_id)
            self.clinicians[clinic["id"]] = staff
            self.bodies[clinic["id"]] = texts.for_staff(
                texts.REMINDER_WEEKLY.format(clinic=clinic["name"], url="https://tracker.example.org/c/0000")
            )

    @lru_cache(maxsize=4096)  # noqa: B019  (one Network per run; the cache goes with it)
    def slots(self, zone: str, weekday: int, at: time) -> list[datetime]:
        """Every weekly reminder slot of this local weekday and time, from well before the year to now."""
        tz = ZoneInfo(zone)
        first = (self.now - timedelta(weeks=self.weeks + 10)).date()
        first -= timedelta(days=first.weekday())
        found: list[datetime] = []
        day: date = first + timedelta(days=weekday)
        while True:
            instant = local_instant(day, at, tz)
            if instant > self.now:
                return found
            found.append(instant)
            day += timedelta(days=7)


class Life:
    """One patient's year: check-ins, infusions, requests, alerts and reminders, as rows."""

    def __init__(self, net: Network, rows: Rows, rng: random.Random, index: int, clinic: dict[str, Any]) -> None:
        self.net, self.rows, self.rng, self.clinic = net, rows, rng, clinic
        self.now = net.now
        self.id = new_uuid(rng)
        self.staff = net.clinicians[clinic["id"]]
        self.weight = Decimal(rng.randint(55, 110))
        self.open_safety: dict[str, Any] | None = None
        self.last_change = self.now - timedelta(days=400)
        roll = rng.random()
        self.kind = "responder" if roll < 0.5 else "relapser" if roll < 0.8 else "non_responder"
        self.baseline = rng.randint(15, 24)
        self.low = rng.randint(2, 7) if self.kind != "non_responder" else rng.randint(12, 18)
        self.adherence = rng.uniform(0.82, 0.99)
        weeks = net.weeks
        roll = rng.random()
        if roll < 0.88:  # enrolled before the year: a full year of weekly check-ins
            start = self.now - timedelta(weeks=weeks, days=21 + rng.uniform(0, 14))
        elif roll < 0.97:  # enrolled during the year
            start = self.now - timedelta(days=rng.uniform(28, weeks * 7))
        else:  # in screening or induction now
            start = self.now - timedelta(days=rng.uniform(0.5, 16))
        self.start = start
        own_slot = rng.random() < 0.2
        self.weekday = rng.randint(0, 6) if own_slot else None
        self.slot_time = time(rng.randint(8, 18), rng.choice((0, 30))) if own_slot else None
        user_id = new_uuid(rng)
        phone = f"+1312{2000000 + index:07d}"
        rows.add(
            User,
            id=user_id,
            clinic_id=clinic["id"],
            phone=phone,
            role="patient",
            active=True,
            login_id=f"bench-{user_id.hex}",
            created_at=start,
        )
        self.patient = rows.add(
            Patient,
            id=self.id,
            user_id=user_id,
            clinic_id=clinic["id"],
            display_name=f"Patient {index + 1:06d}",
            phone=phone,
            timezone=clinic["timezone"],
            phase="screening",
            reminders_enabled=True,
            reminder_weekday=self.weekday,
            reminder_local_time=self.slot_time,
            sms_opted_out=rng.random() < 0.01,
            changed_at=start,
            created_at=start,
        )

    # Rows.

    def clinician(self) -> uuid.UUID:
        return self.rng.choice(self.staff)

    def touch(self, moment: datetime) -> None:
        self.last_change = max(self.last_change, moment)

    def phase(self, to_phase: str, at: datetime) -> None:
        self.rows.add(
            PhaseChange,
            id=new_uuid(self.rng),
            patient_id=self.id,
            from_phase=self.patient["phase"] if self.patient["phase"] != to_phase else None,
            to_phase=to_phase,
            changed_by_id=self.clinician(),
            changed_at=at,
        )
        self.patient["phase"] = to_phase
        self.touch(at)

    def checkin(self, total: int, taken_at: datetime) -> uuid.UUID | None:
        """A PHQ-9 scored by the product's rule; a positive item 9 raises or joins a safety alert."""
        if taken_at >= self.now:
            return None
        rng = self.rng
        total = max(0, min(27, total))
        item9 = 0
        if rng.random() < (0.03 if total >= 15 else 0.004):
            item9 = rng.choices((1, 2, 3), (7, 2, 1))[0]
        answers = answers_for(total, rng, item9)
        score_total, severity, diagnosis, item9_positive = scored(answers)
        checkin_id = new_uuid(rng)
        stored = taken_at + timedelta(seconds=rng.randint(1, 90))
        self.rows.add(
            CheckIn,
            id=checkin_id,
            patient_id=self.id,
            instrument="phq9",
            answers=list(answers),
            difficulty=min(3, score_total // 7),
            total=score_total,
            severity=severity,
            diagnosis=diagnosis,
            item9_positive=item9_positive,
            taken_at=taken_at,
            source=rng.choices(("app", "web", "sms"), (5, 3, 2))[0],
            created_at=min(stored, self.now),
        )
        self.touch(stored)
        if item9_positive:
            self.safety(checkin_id, answers[8], stored)
        return checkin_id

    def safety(self, checkin_id: uuid.UUID, item9: int, at: datetime) -> None:
        """CLINICAL.md §3: one unresolved safety alert per patient; older ones resolved within hours."""
        alert = self.open_safety
        if alert is None:
            recent = self.now - at < timedelta(days=2)
            staff = self.clinician()
            resolved_at = at + timedelta(minutes=self.rng.randint(20, 300))
            alert = self.rows.add(
                Alert,
                id=new_uuid(self.rng),
                patient_id=self.id,
                clinic_id=self.clinic["id"],
                kind="safety",
                cause="safety",
                reason=SAFETY_REASON,
                checkin_id=checkin_id,
                status="acknowledged" if recent else "resolved",
                raised_at=at,
                deadline=at + timedelta(minutes=30),
                escalation_step=0,
                highest_item9=item9,
                acknowledged_by_id=staff,
                acknowledged_at=at + timedelta(minutes=self.rng.randint(3, 25)),
                note="Calling the patient now.",
                risk_level=None if recent else self.rng.choice(("low", "low", "moderate")),
                resolved_by_id=None if recent else staff,
                resolved_at=None if recent else resolved_at,
                action=None if recent else SAFETY_ACTION,
            )
            if recent:
                self.open_safety = alert
        else:
            alert["highest_item9"] = max(alert["highest_item9"], item9)
        self.rows.add(
            AlertCheckIn,
            alert_id=alert["id"],
            checkin_id=checkin_id,
            item9=item9,
            added_at=at,
        )

    def infusion(
        self, kind: str, at: datetime, request_id: uuid.UUID | None = None, *, scheduled: bool = False
    ) -> None:
        dose = Decimal("0.500")
        staff = self.clinician()
        given = not scheduled and at < self.now
        values: dict[str, Any] = {
            "id": new_uuid(self.rng),
            "patient_id": self.id,
            "kind": kind,
            "status": "given" if given else "scheduled",
            "scheduled_for": at,
            "booster_request_id": request_id,
            "created_by_id": staff,
            "created_at": min(at - timedelta(days=2), self.now),
            "updated_at": min(at + timedelta(hours=3), self.now) if given else min(at - timedelta(days=2), self.now),
        }
        if given:
            values.update(
                given_at=at,
                dose_mg_per_kg=dose,
                weight_kg=self.weight,
                total_mg=(dose * self.weight).quantize(Decimal("0.1")),
                duration_min=40,
                bp_before_systolic=self.rng.randint(110, 140),
                bp_before_diastolic=self.rng.randint(65, 90),
                bp_after_systolic=self.rng.randint(115, 150),
                bp_after_diastolic=self.rng.randint(70, 95),
                observed_min=120,
                ride_home_confirmed=True,
            )
            self.touch(at)
        self.rows.add(Infusion, **values)

    def request(self, raised_at: datetime, urgent: bool, evidence: list[uuid.UUID], outcome: str) -> uuid.UUID:
        """A booster request as the scan raises it (CLINICAL.md §5), with its attention alert and the decision."""
        rng = self.rng
        request_id = new_uuid(rng)
        decided = outcome in ("approved", "scheduled", "completed", "declined")
        decided_at = raised_at + timedelta(hours=rng.uniform(2, 30)) if decided else None
        staff = self.clinician()
        self.rows.add(
            BoosterRequest,
            id=request_id,
            patient_id=self.id,
            clinic_id=self.clinic["id"],
            status=outcome,
            urgency="urgent" if urgent else "routine",
            raised_by="scan",
            raised_at=raised_at,
            decided_by_id=staff if decided else None,
            decided_at=decided_at,
            reason=DECLINE_REASON if outcome == "declined" else None,
            version=1 if outcome == "open" else 2,
        )
        for checkin_id in evidence:
            self.rows.add(
                BoosterEvidence,
                request_id=request_id,
                checkin_id=checkin_id,
                added_at=raised_at,
            )
        self.rows.add(
            Alert,
            id=new_uuid(rng),
            patient_id=self.id,
            clinic_id=self.clinic["id"],
            kind="attention",
            cause="booster_raised",
            reason=RAISED_REASONS["urgent" if urgent else "routine"],
            booster_request_id=request_id,
            status="resolved" if decided else "open",
            raised_at=raised_at,
            escalation_step=0,
            resolved_by_id=staff if decided else None,
            resolved_at=decided_at,
        )
        if decided_at is not None:
            self.touch(decided_at)
        return request_id

    # The year.

    def live(self) -> None:
        rng, now = self.rng, self.now
        self.checkin(self.baseline + rng.randint(-1, 1), self.start)
        if now - self.start < timedelta(days=2):
            self.finish()
            return
        self.phase("induction", self.start + timedelta(hours=4))
        course_days = [self.start + timedelta(days=2 + d, hours=rng.uniform(-1, 1)) for d in INDUCTION_DAYS]
        for k, at in enumerate(course_days):
            if at >= now:
                self.infusion("induction", at, scheduled=True)
                break
            # The morning check-in before each visit, falling from baseline to the patient's low.
            falling = self.baseline - (self.baseline - self.low) * k / len(course_days)
            self.checkin(round(falling + rng.gauss(0, 1.5)), at - timedelta(hours=rng.uniform(1, 3)))
            self.infusion("induction", at)
        cadence = course_days[-1]
        if cadence >= now:
            self.finish()
            return
        maintenance = self.kind == "non_responder"
        self.phase("maintenance" if maintenance else "as_needed", cadence + timedelta(hours=3))
        weekday = self.weekday if self.weekday is not None else self.clinic["reminder_weekday"]
        slot_time = self.slot_time or self.clinic["reminder_local_time"]
        all_slots = self.net.slots(self.clinic["timezone"], weekday, slot_time)
        slots = all_slots[bisect.bisect_right(all_slots, cadence) :]
        self.weekly(slots, maintenance, cadence)
        self.reminders(all_slots)
        self.finish()

    def weekly(self, slots: list[datetime], maintenance: bool, cadence: datetime) -> None:
        rng, now, n = self.rng, self.now, len(slots)
        episodes: dict[int, str] = {}
        if self.kind == "relapser" and n > 6:
            # One to three relapses, eight weeks apart at least; one in six relapsers is relapsing now, their
            # confirming check-in the latest one (its slot's check-in comes up to 20 hours late).
            latest = bisect.bisect_left(slots, now - timedelta(hours=20)) - 1
            if rng.random() < 1 / 6 and latest >= 4:
                episodes[latest - 1] = rng.choice(("open", "open", "approved", "scheduled"))
            for _ in range(rng.randint(1, 3)):
                week = rng.randint(3, max(3, n - 12))
                if all(abs(week - other) >= 8 for other in episodes):
                    episodes[week] = "declined" if rng.random() < 0.2 else "completed"
        level: float = self.low
        next_maintenance = cadence + timedelta(days=28)
        recovering: list[float] = []
        week = 0
        while week < n:
            slot = slots[week]
            if maintenance and slot >= next_maintenance:
                self.infusion("maintenance", slot - timedelta(days=rng.randint(1, 3)))
                next_maintenance += timedelta(days=28)
            outcome = episodes.get(week)
            if outcome is not None:
                week = self.relapse(slots, week, outcome, recovering)
                continue
            target = recovering.pop(0) if recovering else self.low
            level = target + rng.gauss(0, 2.5 if maintenance else 1.3)
            if rng.random() < self.adherence:
                self.checkin(round(level), slot + timedelta(hours=rng.uniform(0.3, 30)))
            week += 1

    def relapse(self, slots: list[datetime], week: int, outcome: str, recovering: list[float]) -> int:
        """Two raised check-ins five or more days apart (CLINICAL.md §5), the request, its decision; the index of
        the next week to live."""
        rng = self.rng
        first = max(10, self.low + 5 + rng.randint(0, 3))
        urgent = rng.random() < 0.2
        second = rng.randint(20, 24) if urgent else min(19, first + rng.randint(0, 4))
        signal = self.checkin(first, slots[week] + timedelta(hours=rng.uniform(0.3, 20)))
        if week + 1 >= len(slots):
            return week + 1
        taken = slots[week + 1] + timedelta(hours=rng.uniform(0.3, 20))
        if taken >= self.now:
            return week + 2
        confirm = self.checkin(second, taken)
        evidence = [c for c in (signal, confirm) if c is not None]
        raised = taken + timedelta(minutes=rng.randint(2, 10))
        request_id = self.request(raised, urgent, evidence, outcome)
        if outcome == "completed":
            self.infusion("booster", raised + timedelta(days=rng.uniform(2, 6)), request_id)
            recovering[:] = [self.low + (second - self.low) * 0.4, self.low + 1]
        elif outcome == "scheduled":
            self.infusion("booster", self.now + timedelta(days=rng.uniform(1, 5)), request_id, scheduled=True)
        if outcome in ("open", "approved", "scheduled"):
            recovering[:] = [second, second]  # no booster yet: still raised
        elif outcome == "declined":
            recovering[:] = [second - 2, second - 5, (second + self.low) / 2, self.low + 2]
        return week + 2

    def reminders(self, slots: list[datetime]) -> None:
        """The weekly reminders of the last OUTBOX_WEEKS weeks, as the dispatcher left them: delivered."""
        if self.patient["sms_opted_out"]:
            return
        zone = ZoneInfo(self.clinic["timezone"])
        for slot in slots[-OUTBOX_WEEKS:]:
            if slot <= self.start or slot >= self.now - timedelta(minutes=30):  # one just passed: not yet sent
                continue
            sent = slot + timedelta(seconds=self.rng.randint(1, 120))
            self.rows.add(
                OutboundMessage,
                id=new_uuid(self.rng),
                clinic_id=self.clinic["id"],
                patient_id=self.id,
                to_phone=self.patient["phone"],
                body=self.net.bodies[self.clinic["id"]],
                purpose=REMINDER_PURPOSE["weekly"],
                critical=False,
                dedupe_key=f"reminder:{self.id}:{slot.astimezone(zone).date().isoformat()}",
                status="delivered",
                attempts=1,
                next_attempt_at=slot,
                twilio_sid=f"SM{self.rng.getrandbits(128):032x}",
                created_at=slot,
                sent_at=sent,
                updated_at=sent + timedelta(seconds=5),
            )

    def finish(self) -> None:
        if self.rng.random() < 0.02 and self.patient["phase"] in ("as_needed", "maintenance"):
            self.phase("discharged", self.now - timedelta(days=self.rng.uniform(1, 30)))
        self.patient["changed_at"] = min(self.last_change, self.now)


def batches(clinics: int, patients: int, weeks: int, seed: int, now: datetime) -> Iterator[Rows]:
    """The rows, the clinics and their staff first, then CHUNK patients at a time; the consumer flushes each
    batch (which clears it) before asking for the next."""
    rng = random.Random(seed)
    rows = Rows()
    net = Network(rows, rng, clinics, patients, now, weeks)
    yield rows
    for index, clinic_index in enumerate(patients_of(clinics, patients)):
        Life(net, rows, rng, index, net.clinics[clinic_index]).live()
        if (index + 1) % CHUNK == 0:
            yield rows
    yield rows


def rebuild_stored_figures() -> float:
    """What the app stores per patient beside the rows (the list's figures), recomputed by the app's own
    rebuild, as an operator does after a bulk load; its seconds (0 where the app keeps none)."""
    import importlib

    try:
        module = importlib.import_module("tracker.services.clinic.summary")
    except ImportError:
        return 0.0
    rebuild = getattr(module, "rebuild", None)
    if rebuild is None:
        return 0.0
    from tracker.unit_of_work import transaction

    started = clock_time.perf_counter()
    with transaction(db.session):
        rebuild()
    if db.engine.dialect.name == "postgresql":
        with db.engine.begin() as conn:
            conn.execute(sa.text("ANALYZE"))
    return clock_time.perf_counter() - started


def patients_of(clinics: int, patients: int) -> Iterator[int]:
    """Clinic indexes per patient: unequal clinics, as in a real network (the first ones larger)."""
    weights = [1.0 / (1 + 0.5 * c) for c in range(clinics)]
    total = sum(weights)
    counts = [int(patients * w / total) for w in weights]
    counts[0] += patients - sum(counts)
    for c, count in enumerate(counts):
        yield from [c] * count


def generate(
    url: str,
    clinics: int = 2,
    patients: int = 200,
    weeks: int = 52,
    seed: int = 1,
    now: datetime = DEFAULT_NOW,
    *,
    progress: bool = False,
) -> Summary:
    """Drop and rebuild the database at `url` (bench_* on PostgreSQL), migrate it, and fill it; the same
    arguments give the same rows."""
    if clinics < 1 or patients < 0 or weeks < 1:
        raise ValueError("need clinics >= 1, patients >= 0, weeks >= 1")
    url = database_url(url)
    started = clock_time.perf_counter()
    reset_database(url)
    app = make_app(url, now)
    summary = Summary(url, clinics, patients, weeks, seed, now)
    summary.staff_emails = [staff_email(c) for c in range(clinics)]
    with app.app_context():
        upgrade()
        loader = Loader(db.engine)
        try:
            for batch in batches(clinics, patients, weeks, seed, now):
                batch.flush(loader)
                if progress and batch.counts["patient"]:
                    elapsed = clock_time.perf_counter() - started
                    print(f"  {batch.counts['patient']} patients, {batch.counts['checkin']} check-ins, {elapsed:.0f} s")
                summary.rows = batch.counts
            loader.analyze()
        finally:
            loader.close()
        summary.rebuild_seconds = rebuild_stored_figures()
        db.engine.dispose()
    summary.seconds = clock_time.perf_counter() - started
    return summary


def main(argv: list[str] | None = None) -> None:
    from bench.harness import DEFAULT_POSTGRES

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--url", default=DEFAULT_POSTGRES, help="bench_* PostgreSQL or sqlite:/// (dropped first)")
    parser.add_argument("--clinics", type=int, default=10)
    parser.add_argument("--patients", type=int, default=10_000)
    parser.add_argument("--weeks", type=int, default=52)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    summary = generate(args.url, args.clinics, args.patients, args.weeks, args.seed, progress=True)
    where = sa.make_url(summary.url).render_as_string(hide_password=True)
    print(f"{where}: {summary.seconds:.1f} s (stored figures rebuilt in {summary.rebuild_seconds:.1f} s)")
    for table, count in summary.rows.items():
        print(f"  {table:<18} {count:>10}")
    print(f"  now {summary.now.isoformat()}; log in as {summary.staff_emails[0]} / {summary.password}")


if __name__ == "__main__":
    main()
