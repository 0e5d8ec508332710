"""Demo data: a clinic with a year of believable history, so every screen has something true to show.

Check-ins are scored by the real instrument code; the courses follow CLINICAL.md §1
(an induction series of six, then boosters as needed when symptoms return). The dashboard's queue
has one of everything: an open safety alert, an urgent and a routine booster request (each citing
the check-ins that raised it under CLINICAL.md §5), a missed-check-in alert, booked infusions, and
texts sent, delivered and failed.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from flask import current_app

from tracker import clock
from tracker.extensions import db
from tracker.instruments import PHQ9
from tracker.jobs.missed_checkins import Gap
from tracker.models import (
    Alert,
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
from tracker.services.accounts import users as accounts
from tracker.services.alerts.writes import SAFETY_REASON
from tracker.services.messaging import texts as messages

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
    # What the dashboard's tour opens first: "safety_alert", "urgent_request", "routine_request" -> their ids.
    showcase: dict[str, uuid.UUID] = field(default_factory=dict)


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

    def clinic_hours(self, moment: datetime) -> datetime:
        """The same day at 10:00, clinic time: infusions are given in the morning, not at 2 AM."""
        zone = ZoneInfo(self.clinic.timezone)
        return moment.astimezone(zone).replace(hour=10, minute=0, second=0, microsecond=0).astimezone(UTC)

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

    def relapse_cycles(self, patient: Patient, start: datetime, until: datetime, low: int) -> datetime:
        """Well for some weeks (CLINICAL.md §1: relief lasts weeks to months), then two rising check-ins about
        a week apart, a booster, and well again; returns when the last cycle ended. A booster due after now
        leaves its request open."""
        rng, at = self.rng, start
        while at < until:
            well = timedelta(weeks=rng.randint(5, 12))
            self.weekly(patient, at, min(at + well, until), _noise(rng, low + 1, 1))
            at += well
            if at >= until:
                break
            first_signal = self.checkin(patient, at, low + rng.randint(8, 10))
            second_at = at + timedelta(days=rng.randint(5, 8))
            if second_at >= until:
                break
            second = self.checkin(patient, second_at, low + rng.randint(10, 13))
            given = self.clinic_hours(second_at + timedelta(days=rng.randint(3, 6)))
            self.booster_cycle(patient, [first_signal, second], second_at + timedelta(days=1), given)
            at = given + timedelta(days=2)
        return at

    def open_request(self, patient: Patient, signals: list[CheckIn], urgency: str) -> BoosterRequest:
        """A request the relapse scan raised from `signals` (CLINICAL.md §5), awaiting the clinic's decision."""
        request = BoosterRequest(
            patient_id=patient.id,
            clinic_id=self.clinic.id,
            status="open",
            urgency=urgency,
            raised_by="scan",
            raised_at=signals[-1].taken_at + timedelta(minutes=10),
        )
        db.session.add(request)
        db.session.flush()
        for row in signals:
            db.session.add(BoosterEvidence(request_id=request.id, checkin_id=row.id, added_at=request.raised_at))
        return request

    def text(
        self,
        patient: Patient,
        at: datetime,
        purpose: str,
        body: str,
        status: str = "delivered",
        to_phone: str | None = None,
        dedupe_key: str | None = None,
        error: tuple[int, str] | None = None,
    ) -> OutboundMessage:
        """A text already through the outbox: sent, delivered or failed (the dispatcher picks up only queued ones)."""
        row = OutboundMessage(
            clinic_id=self.clinic.id,
            patient_id=patient.id,
            to_phone=to_phone or patient.phone,
            body=body,
            purpose=purpose,
            dedupe_key=dedupe_key,
            status=status,
            attempts=1,
            next_attempt_at=at,
            twilio_sid=f"SM{self.rng.getrandbits(128):032x}" if status != "failed" else None,
            error_code=error[0] if error else None,
            error_message=error[1] if error else None,
            created_at=at,
            sent_at=at + timedelta(seconds=4) if status != "failed" else None,
            updated_at=at + timedelta(seconds=30),
        )
        db.session.add(row)
        return row

    def reminders(self, patient: Patient, weeks: int, failed_last: bool = False) -> None:
        """The weekly reminder texts of the last few weeks (the latest may still await its delivery report)."""
        base = current_app.config.get("PUBLIC_BASE_URL") or "http://127.0.0.1:5000"
        body = messages.REMINDER_WEEKLY.format(clinic=self.clinic.name, url=f"{base}/c/demo-link-used")
        zone = ZoneInfo(self.clinic.timezone)
        hour = patient.reminder_local_time.hour if patient.reminder_local_time else 10
        for week in range(weeks, 0, -1):
            day = (self.now - timedelta(weeks=week) + timedelta(days=1)).astimezone(zone)
            at = day.replace(hour=hour, minute=0, second=0, microsecond=0).astimezone(UTC)
            status = "sent" if week == 1 else "delivered"
            error = None
            if failed_last and week == 1:
                status, error = "failed", (30003, "Unreachable destination handset")
            self.text(patient, at, "reminder_weekly", body, status, error=error)


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
        + ["relapsing_now", "urgent_now"]
        + ["non_responder"] * 4
        + ["past_item9", "safety_now", "gone_quiet"]
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
        # The first infusion is in the past, so the check-in taken before it is too.
        first = min(b.clinic_hours(started + timedelta(days=rng.randint(2, 5))), now - timedelta(hours=4))
        b.checkin(patient, first - timedelta(hours=2), baseline + rng.randint(-1, 1), source="clinic")
        last = b.induction(patient, first)
        if kind == "in_induction":
            b.weekly(patient, first + timedelta(days=3), now, _noise(rng, baseline - 6))
            continue
        after = last + timedelta(days=2)
        if kind == "non_responder":
            b.weekly(patient, after, now, _noise(rng, baseline - 3))
            b.move(patient, "maintenance", after + timedelta(days=30), clinician)
            b.reminders(patient, 3, failed_last=n % 4 == 0)
            continue
        low = rng.randint(2, 6) if kind != "relapsing_now" else 6  # 6: "PHQ-9 14 → 17 over 8 days, low was 6"
        b.reminders(patient, 3)
        if kind in ("stays_well", "past_item9", "safety_now", "gone_quiet"):
            quiet_since = now - timedelta(days=25)
            rows = b.weekly(patient, after, quiet_since if kind == "gone_quiet" else now, _noise(rng, low + 1))
            if kind == "past_item9":
                row = b.checkin(patient, after + timedelta(days=60), low + 8, item9=1)
                db.session.add(
                    Alert(
                        patient_id=patient.id,
                        clinic_id=clinic.id,
                        kind="safety",
                        reason=SAFETY_REASON,
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
                # CLINICAL.md §3: the clinic must acknowledge it by its deadline; this one still has 18 minutes.
                row = b.checkin(patient, now - timedelta(minutes=12), low + 9, item9=2)
                alert = Alert(
                    patient_id=patient.id,
                    clinic_id=clinic.id,
                    kind="safety",
                    reason=SAFETY_REASON,
                    checkin_id=row.id,
                    raised_at=row.taken_at,
                    deadline=row.taken_at + timedelta(minutes=clinic.safety_ack_minutes),
                )
                db.session.add(alert)
                db.session.flush()
                logins.showcase["safety_alert"] = alert.id
                b.text(patient, row.taken_at, "crisis", messages.CRISIS_SMS)
                oncall = messages.SAFETY_ONCALL.format(url=f"{current_app.config.get('PUBLIC_BASE_URL') or ''}/clinic/")
                b.text(
                    patient,
                    row.taken_at,
                    "safety_oncall",
                    oncall,
                    to_phone=clinic.oncall_phone,
                    dedupe_key=f"safety-oncall:{alert.id}",
                )
            if kind == "gone_quiet" and rows:
                # Past the clinic's limit without a check-in: the missed-checkins job's nudge, then its alert,
                # under the job's own keys, so the job finds them done (tracker/jobs/missed_checkins.py).
                gap = Gap(patient.id, f"checkin:{rows[-1].id}", rows[-1].taken_at)
                nudge_at = gap.since + timedelta(days=7 + clinic.missed_checkin_grace_days)
                base = current_app.config.get("PUBLIC_BASE_URL") or "http://127.0.0.1:5000"
                nudge = messages.MISSED_CHECKIN_NUDGE.format(clinic=clinic.name, url=f"{base}/c/demo-link-unused")
                b.text(patient, nudge_at, "reminder_missed_checkin", nudge, dedupe_key=gap.nudge_key)
                alert_at = gap.since + timedelta(days=clinic.missed_checkin_alert_days)
                db.session.add(
                    Alert(
                        patient_id=patient.id,
                        clinic_id=clinic.id,
                        kind="attention",
                        reason=f"No check-in for {(alert_at - gap.since).days} days "
                        f"(the clinic's limit is {clinic.missed_checkin_alert_days}).",
                        dedupe_key=gap.alert_key,
                        raised_at=alert_at,
                    )
                )
            continue
        if kind == "relapses":
            b.relapse_cycles(patient, after, now, low)
            continue
        # Relapsing now (CLINICAL.md §5): past cycles, well for a while, then a request the clinic must decide.
        at = b.relapse_cycles(patient, after, now - timedelta(days=45), low)
        if kind == "relapsing_now":
            b.weekly(patient, at, now - timedelta(days=10), _noise(rng, low + 1, 1))
            b.checkin(patient, now - timedelta(days=16), low)
            first_signal = b.checkin(patient, now - timedelta(days=9), low + 8)
            second = b.checkin(patient, now - timedelta(days=1), low + 11)
            logins.showcase["routine_request"] = b.open_request(patient, [first_signal, second], "routine").id
        else:
            b.weekly(patient, at, now - timedelta(days=3), _noise(rng, low + 1, 1))
            # CLINICAL.md §5: a signal at urgent_min_total or above is urgent on its own.
            urgent = b.checkin(patient, now - timedelta(hours=20), clinic.urgent_min_total + 2)
            request = b.open_request(patient, [urgent], "urgent")
            logins.showcase["urgent_request"] = request.id
            oncall = messages.BOOSTER_URGENT_ONCALL.format(
                url=f"{current_app.config.get('PUBLIC_BASE_URL') or ''}/clinic/"
            )
            b.text(patient, request.raised_at, "booster_urgent_oncall", oncall, to_phone=clinic.oncall_phone)
    db.session.flush()
    return logins
