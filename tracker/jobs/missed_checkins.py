"""The `missed-checkins` job: hourly, nudge a patient whose weekly check-in is overdue, then tell the clinic.

Between visits nobody watches the numbers but the relapse scan, and it has nothing to judge without check-ins.
A maintenance or as-needed patient checks in weekly (CLINICAL.md §1); past a week plus the clinic's
``missed_checkin_grace_days`` they get one text with a one-time check-in link, and past the clinic's
``missed_checkin_alert_days`` (default 21) the clinic gets an attention alert.

Once per gap, not per run: the gap is named by what it runs from (the last PHQ-9 check-in, else the patient's
entry into the weekly cadence), and the text and the alert carry that name as their dedupe key, unique in the
outbox and in the alerts. Two schedulers at once: the loser's insert fails in a SAVEPOINT and is skipped.

Services write through db.session, so ``session`` is the app's scoped session. Logs name patients by id only.
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
from tracker.db import insert_once
from tracker.instruments import PHQ9
from tracker.jobs.registry import DbSession, JobResult, job
from tracker.models import Alert, Clinic, OutboundMessage, Patient, PhaseChange
from tracker.services.alerts import writes as alerts
from tracker.services.checkins import links as checkin_links
from tracker.services.checkins import queries as checkin_queries
from tracker.services.messaging import texts as messages
from tracker.services.messaging.outbox import MISSED_CHECKIN_NUDGE_PURPOSE, is_reminder, new_sms
from tracker.unit_of_work import end_read, transaction

log = logging.getLogger(__name__)

JOB_EVERY = timedelta(hours=1)
BATCH_SIZE = 200
# CLINICAL.md §1: weekly check-ins in maintenance and as needed. Induction patients get no nudge: they see the
# clinic every other day and are reminded the morning of each visit (tracker/reminders.py), so a missed visit,
# not a missed text, is what the clinic notices. Screening and discharged patients have no cadence to miss.
CADENCE_PHASES = ("maintenance", "as_needed")
CADENCE = timedelta(days=7)
# A text the patient got this recently (a weekly reminder, say) is nudge enough for now.
RECENT_REMINDER = timedelta(hours=24)


@dataclass(frozen=True)
class Gap:
    """The stretch without a check-in: what it runs from and since when."""

    patient_id: uuid.UUID
    anchor: str  # "checkin:<id>", "phase:<phase change id>" or "enrolment"
    since: datetime

    @property
    def nudge_key(self) -> str:
        return f"missed-checkin:{self.patient_id}:{self.anchor}"

    @property
    def alert_key(self) -> str:
        return f"missed-checkin-alert:{self.patient_id}:{self.anchor}"


def gap_of(
    patient_id: uuid.UUID,
    last_checkin: tuple[uuid.UUID, datetime] | None,
    cadence_start: tuple[uuid.UUID, datetime] | None,
    enrolled_at: datetime,
) -> Gap:
    """The gap runs from the later of the last check-in and the entry into the weekly cadence.

    A patient back from discharge, or just out of induction without a recent check-in, owes one a week from
    the day the cadence began, not from a check-in taken before it. With no phase history, enrolment stands in.
    """
    if cadence_start is not None:
        start: tuple[str, datetime] = (f"phase:{cadence_start[0]}", cadence_start[1])
    else:
        start = ("enrolment", enrolled_at)
    if last_checkin is not None and last_checkin[1] >= start[1]:
        return Gap(patient_id, f"checkin:{last_checkin[0]}", last_checkin[1])
    return Gap(patient_id, start[0], start[1])


def nudge_due(gap: Gap, now: datetime, grace_days: int) -> bool:
    return now >= gap.since + CADENCE + timedelta(days=grace_days)


def alert_due(gap: Gap, now: datetime, alert_days: int) -> bool:
    return now >= gap.since + timedelta(days=alert_days)


def eligible(session: DbSession, after: uuid.UUID | None, limit: int) -> list[sa.Row[Any]]:
    """The next batch of patients with a weekly cadence, with their clinic's settings."""
    query = (
        sa.select(
            Patient.id,
            Patient.timezone,
            Patient.phone,
            Patient.sms_opted_out,
            Patient.reminders_enabled,
            Patient.created_at,
            Clinic.id.label("clinic_id"),
            Clinic.name.label("clinic_name"),
            Clinic.timezone.label("clinic_timezone"),
            Clinic.quiet_start,
            Clinic.quiet_end,
            Clinic.missed_checkin_grace_days,
            Clinic.missed_checkin_alert_days,
        )
        .join(Clinic, Clinic.id == Patient.clinic_id)
        .where(Patient.phase.in_(CADENCE_PHASES))
        .order_by(Patient.id)
        .limit(limit)
    )
    if after is not None:
        query = query.where(Patient.id > after)
    return list(session.execute(query))


def last_checkins(session: DbSession, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, tuple[uuid.UUID, datetime]]:
    """Each patient's latest PHQ-9 (its id names the gap); other instruments feed no relapse watch (§5)."""
    return {pid: (row.id, row.taken_at) for pid, row in checkin_queries.latest_checkins(ids, PHQ9.name).items()}


def cadence_starts(session: DbSession, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, tuple[uuid.UUID, datetime]]:
    """When each patient last entered the weekly cadence: a phase change into it from outside it."""
    rows = session.execute(
        sa.select(PhaseChange.patient_id, PhaseChange.id, PhaseChange.changed_at).where(
            PhaseChange.patient_id.in_(ids),
            PhaseChange.to_phase.in_(CADENCE_PHASES),
            sa.or_(PhaseChange.from_phase.is_(None), PhaseChange.from_phase.not_in(CADENCE_PHASES)),
        )
    )
    found: dict[uuid.UUID, tuple[uuid.UUID, datetime]] = {}
    for patient_id, change_id, changed_at in rows:
        if patient_id not in found or (changed_at, str(change_id)) > (found[patient_id][1], str(found[patient_id][0])):
            found[patient_id] = (change_id, changed_at)
    return found


def existing_keys(session: DbSession, nudge_keys: Sequence[str], alert_keys: Sequence[str]) -> set[str]:
    """The gaps' texts and alerts already made: most runs find every key here and write nothing."""
    texts = session.scalars(sa.select(OutboundMessage.dedupe_key).where(OutboundMessage.dedupe_key.in_(nudge_keys)))
    raised = session.scalars(sa.select(Alert.dedupe_key).where(Alert.dedupe_key.in_(alert_keys)))
    return {key for key in [*texts, *raised] if key is not None}


def recently_reminded(session: DbSession, ids: Sequence[uuid.UUID], now: datetime) -> set[uuid.UUID]:
    rows = session.scalars(
        sa.select(OutboundMessage.patient_id).where(
            OutboundMessage.patient_id.in_(ids),
            is_reminder(),
            OutboundMessage.created_at > now - RECENT_REMINDER,
        )
    )
    return {patient_id for patient_id in rows if patient_id is not None}


def nudge_hold(row: sa.Row[Any], now: datetime, reminded: bool) -> str | None:
    """Why the nudge may not go now (the alert goes regardless), or None."""
    if row.sms_opted_out or not row.reminders_enabled:
        return "not_texted_opted_out"  # never to a patient who said no to texts or reminders
    zone = local_time.zone_of(row.timezone, row.clinic_timezone)
    if reminders.in_quiet_hours(now.astimezone(zone).time(), row.quiet_start, row.quiet_end):
        return "nudge_after_quiet_hours"  # a later hourly run sends it
    if reminded:
        return "nudge_after_recent_reminder"
    return None


def queue_nudge(session: DbSession, row: sa.Row[Any], gap: Gap, now: datetime) -> bool:
    """The text and its one-time link in a SAVEPOINT; False when another run queued this gap's first."""
    issued = checkin_links.issue(row.id, now)
    text = new_sms(
        row.phone,
        messages.MISSED_CHECKIN_NUDGE.format(clinic=row.clinic_name, url=issued.url),
        MISSED_CHECKIN_NUDGE_PURPOSE,  # one of the reminders: a reply may start an SMS check-in
        patient_id=row.id,
        clinic_id=row.clinic_id,
        dedupe_key=gap.nudge_key,
    )
    return insert_once(session, issued.link, text)  # on False, the link went with the SAVEPOINT


def alert_reason(gap: Gap, row: sa.Row[Any], now: datetime) -> str:
    days = (now - gap.since).days
    reason = f"No check-in for {days} days (the clinic's limit is {row.missed_checkin_alert_days})."
    if row.sms_opted_out:
        reason += " The patient has opted out of texts: please reach them another way."
    return reason


def handle(session: DbSession, row: sa.Row[Any], gap: Gap, now: datetime, done: set[str], reminded: bool) -> list[str]:
    """One patient's text and alert, in the caller's transaction; returns what happened, for the counts."""
    outcomes = []
    if nudge_due(gap, now, row.missed_checkin_grace_days) and gap.nudge_key not in done:
        hold = nudge_hold(row, now, reminded)
        if hold is not None:
            outcomes.append(hold)
        elif queue_nudge(session, row, gap, now):
            outcomes.append("nudged")
            log.info("missed check-in: patient %s nudged", row.id)
        else:
            outcomes.append("duplicates")
    if alert_due(gap, now, row.missed_checkin_alert_days) and gap.alert_key not in done:
        patient = session.get(Patient, row.id)
        assert patient is not None  # read in this run; patients are never deleted by jobs
        # Race-safe by the dedupe key: a concurrent run's alert is returned, not doubled.
        alerts.open_attention_alert(
            patient, alert_reason(gap, row, now), cause="missed_checkin", dedupe_key=gap.alert_key
        )
        outcomes.append("alerted")
        log.info("missed check-in: patient %s, clinic alerted", row.id)
    return outcomes


@job("missed-checkins", every=JOB_EVERY)
def missed_checkins(session: DbSession, now: datetime) -> JobResult:
    """Nudge patients past their weekly check-in, and alert the clinic after its limit; once per gap."""
    result = JobResult()
    after: uuid.UUID | None = None
    while rows := eligible(session, after, BATCH_SIZE):
        after = rows[-1].id
        ids = [row.id for row in rows]
        checkins, starts = last_checkins(session, ids), cadence_starts(session, ids)
        gaps = {row.id: gap_of(row.id, checkins.get(row.id), starts.get(row.id), row.created_at) for row in rows}
        done = existing_keys(
            session, [gap.nudge_key for gap in gaps.values()], [gap.alert_key for gap in gaps.values()]
        )
        reminded = recently_reminded(session, ids, now)
        end_read(session)
        for row in rows:
            result.add("checked")
            try:
                with transaction(session):  # per patient: a failure later in the run loses nothing queued here
                    outcomes = handle(session, row, gaps[row.id], now, done, row.id in reminded)
            except Exception as error:
                log.error("missed check-in: patient %s failed (%s)", row.id, type(error).__name__)
                result.add("errors")
                continue
            for what in outcomes:
                result.add(what)
    return result
