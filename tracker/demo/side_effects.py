"""The demo's side-effect steps (tracker/demo/side_effect_steps.py) acted out through the services (CLINICAL.md §7)."""

from __future__ import annotations

import sqlalchemy as sa

from tracker import side_effects as rules
from tracker.demo import steps
from tracker.demo.side_effect_steps import AtDischarge, CallBack, NextMorning
from tracker.extensions import db
from tracker.models import Alert, Infusion, Patient, User
from tracker.services.alerts import writes as alerts
from tracker.services.side_effects import reports


def _levels(chosen: tuple[tuple[str, str], ...]) -> dict[str, str]:
    return {**dict.fromkeys(rules.ITEM_KEYS, "none"), **dict(chosen)}


def perform(step: steps.Step, patient: Patient, clinician: User) -> bool:
    """Act out one of this module's steps; False for a step of another kind."""
    if isinstance(step, AtDischarge):
        latest = db.session.scalar(
            sa.select(Infusion)
            .where(Infusion.patient_id == patient.id, Infusion.status == "given")
            .order_by(Infusion.given_at.desc())
            .limit(1)
        )
        assert latest is not None  # told after a visit given
        reports.record_discharge(clinician, latest.id, _levels(step.levels))
        return True
    if isinstance(step, NextMorning):
        reports.answer_due(patient, _levels(step.levels), step.source)
        return True
    if isinstance(step, CallBack):
        alert = db.session.scalar(
            sa.select(Alert).where(
                Alert.patient_id == patient.id, Alert.cause == "severe_side_effect", Alert.status == "open"
            )
        )
        assert alert is not None  # the severe answer just opened it
        alerts.acknowledge(alert, clinician, step.note)
        return True
    return False
