"""Side-effect reports (CLINICAL.md §7): staff's at discharge, the patient's the next morning; a severe item alerts.

One report of each timing per infusion: a second is refused with a Conflict (409 on the API, a message on the
page), never merged or replaced, so what was reported first stays as it was. The answers are never summed.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from tracker import clock, local_time
from tracker import side_effects as rules
from tracker.db import insert_once
from tracker.errors import Conflict
from tracker.extensions import db
from tracker.models import Infusion, Patient, SideEffectReport, SmsConversation, User
from tracker.services import scope
from tracker.services.alerts import writes as alerts
from tracker.services.audit import trail as audit

log = logging.getLogger(__name__)

SIDE_EFFECTS_INSTRUMENT = "side_effects"  # SmsConversation.instrument of a check by text
# Given infusions this recent may still have a next-morning check open (the next day, plus quiet hours, plus
# the answer window, in any zone).
LOOKBACK = timedelta(days=4)
TIMING_WORDS = {"discharge": "at discharge", "next_morning": "the morning after the visit"}
ALREADY = {
    "discharge": "Side effects at discharge are already recorded for this visit.",
    "next_morning": "The next-morning side effects are already answered for this visit.",
}


def _store(
    infusion: Infusion, patient: Patient, timing: str, source: str, answers: Mapping[str, Any], by: User | None
) -> SideEffectReport:
    levels = rules.checked(answers)
    if infusion.status != "given":
        raise Conflict("Side effects are recorded for a visit given, not one booked or cancelled.")
    report = SideEffectReport(
        id=uuid.uuid4(),
        infusion_id=infusion.id,
        patient_id=patient.id,
        clinic_id=patient.clinic_id,
        timing=timing,
        source=source,
        reported_by_id=by.id if by is not None else None,
        reported_at=clock.now(),
        **levels,
    )
    if not insert_once(db.session, report):  # the unique key: one report of each timing per infusion
        raise Conflict(ALREADY[timing])
    severe = rules.severe_items(levels)
    if severe:
        # CLINICAL.md §7: any "severe" answer opens an attention alert; staff read which items.
        words = ", ".join(item.words for item in severe)
        alerts.open_attention_alert(
            patient,
            f"Side effect reported as severe {TIMING_WORDS[timing]}: {words}.",
            cause="severe_side_effect",
            dedupe_key=f"severe-side-effect:{report.id}",
        )
    log.info("side-effect report %s (%s, %s) for infusion %s", report.id, timing, source, infusion.id)
    return report


def record_discharge(staff: User, infusion_id: str | uuid.UUID, answers: Mapping[str, Any]) -> SideEffectReport:
    """Staff record the checklist as the patient leaves (CLINICAL.md §7); audited as side_effects.create."""
    infusion, patient = scope.get_infusion_for_staff(staff, infusion_id)
    report = _store(infusion, patient, "discharge", "clinic", answers, staff)
    audit.record(staff, "side_effects.create", patient=patient, target_type="side_effect_report", target_id=report.id)
    return report


def record_next_morning(
    patient: Patient, infusion: Infusion, answers: Mapping[str, Any], source: str
) -> SideEffectReport:
    """The patient's own answers the morning after (app, web or text); any check by text still open closes."""
    report = _store(infusion, patient, "next_morning", source, answers, None)
    conversation = db.session.scalar(
        sa.select(SmsConversation)
        .where(SmsConversation.infusion_id == infusion.id, SmsConversation.status == "active")
        .with_for_update()
    )
    if conversation is not None and source != "sms":
        conversation.status = "cancelled"  # answered another way: no more questions by text
        conversation.last_activity_at = clock.now()
    db.session.flush()
    return report


@dataclass(frozen=True)
class DueCheck:
    """A next-morning check open for the patient: the infusion it asks about, and until when."""

    infusion: Infusion
    asked_at: datetime
    open_until: datetime


def ask_time(patient: Patient, given_at: datetime) -> datetime:
    """CLINICAL.md §7: the moment the patient is first asked about an infusion (tracker/side_effects.py)."""
    clinic = patient.clinic
    return rules.next_morning_ask(
        given_at,
        local_time.zone_of(patient.timezone),
        patient.reminder_local_time,
        clinic.quiet_start,
        clinic.quiet_end,
    )


def due_check(patient: Patient, now: datetime | None = None) -> DueCheck | None:
    """The patient's next-morning check open now, if any: the latest given infusion whose morning has come, with
    no next-morning report yet. None once answered by any way."""
    now = now or clock.now()
    answered = sa.exists().where(SideEffectReport.infusion_id == Infusion.id, SideEffectReport.timing == "next_morning")
    infusions = db.session.scalars(
        sa.select(Infusion)
        .where(
            Infusion.patient_id == patient.id,
            Infusion.status == "given",
            Infusion.given_at > now - LOOKBACK,
            Infusion.given_at <= now,
            ~answered,
        )
        .order_by(Infusion.given_at.desc())
    )
    for infusion in infusions:
        assert infusion.given_at is not None  # a given infusion has its time (check constraint)
        asked_at = ask_time(patient, infusion.given_at)
        if rules.is_due(asked_at, now):
            return DueCheck(infusion, asked_at, asked_at + rules.ANSWER_WINDOW)
    return None


def answer_due(patient: Patient, answers: Mapping[str, Any], source: str) -> SideEffectReport:
    """The patient answers the check open now (app or web); a Conflict when none is."""
    due = due_check(patient)
    if due is None:
        raise Conflict("There is no side-effect check to answer now.")
    return record_next_morning(patient, due.infusion, answers, source)


def reports_of_patient(patient_id: uuid.UUID) -> dict[uuid.UUID, list[SideEffectReport]]:
    """A patient's reports by infusion, discharge before next morning."""
    found: dict[uuid.UUID, list[SideEffectReport]] = {}
    rows = db.session.scalars(
        sa.select(SideEffectReport)
        .where(SideEffectReport.patient_id == patient_id)
        .order_by(SideEffectReport.reported_at, SideEffectReport.timing, SideEffectReport.id)
    )
    for report in rows:
        found.setdefault(report.infusion_id, []).append(report)
    return found


def reports_for_staff(staff: User, infusion_id: str | uuid.UUID) -> tuple[Infusion, Patient, list[SideEffectReport]]:
    """An infusion of the staff member's clinic with its reports; audited as side_effects.read."""
    infusion, patient = scope.get_infusion_for_staff(staff, infusion_id)
    reports = list(
        db.session.scalars(
            sa.select(SideEffectReport)
            .where(SideEffectReport.infusion_id == infusion.id)
            .order_by(SideEffectReport.reported_at, SideEffectReport.timing, SideEffectReport.id)
        )
    )
    audit.record(staff, "side_effects.read", patient=patient, target_type="infusion", target_id=infusion.id)
    return infusion, patient, reports
