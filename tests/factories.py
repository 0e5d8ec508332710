"""Factories for tests: clinics, users, patients, check-ins, infusions.

Inside a test's app context (`ctx`) they flush into that context's session; otherwise
they open a short one and commit (the test's outer transaction still rolls it all back)
and hand back detached objects whose columns stay readable.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from flask import Flask, has_app_context
from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash

from tracker import clock
from tracker.countries import country_of_zone
from tracker.extensions import db
from tracker.instruments import get_instrument
from tracker.models import CheckIn, Clinic, Infusion, Patient, PhaseChange, User
from tracker.models.user import FAST_PASSWORD_METHOD
from tracker.services.clinic import summary

PASSWORD = "correct horse battery"
# Hashed once for every account the factories make: a real scrypt hash that logins verify through werkzeug,
# with the cheap parameters the test app uses (test_auth checks that production's are full strength).
PASSWORD_HASH = generate_password_hash(PASSWORD, method=FAST_PASSWORD_METHOD)
_serial = itertools.count(1)


class Factory:
    def __init__(self, app: Flask) -> None:
        self.app = app

    @contextmanager
    def session(self) -> Iterator[Session]:
        if has_app_context():
            yield db.session
            db.session.flush()
            return
        with self.app.app_context():
            yield db.session
            db.session.flush()
            db.session.expunge_all()  # keep the loaded columns readable after the session ends
            db.session.commit()

    def clinic(self, name: str | None = None, timezone: str = "America/Chicago", **settings: Any) -> Clinic:
        settings.setdefault("country", country_of_zone(timezone))  # as accounts.create_clinic does
        with self.session() as s:
            clinic = Clinic(name=name or f"Clinic {next(_serial)}", timezone=timezone, **settings)
            s.add(clinic)
        return clinic

    def user(
        self,
        clinic: Clinic | None = None,
        role: str = "clinician",
        email: str | None = None,
        phone: str | None = None,
        password: str | None = PASSWORD,
        active: bool = True,
    ) -> User:
        clinic = clinic or self.clinic()
        n = next(_serial)
        if email is None and phone is None:
            email = f"{role}{n}@example.org"
        with self.session() as s:
            user = User(clinic_id=clinic.id, role=role, email=email, phone=phone, active=active)
            if password is not None:
                user.password_hash = password_hash(password)
            s.add(user)
        return user

    def staff_for(self, patient: Patient, role: str = "clinician") -> User:
        """A staff member of the patient's own clinic."""
        with self.session() as s:
            clinic = s.get(Clinic, patient.clinic_id)
        assert clinic is not None
        return self.user(clinic, role=role)

    def patient(
        self,
        clinic: Clinic | None = None,
        phase: str = "as_needed",
        display_name: str | None = None,
        phone: str | None = None,
        timezone: str = "America/Chicago",
        password: str | None = PASSWORD,
        **fields: Any,
    ) -> Patient:
        clinic = clinic or self.clinic()
        n = next(_serial)
        phone = phone or f"+1312555{1000 + n % 9000:04d}"
        user = self.user(clinic, role="patient", phone=phone, password=password)
        with self.session() as s:
            patient = Patient(
                user_id=user.id,
                clinic_id=clinic.id,
                display_name=display_name or f"Patient {n}",
                phone=phone,
                timezone=timezone,
                phase=phase,
                **fields,
            )
            s.add(patient)
            s.flush()
            s.add(PhaseChange(patient_id=patient.id, to_phase=phase, changed_at=clock.now()))
        return patient

    def checkin(
        self,
        patient: Patient,
        answers: Sequence[int] | None = None,
        total: int | None = None,
        taken_at: datetime | None = None,
        days_ago: float = 0,
        source: str = "app",
        instrument: str = "phq9",
    ) -> CheckIn:
        """A scored check-in; give the answers, or just a total to spread over items 1–8."""
        scorer = get_instrument(instrument)
        if answers is None:
            answers = _spread(total or 0, len(scorer.items))
        score = scorer.score(answers)
        with self.session() as s:
            row = CheckIn(
                patient_id=patient.id,
                instrument=instrument,
                answers=list(answers),
                difficulty=None,
                total=score.total,
                severity=score.severity,
                diagnosis=score.diagnosis,
                item9_positive=score.item9_positive,
                taken_at=taken_at or clock.now() - timedelta(days=days_ago),
                source=source,
            )
            s.add(row)
            if instrument == "phq9":
                summary.refresh([patient.id])  # as checkins.submit does
        return row

    def infusion(
        self,
        patient: Patient,
        kind: str = "induction",
        given_at: datetime | None = None,
        scheduled_for: datetime | None = None,
        **fields: Any,
    ) -> Infusion:
        status = "given" if given_at is not None else "scheduled"
        with self.session() as s:
            row = Infusion(
                patient_id=patient.id,
                kind=kind,
                status=status,
                given_at=given_at,
                scheduled_for=scheduled_for or given_at or clock.now() + timedelta(days=1),
                dose_mg_per_kg=Decimal("0.5"),
                **fields,
            )
            s.add(row)
            if status == "given":
                summary.refresh([patient.id])  # as course.writes does
        return row


def password_hash(password: str) -> str:
    return PASSWORD_HASH if password == PASSWORD else generate_password_hash(password, method=FAST_PASSWORD_METHOD)


def _spread(total: int, count: int) -> list[int]:
    """Answers with this total on every item but the last (item 9 stays 0 unless given)."""
    answers = [0] * count
    for i in range(total):
        answers[i % (count - 1)] += 1
    if max(answers) > 3:
        raise ValueError(f"total {total} does not fit the items without item 9")
    return answers
