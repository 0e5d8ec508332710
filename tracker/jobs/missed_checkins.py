"""The `missed-checkins` job: hourly, nudge a patient whose weekly check-in is overdue, then tell the clinic.

Between visits nobody watches the numbers but the relapse scan, and it has nothing to judge without check-ins.
A maintenance or as-needed patient checks in weekly (CLINICAL.md §1); past a week plus the clinic's
``missed_checkin_grace_days`` they get one text with a one-time check-in link, and past the clinic's
``missed_checkin_alert_days`` (default 21) the clinic gets an attention alert.

Per instrument on the clinic's schedule (CLINICAL.md §7): each instrument asked in the patient's phase has its
own gap, reckoned with its own interval (PHQ-9 weekly by default, GAD-7 every 4 weeks, say), and its alert names
it. A patient behind on two gets one nudge a run (its link's page asks all that are due); the next waits a day.

Once per gap, not per run: the gap is named by what it runs from (the instrument's last check-in, else the
patient's entry into the cadence), and the text and the alert carry that name as their dedupe key, unique in the
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
from tracker.db import insert_many_once, insert_once, row_values
from tracker.instruments import INSTRUMENTS, PHQ9
from tracker.instruments import schedule as instrument_schedule
from tracker.jobs.registry import DbSession, JobResult, job
from tracker.models import Alert, CheckinLink, Clinic, OutboundMessage, Patient, PhaseChange
from tracker.services.alerts import writes as alerts
from tracker.services.checkins import links as checkin_links
from tracker.services.checkins import queries as checkin_queries
from tracker.services.messaging import texts as messages
from tracker.services.messaging.outbox import MISSED_CHECKIN_NUDGE_PURPOSE, is_reminder, new_sms
from tracker.unit_of_work import end_read, transaction

log = logging.getLogger(__name__)

JOB_EVERY = timedelta(hours=1)
BATCH_SIZE = 1000
# CLINICAL.md §1: weekly check-ins in maintenance and as needed. Induction patients get no nudge: they see the
# clinic every other day and are reminded the morning of each visit (tracker/reminders.py), so a missed visit,
# not a missed text, is what the clinic notices. Screening and discharged patients have no cadence to miss.
CADENCE_PHASES = ("maintenance", "as_needed")
CADENCE = timedelta(days=7)
# A text the patient got this recently (a weekly reminder, say) is nudge enough for now.
RECENT_REMINDER = timedelta(hours=24)


@dataclass(frozen=True)
class Gap:
    """The stretch without a check-in of one instrument: what it runs from and since when."""

    patient_id: uuid.UUID
    anchor: str  # "checkin:<id>", "phase:<phase change id>" or "enrolment"
    since: datetime
    instrument: str = PHQ9.name
    interval_days: int = 7

    @property
    def _scope(self) -> str:
        # PHQ-9's keys are as they always were, so a gap named before schedules is still the same gap.
        return str(self.patient_id) if self.instrument == PHQ9.name else f"{self.instrument}:{self.patient_id}"

    @property
    def nudge_key(self) -> str:
        return f"missed-checkin:{self._scope}:{self.anchor}"

    @property
    def alert_key(self) -> str:
        return f"missed-checkin-alert:{self._scope}:{self.anchor}"


def gap_of(
    patient_id: uuid.UUID,
    last_checkin: tuple[uuid.UUID, datetime] | None,
    cadence_start: tuple[uuid.UUID, datetime] | None,
    enrolled_at: datetime,
    instrument: str = PHQ9.name,
    interval_days: int = 7,
    switched_on: datetime | None = None,
) -> Gap:
    """The gap runs from the latest of the last check-in, the entry into the weekly cadence and the moment the
    clinic switched the instrument on in the phase (CLINICAL.md §7).

    A patient back from discharge, or just out of induction without a recent check-in, owes one a week from
    the day the cadence began, not from a check-in taken before it. With no phase history, enrolment stands in.
    An instrument the clinic has just begun asking is owed an interval after it began, not since enrolment.
    """
    if cadence_start is not None:
        start: tuple[str, datetime] = (f"phase:{cadence_start[0]}", cadence_start[1])
    else:
        start = ("enrolment", enrolled_at)
    if switched_on is not None and switched_on > start[1]:
        start = (f"on:{switched_on.isoformat()}", switched_on)
    if last_checkin is not None and last_checkin[1] >= start[1]:
        return Gap(patient_id, f"checkin:{last_checkin[0]}", last_checkin[1], instrument, interval_days)
    return Gap(patient_id, start[0], start[1], instrument, interval_days)


def nudge_due(gap: Gap, now: datetime, grace_days: int) -> bool:
    return now >= gap.since + timedelta(days=gap.interval_days + grace_days)


def alert_days_of(gap: Gap, alert_days: int) -> int:
    """The clinic's limit is set for a weekly check-in; a longer interval adds its extra length, so a monthly
    GAD-7 is not alerted before it was even due."""
    return alert_days + max(gap.interval_days - CADENCE.days, 0)


def alert_due(gap: Gap, now: datetime, alert_days: int) -> bool:
    return now >= gap.since + timedelta(days=alert_days_of(gap, alert_days))


def gaps_of(
    row: sa.Row[Any],
    checkins: dict[str, dict[uuid.UUID, tuple[uuid.UUID, datetime]]],
    start: tuple[uuid.UUID, datetime] | None,
) -> list[Gap]:
    """CLINICAL.md §7: one gap per instrument the patient's phase asks, PHQ-9 first."""
    schedule = instrument_schedule.effective(row.instrument_schedule)
    found = []
    for name, interval in instrument_schedule.asked_in(schedule, row.phase).items():
        days = instrument_schedule.INTERVAL_DAYS[interval]
        assert days is not None  # asked_in leaves out what is off
        last = checkins.get(name, {}).get(row.id)
        on = instrument_schedule.switched_on(row.instrument_schedule, row.phase, name)
        found.append(gap_of(row.id, last, start, row.created_at, name, days, on))
    return found


def asked_names(row: sa.Row[Any]) -> list[str]:
    return list(instrument_schedule.asked_in(instrument_schedule.effective(row.instrument_schedule), row.phase))


def eligible(session: DbSession, after: uuid.UUID | None, limit: int) -> list[sa.Row[Any]]:
    """The next batch of patients with a weekly cadence, with their clinic's settings."""
    query = (
        sa.select(
            Patient.id,
            Patient.phase,
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
            Clinic.instrument_schedule,
        )
        .join(Clinic, Clinic.id == Patient.clinic_id)
        .where(Patient.phase.in_(CADENCE_PHASES))
        .order_by(Patient.id)
        .limit(limit)
    )
    if after is not None:
        query = query.where(Patient.id > after)
    return list(session.execute(query))


def last_checkins(
    session: DbSession, ids: Sequence[uuid.UUID], instrument: str = PHQ9.name
) -> dict[uuid.UUID, tuple[uuid.UUID, datetime]]:
    """Each patient's latest check-in of the instrument (its id names the gap): a GAD-7 never fills a PHQ-9's
    gap, nor the reverse (§5, §7)."""
    return {pid: (row.id, row.taken_at) for pid, row in checkin_queries.latest_checkins(ids, instrument).items()}


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
    limit = alert_days_of(gap, row.missed_checkin_alert_days)
    title = INSTRUMENTS[gap.instrument].title
    reason = f"No {title} check-in for {days} days (the clinic's limit is {limit})."
    if row.sms_opted_out:
        reason += " The patient has opted out of texts: please reach them another way."
    return reason


def handle(session: DbSession, row: sa.Row[Any], gap: Gap, now: datetime, done: set[str], reminded: bool) -> list[str]:
    """One gap's text and alert, in the caller's transaction; returns what happened, for the counts."""
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


def plan(
    rows: Sequence[sa.Row[Any]],
    gaps: dict[uuid.UUID, list[Gap]],
    now: datetime,
    done: set[str],
    reminded: set[uuid.UUID],
) -> tuple[list[tuple[sa.Row[Any], Gap]], list[tuple[sa.Row[Any], Gap]], list[tuple[uuid.UUID, str]]]:
    """What the batch owes: the nudges to queue, the alerts to open, and each held nudge's patient and why. Pure.

    One nudge a patient a run, whatever number of instruments they are behind on: the next gap's waits a day.
    """
    nudges: list[tuple[sa.Row[Any], Gap]] = []
    alerts_due: list[tuple[sa.Row[Any], Gap]] = []
    holds: list[tuple[uuid.UUID, str]] = []
    for row in rows:
        texted = row.id in reminded
        for gap in gaps[row.id]:
            if nudge_due(gap, now, row.missed_checkin_grace_days) and gap.nudge_key not in done:
                hold = nudge_hold(row, now, texted)
                if hold is None:
                    nudges.append((row, gap))
                    texted = True
                else:
                    holds.append((row.id, hold))
            if alert_due(gap, now, row.missed_checkin_alert_days) and gap.alert_key not in done:
                alerts_due.append((row, gap))
    return nudges, alerts_due, holds


def write_batch(
    session: DbSession,
    nudges: Sequence[tuple[sa.Row[Any], Gap]],
    alerts_due: Sequence[tuple[sa.Row[Any], Gap]],
    now: datetime,
    result: JobResult,
) -> None:
    """The batch's texts, their links and its alerts in three inserts, in the caller's unit of work.

    Each insert skips a dedupe key another scheduler took first (counted as a duplicate, not an error); a text
    that did not go in leaves no link behind.
    """
    texts: list[OutboundMessage] = []
    links: dict[str, CheckinLink] = {}
    for row, gap in nudges:
        issued = checkin_links.issue(row.id, now)
        texts.append(
            new_sms(
                row.phone,
                messages.MISSED_CHECKIN_NUDGE.format(clinic=row.clinic_name, url=issued.url),
                MISSED_CHECKIN_NUDGE_PURPOSE,  # one of the reminders: a reply may start an SMS check-in
                patient_id=row.id,
                clinic_id=row.clinic_id,
                dedupe_key=gap.nudge_key,
            )
        )
        links[gap.nudge_key] = issued.link
    queued = insert_many_once(session, texts, OutboundMessage.dedupe_key)
    if queued:
        session.execute(sa.insert(CheckinLink), [row_values(links[key]) for key in queued])
    opened = insert_many_once(
        session,
        [
            alerts.new_attention_alert(
                row.id, row.clinic_id, alert_reason(gap, row, now), cause="missed_checkin", dedupe_key=gap.alert_key
            )
            for row, gap in alerts_due
        ],
        Alert.dedupe_key,
    )
    for row, gap in nudges:
        if gap.nudge_key in queued:
            result.add("nudged")
            log.info("missed check-in: patient %s nudged", row.id)
        else:
            result.add("duplicates")
    for row, gap in alerts_due:
        if gap.alert_key in opened:
            result.add("alerted")
            log.info("missed check-in: patient %s, clinic alerted", row.id)
        else:
            result.add("duplicates")


def one_by_one(
    session: DbSession,
    rows: Sequence[sa.Row[Any]],
    gaps: dict[uuid.UUID, list[Gap]],
    now: datetime,
    done: set[str],
    reminded: set[uuid.UUID],
    result: JobResult,
) -> None:
    """After a batch's writes failed together: each patient in a unit of work of its own, so one costs no other."""
    for row in rows:
        try:
            with transaction(session):
                outcomes: list[str] = []
                texted = row.id in reminded
                for gap in gaps[row.id]:
                    found = handle(session, row, gap, now, done, texted)
                    texted = texted or "nudged" in found  # one nudge a run, as plan()
                    outcomes += found
        except Exception as error:
            log.error("missed check-in: patient %s failed (%s)", row.id, type(error).__name__)
            result.add("errors")
            continue
        for what in outcomes:
            result.add(what)


@job("missed-checkins", every=JOB_EVERY)
def missed_checkins(session: DbSession, now: datetime) -> JobResult:
    """Nudge patients past their weekly check-in, and alert the clinic after its limit; once per gap.

    Set-based, as the reminders job: a batch of patients costs a handful of reads and, when it owes anything,
    three inserts and one commit, however many it nudges.
    """
    result = JobResult()
    after: uuid.UUID | None = None
    while rows := eligible(session, after, BATCH_SIZE):
        after = rows[-1].id
        ids = [row.id for row in rows]
        # CLINICAL.md §7: a gap per instrument the patient's phase asks; a query per instrument, not per patient.
        asked = sorted({name for row in rows for name in asked_names(row)})
        checkins = {name: last_checkins(session, ids, name) for name in asked}
        starts = cadence_starts(session, ids)
        gaps = {row.id: gaps_of(row, checkins, starts.get(row.id)) for row in rows}
        every = [gap for found in gaps.values() for gap in found]
        done = existing_keys(session, [gap.nudge_key for gap in every], [gap.alert_key for gap in every])
        reminded = recently_reminded(session, ids, now)
        end_read(session)
        result.add("checked", len(rows))
        nudges, alerts_due, holds = plan(rows, gaps, now, done, reminded)
        owing = {row.id for row, _gap in [*nudges, *alerts_due]}
        for patient_id, hold in holds:
            if patient_id not in owing:  # an owing patient's hold is counted with the rest of its outcomes
                result.add(hold)
        if not owing:
            continue
        written = JobResult()
        try:
            with transaction(session):  # per batch: a failure later in the run loses nothing written before it
                write_batch(session, nudges, alerts_due, now, written)
        except Exception as error:
            log.warning("missed check-in: a batch's writes failed (%s); one patient at a time", type(error).__name__)
            one_by_one(session, [row for row in rows if row.id in owing], gaps, now, done, reminded, result)
            continue
        for patient_id, hold in holds:
            if patient_id in owing:
                result.add(hold)
        for name, count in written.counts.items():
            result.add(name, count)
    return result
