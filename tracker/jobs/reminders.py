"""The `reminders` job: every 5 minutes, queue the check-in reminders that are due (tracker/reminders.py decides).

Safe in any number of scheduler processes: each reminder carries the dedupe key of its patient and local day,
and the outbox's unique index lets only one through. A batch's texts go in as one insert that skips a key
another process got to first (not an error), then the links of those that went in: one commit per batch.
Each reminder carries a one-time check-in link (72 h) and "or reply CHECKIN". Logs name patients by id, never
by phone or body. The outbox and link services write through db.session, so `session` is the app's scoped
session, as the scheduler and `run-job` pass it.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from tracker import local_time, reminders
from tracker.db import insert_many_once, row_values
from tracker.instruments import PHQ9
from tracker.instruments import schedule as instrument_schedule
from tracker.jobs.registry import DbSession, JobResult, job
from tracker.models import CheckinLink, Clinic, Infusion, OutboundMessage, Patient
from tracker.services.checkins import due as checkins_due
from tracker.services.checkins import links as checkin_links
from tracker.services.checkins import queries as checkin_queries
from tracker.services.messaging import texts as messages
from tracker.services.messaging.outbox import REMINDER_PURPOSE, is_reminder, new_sms
from tracker.unit_of_work import end_read, transaction

log = logging.getLogger(__name__)

# Patients per batch: each batch is a handful of statements and one commit, whatever its size.
BATCH_SIZE = 1000
# Every local "today" on Earth lies within UTC-12..UTC+14 of now, and the rule looks back at most to the start
# of yesterday's slot: two days either way holds everything it can use.
HORIZON = timedelta(days=2)
# A confirming check-in whose moment passed is asked once, while a pair can close (CLINICAL.md §5: at most
# confirm_max_days, itself at most 60): a reminder this far back still says it was asked.
REMINDER_LOOKBACK = timedelta(days=61)
BODIES = {
    reminders.INDUCTION_MORNING: messages.REMINDER_INDUCTION_MORNING,
    reminders.WEEKLY: messages.REMINDER_WEEKLY,
    reminders.CONFIRMING: messages.REMINDER_CONFIRMING,
}


@dataclass(frozen=True)
class Candidate:
    """One eligible patient, read as plain values so the per-patient commits expire nothing we still need."""

    state: reminders.PatientState
    clinic: reminders.ClinicDefaults
    patient_id: uuid.UUID
    clinic_id: uuid.UUID
    phone: str
    clinic_name: str


def eligible(session: DbSession, after: uuid.UUID | None, limit: int) -> list[sa.Row[Any]]:
    """The next batch of patients who may get reminders: in a reminder phase, enabled, not opted out."""
    query = (
        sa.select(
            Patient.id,
            Patient.phase,
            Patient.timezone,
            Patient.phone,
            Patient.reminder_weekday,
            Patient.reminder_local_time,
            Patient.confirm_checkin_due_at,
            Clinic.id.label("clinic_id"),
            Clinic.name.label("clinic_name"),
            Clinic.timezone.label("clinic_timezone"),
            Clinic.reminder_weekday.label("clinic_weekday"),
            Clinic.reminder_local_time.label("clinic_time"),
            Clinic.quiet_start,
            Clinic.quiet_end,
            Clinic.confirm_min_days,
            Clinic.confirm_max_days,
            Clinic.instrument_schedule,
        )
        .join(Clinic, Clinic.id == Patient.clinic_id)
        .where(
            Patient.phase.in_(reminders.REMINDER_PHASES),
            Patient.reminders_enabled.is_(True),
            Patient.sms_opted_out.is_(False),
        )
        .order_by(Patient.id)
        .limit(limit)
    )
    if after is not None:
        query = query.where(Patient.id > after)
    return list(session.execute(query))


def scheduled_infusions(session: DbSession, ids: Sequence[uuid.UUID], now: datetime) -> dict[uuid.UUID, list[datetime]]:
    rows = session.execute(
        sa.select(Infusion.patient_id, Infusion.scheduled_for).where(
            Infusion.patient_id.in_(ids),
            Infusion.status == "scheduled",
            Infusion.scheduled_for.between(now - HORIZON, now + HORIZON),
        )
    )
    found: dict[uuid.UUID, list[datetime]] = {}
    for patient_id, at in rows:
        found.setdefault(patient_id, []).append(at)
    return found


def last_reminders(session: DbSession, ids: Sequence[uuid.UUID], now: datetime) -> dict[uuid.UUID, datetime]:
    """When each patient's latest reminder was queued (any status: a cancelled one still used up its day).

    Every reminder counts (outbox.REMINDER_PURPOSES), the missed-check-in nudge too: at most one such text a day.
    """
    rows = session.execute(
        sa.select(OutboundMessage.patient_id, sa.func.max(OutboundMessage.created_at))
        .where(
            OutboundMessage.patient_id.in_(ids),
            is_reminder(),
            OutboundMessage.created_at > now - REMINDER_LOOKBACK,
        )
        .group_by(OutboundMessage.patient_id)
    )
    return {patient_id: at for patient_id, at in rows if patient_id is not None}


def last_checkins(session: DbSession, ids: Sequence[uuid.UUID], now: datetime) -> dict[uuid.UUID, datetime]:
    """When each patient last checked in with a PHQ-9, within the horizon the rule looks at.

    CLINICAL.md §5: only PHQ-9 check-ins count in the reminders' cadence; a GAD-7 does not stand in for one.
    """
    return checkin_queries.latest_taken_at(ids, instrument=PHQ9.name, since=now - HORIZON)


def confirm_until(row: sa.Row[Any]) -> datetime | None:
    """CLINICAL.md §5: a pair can close until first signal + confirm_max_days; the scan set the due time at
    first signal + confirm_min_days."""
    if row.confirm_checkin_due_at is None:
        return None
    return row.confirm_checkin_due_at + timedelta(days=row.confirm_max_days - row.confirm_min_days)


def weekly_asks(rows: Sequence[sa.Row[Any]], now: datetime) -> dict[uuid.UUID, bool]:
    """CLINICAL.md §7: whether each patient's weekly slot asks for anything now. PHQ-9 weekly always does (the
    cadence of §1 and §5, unchanged; a GAD-7 due then is asked with it, in the one text); otherwise an
    instrument must be due by its interval. Latest check-ins are read only for patients whose PHQ-9 is less
    often than weekly: a clinic on the defaults costs no query."""
    asked = {
        row.id: instrument_schedule.asked_in(instrument_schedule.effective(row.instrument_schedule), row.phase)
        for row in rows
    }
    weekly = {pid: names.get(PHQ9.name) == instrument_schedule.WEEKLY for pid, names in asked.items()}
    rest = [pid for pid, names in asked.items() if names and not weekly[pid]]
    counted = {name for pid in rest for name in asked[pid]}
    taken = checkins_due.last_taken(rest, counted) if counted else {}
    found = {}
    for row in rows:
        if weekly[row.id] or not asked[row.id]:
            found[row.id] = weekly[row.id]
            continue
        zone = local_time.zone_of(row.timezone, row.clinic_timezone)
        schedule = instrument_schedule.effective(row.instrument_schedule)
        found[row.id] = bool(instrument_schedule.due_now(schedule, row.phase, taken.get(row.id, {}), now, zone))
    return found


def candidates(session: DbSession, rows: Sequence[sa.Row[Any]], now: datetime) -> list[Candidate]:
    """The batch with what the rule needs: three queries for the whole batch (more only for a schedule with
    instruments besides a weekly PHQ-9), none per patient."""
    ids = [row.id for row in rows]
    infusions = scheduled_infusions(session, ids, now)
    sent = last_reminders(session, ids, now)
    checked_in = last_checkins(session, ids, now)
    asks = weekly_asks(rows, now)
    found = []
    for row in rows:
        state = reminders.PatientState(
            patient_id=str(row.id),
            phase=row.phase,
            timezone=row.timezone,
            reminder_weekday=row.reminder_weekday,
            reminder_local_time=row.reminder_local_time,
            scheduled_infusions=tuple(infusions.get(row.id, ())),
            confirm_checkin_due_at=row.confirm_checkin_due_at,
            confirm_checkin_until=confirm_until(row),
            last_reminder_at=sent.get(row.id),
            last_checkin_at=checked_in.get(row.id),
            weekly_asks=asks[row.id],
        )
        clinic = reminders.ClinicDefaults(
            timezone=row.clinic_timezone,
            reminder_weekday=row.clinic_weekday,
            reminder_local_time=row.clinic_time,
            quiet_start=row.quiet_start,
            quiet_end=row.quiet_end,
        )
        found.append(Candidate(state, clinic, row.id, row.clinic_id, row.phone, row.clinic_name))
    return found


def queue_reminders(session: DbSession, due: Sequence[tuple[Candidate, reminders.Reminder]], now: datetime) -> set[str]:
    """Queue the batch's texts in one statement, then the links of those that went in: the dedupe keys queued.

    A key another run already took (this day's reminder is queued) keeps that run's text; this one's link is
    never stored, so its token, in a body nobody sends, opens nothing.
    """
    texts = []
    links: dict[str, CheckinLink] = {}
    for candidate, reminder in due:
        issued = checkin_links.issue(candidate.patient_id, now)
        texts.append(
            new_sms(
                candidate.phone,
                BODIES[reminder.kind].format(clinic=candidate.clinic_name, url=issued.url),
                REMINDER_PURPOSE[reminder.kind],
                patient_id=candidate.patient_id,
                clinic_id=candidate.clinic_id,
                dedupe_key=reminder.dedupe_key,
            )
        )
        links[reminder.dedupe_key] = issued.link
    queued = insert_many_once(session, texts, OutboundMessage.dedupe_key)
    if queued:
        session.execute(sa.insert(CheckinLink), [row_values(links[key]) for key in queued])
    return queued


@job("reminders", every=timedelta(minutes=5))
def send_reminders(session: DbSession, now: datetime) -> JobResult:
    """Queue the check-in reminders due now (induction mornings, weekly, confirming), one a day at most."""
    result = JobResult()
    after: uuid.UUID | None = None
    while rows := eligible(session, after, BATCH_SIZE):
        after = rows[-1].id
        due = []
        for candidate in candidates(session, rows, now):
            result.add("checked")
            reminder = reminders.due_reminder(candidate.state, candidate.clinic, now)
            if reminder is not None:
                due.append((candidate, reminder))
        if not due:
            end_read(session)
            continue
        with transaction(session):  # per batch: a failure later in the run loses nothing queued before it
            queued = queue_reminders(session, due, now)
        for candidate, reminder in due:
            if reminder.dedupe_key in queued:
                result.add(f"queued_{reminder.kind}")
            else:
                result.add("duplicates")
                log.info("reminder for patient %s already queued by another run", candidate.patient_id)
        log.info("%d reminders queued from a batch of %d patients", len(queued), len(rows))
    return result
