"""Asking the next-morning side-effect check by text (CLINICAL.md §7), for the `side-effects` job.

The candidates are read in one query for all patients: infusions given in the last days with no next-morning
report and never asked about by text, of patients who take texts. Which of them are due now is the pure rule's
(tracker/side_effects.py: the patient's zone, their reminder time or 09:00, never in quiet hours).
"""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa

from tracker import local_time
from tracker import side_effects as rules
from tracker.extensions import db
from tracker.models import Clinic, Infusion, Patient, SideEffectReport, SmsConversation
from tracker.services.side_effects import by_text
from tracker.services.side_effects.reports import LOOKBACK


def due_infusion_ids(now: datetime) -> list[uuid.UUID]:
    """Given infusions whose next-morning check by text is due now and has not been asked."""
    answered = sa.exists().where(SideEffectReport.infusion_id == Infusion.id, SideEffectReport.timing == "next_morning")
    asked = sa.exists().where(SmsConversation.infusion_id == Infusion.id)
    rows = db.session.execute(
        sa.select(
            Infusion.id,
            Infusion.given_at,
            Patient.timezone,
            Patient.reminder_local_time,
            Clinic.quiet_start,
            Clinic.quiet_end,
        )
        .join(Patient, Patient.id == Infusion.patient_id)
        .join(Clinic, Clinic.id == Patient.clinic_id)
        .where(
            Infusion.status == "given",
            Infusion.given_at > now - LOOKBACK,
            Infusion.given_at <= now,
            Patient.sms_opted_out.is_(False),
            ~answered,
            ~asked,
        )
        .order_by(Infusion.id)
    )
    due = []
    for row in rows:
        ask_at = rules.next_morning_ask(
            row.given_at, local_time.zone_of(row.timezone), row.reminder_local_time, row.quiet_start, row.quiet_end
        )
        if rules.is_due(ask_at, now):
            due.append(row.id)
    return due


def ask(infusion_id: uuid.UUID, now: datetime) -> bool:
    """Start the check by text for one infusion, unless answered, asked, or another conversation is under way."""
    infusion = db.session.get(Infusion, infusion_id, with_for_update=True)
    if infusion is None or infusion.status != "given":
        return False
    patient = db.session.get(Patient, infusion.patient_id)
    assert patient is not None  # an infusion always has its patient (foreign key)
    if patient.sms_opted_out:
        return False
    done = db.session.scalar(
        sa.select(
            sa.or_(
                sa.exists().where(
                    SideEffectReport.infusion_id == infusion.id, SideEffectReport.timing == "next_morning"
                ),
                sa.exists().where(SmsConversation.infusion_id == infusion.id),
            )
        )
    )
    if done:
        return False
    return by_text.start(patient, infusion, now) is not None
