"""Demo data: a clinic with a year of believable history, so every screen has something true to show.

Check-ins are scored by the real instrument code; the courses follow CLINICAL.md §1
(an induction series of six, then boosters as needed when symptoms return).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from decimal import Decimal

from tracker import clock
from tracker.extensions import db
from tracker.instruments import PHQ9
from tracker.models import (
    Alert,
    BoosterEvidence,
    BoosterRequest,
    CheckIn,
    Clinic,
    Infusion,
    Patient,
    PhaseChange,
    User,
)
from tracker.services import accounts

DEMO_PASSWORD = "demo-password-2026"  # noqa: S105  (demo logins, printed on purpose)
FIRST_NAMES = [
    "Alex",
    "Sam",
    "Jordan",
    "Taylor",
    "Morgan",
    "Casey",
    "Riley",
    "Jamie",
    "Avery",
    "Quinn",
    "Rowan",
    "Drew",
    "Emerson",
    "Hayden",
    "Parker",
    "Reese",
    "Skyler",
    "Dakota",
    "Finley",
    "Harper",
    "Logan",
    "Cameron",
    "Elliot",
    "Sage",
    "Blake",
    "Kendall",
    "Marley",
    "Shawn",
    "Toni",
    "Robin",
]
LAST_INITIALS = "ABCDEFGHJKLMNPRSTVW"


@dataclass
class DemoLogins:
    password: str
    usernames: list[tuple[str, str]] = field(default_factory=list)


def answers_for(total: int, rng: random.Random, item9: int = 0) -> list[int]:
    """Nine answers 0–3 with the given total (clamped to what nine items allow)."""
    answers = [0] * 8 + [item9]
    remaining = max(0, min(27, total) - item9)
    slots = [i for i in range(8) for _ in range(3)]
    rng.shuffle(slots)
    for i in slots[:remaining]:
        answers[i] += 1
    return answers


def _phone(n: int) -> str:
    return f"+1312555{200 + n:04d}"


class _Builder:
    def __init__(self, clinic: Clinic, clinician: User, rng: random.Random, now: datetime) -> None:
        self.clinic, self.clinician, self.rng, self.now = clinic, clinician, rng, now

    def patient(self, n: int, phase: str, started: datetime) -> Patient:
        name = f"{FIRST_NAMES[n % len(FIRST_NAMES)]} {LAST_INITIALS[n % len(LAST_INITIALS)]}."
        user = User(clinic_id=self.clinic.id, role="patient", phone=_phone(n), created_at=started)
        user.set_password(DEMO_PASSWORD)
        db.session.add(user)
        db.session.flush()
        patient = Patient(
            user_id=user.id,
            clinic_id=self.clinic.id,
            display_name=name,
            phone=_phone(n),
            timezone=self.clinic.timezone,
            phase="screening",
            reminder_weekday=n % 7,
            reminder_local_time=time(9 + n % 8, 0),
            created_at=started,
        )
        db.session.add(patient)
        db.session.flush()
        db.session.add(PhaseChange(patient_id=patient.id, to_phase="screening", changed_at=started))
        patient.phase = "screening"
        return patient

    def move(self, patient: Patient, phase: str, at: datetime, by: User | None = None) -> None:
        db.session.add(
            PhaseChange(
                patient_id=patient.id,
                from_phase=patient.phase,
                to_phase=phase,
                changed_at=at,
                changed_by_id=by.id if by else None,
            )
        )
        patient.phase = phase

    def checkin(self, patient: Patient, at: datetime, total: int, item9: int = 0, source: str = "app") -> CheckIn:
        answers = answers_for(total, self.rng, item9)
        score = PHQ9.score(answers)
        row = CheckIn(
            patient_id=patient.id,
            instrument="phq9",
            answers=answers,
            difficulty=min(3, score.total // 7),
            total=score.total,
            severity=score.severity,
            diagnosis=score.diagnosis,
            item9_positive=score.item9_positive,
            taken_at=at,
            source=source,
            created_at=at,
        )
        db.session.add(row)
        db.session.flush()
        return row

    def infusion(self, patient: Patient, kind: str, at: datetime, request: BoosterRequest | None = None) -> Infusion:
        weight = Decimal(self.rng.randint(55, 110))
        dose = Decimal("0.5")
        status = "given" if at <= self.now else "scheduled"
        row = Infusion(
            patient_id=patient.id,
            kind=kind,
            status=status,
            scheduled_for=at,
            given_at=at if status == "given" else None,
            dose_mg_per_kg=dose,
            weight_kg=weight,
            total_mg=(dose * weight).quantize(Decimal("0.1")),
            duration_min=40,
            bp_before_systolic=self.rng.randint(112, 138) if status == "given" else None,
            bp_before_diastolic=self.rng.randint(70, 88) if status == "given" else None,
            bp_after_systolic=self.rng.randint(118, 148) if status == "given" else None,
            bp_after_diastolic=self.rng.randint(72, 92) if status == "given" else None,
            observed_min=120 if status == "given" else None,
            ride_home_confirmed=True if status == "given" else None,
            booster_request_id=request.id if request else None,
            created_by_id=self.clinician.id,
            created_at=min(at, self.now),
        )
        db.session.add(row)
        db.session.flush()
        return row

    def induction(self, patient: Patient, start: datetime) -> datetime:
        """Six infusions, every other day or so (CLINICAL.md §1); returns the last one's time."""
        self.move(patient, "induction", start, self.clinician)
        at = start
        for i in range(self.clinic.induction_infusion_count):
            self.infusion(patient, "induction", at)
            if i < self.clinic.induction_infusion_count - 1:
                at += timedelta(days=self.rng.choice((2, 2, 3)))
        if at <= self.now:
            self.move(patient, self.clinic.post_induction_phase, at + timedelta(hours=3))
        return at

    def weekly(self, patient: Patient, start: datetime, end: datetime, level: Iterator[int]) -> list[CheckIn]:
        rows = []
        at = start
        while at < min(end, self.now):
            rows.append(self.checkin(patient, at, next(level)))
            at += timedelta(days=7, hours=self.rng.randint(-20, 20))
        return rows

    def booster_cycle(self, patient: Patient, signals: list[CheckIn], decided: datetime, given: datetime) -> None:
        request = BoosterRequest(
            patient_id=patient.id,
            clinic_id=self.clinic.id,
            status="open",
            urgency="urgent" if signals[-1].total >= self.clinic.urgent_min_total else "routine",
            raised_by="scan",
            raised_at=signals[-1].taken_at + timedelta(minutes=10),
        )
        db.session.add(request)
        db.session.flush()
        for row in signals:
            db.session.add(BoosterEvidence(request_id=request.id, checkin_id=row.id, added_at=request.raised_at))
        if given <= self.now:
            request.status = "completed"
            request.decided_by_id, request.decided_at = self.clinician.id, decided
            request.note = "Booster given."
            db.session.flush()
            self.infusion(patient, "booster", given, request)
        db.session.flush()


def _noise(rng: random.Random, centre: float, spread: int = 2) -> Iterator[int]:
    while True:
        yield max(0, min(27, round(centre + rng.randint(-spread, spread))))


def build_demo(seed: int = 7) -> DemoLogins:
    """Create the demo clinic; the caller commits."""
    rng = random.Random(seed)
    now = clock.now()
    clinic = accounts.create_clinic(
        "Lakeside Ketamine Clinic",
        "America/Chicago",
        phone="+13125550100",
        oncall_phone="+13125550101",
        backup_phone="+13125550102",
    )
    admin = accounts.create_staff(clinic, "admin", "admin@lakeside.example", DEMO_PASSWORD)
    clinician = accounts.create_staff(clinic, "clinician", "clinician@lakeside.example", DEMO_PASSWORD)
    logins = DemoLogins(DEMO_PASSWORD, [("admin", admin.email or ""), ("clinician", clinician.email or "")])
    b = _Builder(clinic, clinician, rng, now)

    plan = (
        ["stays_well"] * 9
        + ["relapses"] * 8
        + ["relapsing_now"] * 2
        + ["non_responder"] * 4
        + ["past_item9", "safety_now"]
        + ["in_induction"] * 3
        + ["screening"] * 2
    )
    for n, kind in enumerate(plan):
        days_ago = rng.randint(200, 360) if kind not in ("in_induction", "screening") else rng.randint(3, 10)
        started = now - timedelta(days=days_ago, hours=rng.randint(0, 23))
        patient = b.patient(n, "screening", started)
        if n == 0:
            logins.usernames.append(("patient", patient.phone))
        baseline = rng.randint(16, 24)
        b.checkin(patient, started, baseline, source="clinic")
        if kind == "screening":
            continue
        first = started + timedelta(days=rng.randint(2, 5))
        b.checkin(patient, first - timedelta(hours=2), baseline + rng.randint(-1, 1), source="clinic")
        last = b.induction(patient, first)
        if kind == "in_induction":
            b.weekly(patient, first + timedelta(days=3), now, _noise(rng, baseline - 6))
            continue
        after = last + timedelta(days=2)
        if kind == "non_responder":
            b.weekly(patient, after, now, _noise(rng, baseline - 3))
            b.move(patient, "maintenance", after + timedelta(days=30), clinician)
            continue
        low = rng.randint(2, 6)
        if kind in ("stays_well", "past_item9", "safety_now"):
            rows = b.weekly(patient, after, now, _noise(rng, low + 1))
            if kind == "past_item9":
                row = b.checkin(patient, after + timedelta(days=60), low + 8, item9=1)
                db.session.add(
                    Alert(
                        patient_id=patient.id,
                        clinic_id=clinic.id,
                        kind="safety",
                        reason="PHQ-9 item 9 answered above 0",
                        checkin_id=row.id,
                        status="acknowledged",
                        raised_at=row.taken_at,
                        deadline=row.taken_at + timedelta(minutes=30),
                        acknowledged_by_id=clinician.id,
                        acknowledged_at=row.taken_at + timedelta(minutes=12),
                        note="Called the patient; C-SSRS screen done, safety plan reviewed.",
                        risk_level="low",
                    )
                )
            if kind == "safety_now" and rows:
                row = b.checkin(patient, now - timedelta(minutes=50), low + 9, item9=2)
                db.session.add(
                    Alert(
                        patient_id=patient.id,
                        clinic_id=clinic.id,
                        kind="safety",
                        reason="PHQ-9 item 9 answered above 0",
                        checkin_id=row.id,
                        raised_at=row.taken_at,
                        deadline=row.taken_at + timedelta(minutes=clinic.safety_ack_minutes),
                    )
                )
            continue
        # Relapsing patients: well for some weeks (CLINICAL.md §1: relief lasts weeks to
        # months), then two rising check-ins about a week apart, a booster, and well again.
        at = after
        while at < now:
            well = timedelta(weeks=rng.randint(5, 12))
            b.weekly(patient, at, at + well, _noise(rng, low + 1, 1))
            at += well
            if at >= now:
                break
            first_signal = b.checkin(patient, at, low + rng.randint(8, 10))
            second_at = at + timedelta(days=rng.randint(5, 8))
            if second_at >= now:
                break
            second = b.checkin(patient, second_at, low + rng.randint(10, 13))
            given = second_at + timedelta(days=rng.randint(3, 6))
            last_cycle = kind == "relapsing_now" and now - second_at < timedelta(days=60)
            if last_cycle or given > now:
                b.booster_cycle(patient, [first_signal, second], now, now + timedelta(days=30))
                break
            b.booster_cycle(patient, [first_signal, second], second_at + timedelta(days=1), given)
            at = given + timedelta(days=2)
    db.session.flush()
    return logins
