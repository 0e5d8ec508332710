"""When a patient's check-in reminder is due: the cadence of CLINICAL.md §1 and §5, in the patient's own zone. Pure.

Kinds, one phase each (CLINICAL.md §1):
- ``induction_morning``: the morning of each scheduled infusion, while the patient is in induction;
- ``weekly``: on the patient's day and time (or the clinic's) in maintenance and as-needed;
- ``confirming``: after a first relapse signal, when ``confirm_checkin_due_at`` falls (CLINICAL.md §5).

Every time is reckoned on the patient's local wall clock with zoneinfo, so a 10:00 reminder stays at 10:00
across daylight-saving changes. A due time inside quiet hours moves to their end. At most one reminder is sent
per local day, and a reminder the scheduler missed is sent later the same local day (outside quiet hours),
never the next: a day-old nudge is noise, and the next one is never more than a week away.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from tracker.local_time import zone_of

# A weekly slot this close before midnight may fall between two runs of the job (every 5 minutes): the first
# run of the next day still sends it, rather than the week passing without one.
LATE_SLOT_GRACE = timedelta(minutes=30)

INDUCTION_MORNING = "induction_morning"
WEEKLY = "weekly"
CONFIRMING = "confirming"
KINDS = (INDUCTION_MORNING, WEEKLY, CONFIRMING)

# Screening patients get none: they are not in the course yet (CLINICAL.md §1 gives cadences only for induction
# and maintenance), may never be accepted for treatment, and their baseline (§4) is taken at the intake visit.
# Once the clinic moves them to induction, the morning-of reminders take the last PHQ-9 before the first infusion.
# Discharged patients get none: they have left the course.
REMINDER_PHASES = ("induction", "maintenance", "as_needed")
# CLINICAL.md §5: the relapse rule, and so the confirming check-in, applies only past induction.
POST_INDUCTION_PHASES = ("maintenance", "as_needed")
# "The morning of" an infusion: 08:00 local, later if quiet hours last longer. The reminder is sent only before
# the infusion starts: afterwards the patient is observed and should make no decisions until after a night's
# sleep (CLINICAL.md §1), and answers given under the drug's effect would not describe the weeks before it.
INDUCTION_MORNING_TIME = time(8, 0)


@dataclass(frozen=True)
class ClinicDefaults:
    """The clinic's settings a patient falls back on; quiet_start == quiet_end means no quiet hours."""

    timezone: str
    reminder_weekday: int  # Monday = 0
    reminder_local_time: time
    quiet_start: time = time(21, 0)
    quiet_end: time = time(8, 0)


@dataclass(frozen=True)
class PatientState:
    """What the rule needs to know about one patient; every datetime is aware (UTC or any zone)."""

    patient_id: str
    phase: str
    timezone: str
    reminders_enabled: bool = True
    sms_opted_out: bool = False
    reminder_weekday: int | None = None  # None: the clinic's
    reminder_local_time: time | None = None  # None: the clinic's
    scheduled_infusions: tuple[datetime, ...] = ()
    confirm_checkin_due_at: datetime | None = None
    # CLINICAL.md §5: until when a confirming check-in can still close a pair (first signal + confirm_max_days).
    confirm_checkin_until: datetime | None = None
    last_reminder_at: datetime | None = None
    last_checkin_at: datetime | None = None
    # CLINICAL.md §7: whether this week's slot asks for anything on the clinic's schedule (PHQ-9 weekly, or an
    # instrument due by its own interval). False skips the weekly reminder; one text asks for all that are due.
    weekly_asks: bool = True


@dataclass(frozen=True)
class Reminder:
    kind: str
    due_at: datetime  # the moment asked for (UTC), before quiet hours moved it
    send_at: datetime  # the first moment it may go (UTC)
    local_date: date  # the patient's day it belongs to: one a day
    dedupe_key: str


@dataclass(frozen=True)
class _Candidate:
    kind: str
    due_at: datetime
    send_at: datetime
    answered_since: datetime  # a check-in at or after this makes the reminder needless
    deadline: datetime | None = None  # not sent at or after this


def dedupe_key(patient_id: str, local_day: date) -> str:
    """One reminder per patient per local day; the outbox's unique index holds it across schedulers."""
    return f"reminder:{patient_id}:{local_day.isoformat()}"


def local_instant(day: date, at: time, zone: tzinfo) -> datetime:
    """The UTC instant of a local wall time, chosen deliberately where the wall clock jumps.

    In a gap (spring forward: 02:30 does not exist in New York on 2026-03-08) it is the first instant after it,
    the moment the clocks jump (03:00 EDT). In a fold (fall back: 01:30 happens twice) it is the first of the two.
    """
    wall = datetime.combine(day, at.replace(tzinfo=None))
    first = wall.replace(tzinfo=zone, fold=0)
    if first.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == wall:
        return first.astimezone(UTC)  # it exists; fold=0 is the earlier one when it exists twice
    # A gap: fold=1 reads the wall time with the offset after the jump, fold=0 with the one before, so the
    # jump lies between the two readings. Find it to the second (the gap is an hour or so: ~12 steps).
    low = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
    high = first.astimezone(UTC)
    low, high = min(low, high), max(low, high)
    before = low.astimezone(zone).utcoffset()
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) / 2
        if middle.astimezone(zone).utcoffset() == before:
            low = middle
        else:
            high = middle
    return high


def in_quiet_hours(at: time, start: time, end: time) -> bool:
    """Whether a local wall time lies in [start, end), which may run past midnight; start == end: never."""
    at, start, end = at.replace(tzinfo=None), start.replace(tzinfo=None), end.replace(tzinfo=None)
    if start == end:
        return False
    if start < end:
        return start <= at < end
    return at >= start or at < end


def out_of_quiet_hours(moment: datetime, zone: tzinfo, start: time, end: time) -> datetime:
    """The moment itself, or the end of the quiet hours it falls in (the next morning for a late evening)."""
    local = moment.astimezone(zone)
    if not in_quiet_hours(local.time(), start, end):
        return moment.astimezone(UTC)
    evening = start > end and local.time() >= start.replace(tzinfo=None)
    return local_instant(local.date() + timedelta(days=1 if evening else 0), end, zone)


def due_reminder(patient: PatientState, clinic: ClinicDefaults, now: datetime) -> Reminder | None:
    """The reminder to send this patient now, or None.

    Call it as often as you like (the job does every 5 minutes): it answers at most once per local day,
    provided ``last_reminder_at`` reports what was sent.
    """
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    if patient.phase not in REMINDER_PHASES or not patient.reminders_enabled or patient.sms_opted_out:
        return None
    zone = zone_of(patient.timezone, clinic.timezone)
    local_now = now.astimezone(zone)
    today = local_now.date()
    if in_quiet_hours(local_now.time(), clinic.quiet_start, clinic.quiet_end):
        return None
    if patient.last_reminder_at is not None and patient.last_reminder_at.astimezone(zone).date() == today:
        return None  # at most one a day
    candidate = _todays_candidate(patient, clinic, zone, today)
    if candidate is None or now < candidate.send_at:
        return None
    if candidate.deadline is not None and now >= candidate.deadline:
        return None
    if patient.last_checkin_at is not None and patient.last_checkin_at >= candidate.answered_since:
        return None  # they have checked in already: no need to nag
    return Reminder(
        kind=candidate.kind,
        due_at=candidate.due_at,
        send_at=candidate.send_at,
        local_date=today,
        dedupe_key=dedupe_key(patient.patient_id, today),
    )


def _todays_candidate(patient: PatientState, clinic: ClinicDefaults, zone: tzinfo, today: date) -> _Candidate | None:
    """The one reminder that belongs to this local day, sent yet or not."""
    quiet = (clinic.quiet_start, clinic.quiet_end)

    def shifted(due: datetime) -> datetime:
        return out_of_quiet_hours(due, zone, *quiet)

    def on_today(moment: datetime) -> bool:
        return moment.astimezone(zone).date() == today

    start_of_today = local_instant(today, time(0), zone)
    if patient.phase in POST_INDUCTION_PHASES and patient.confirm_checkin_due_at is not None:
        # CLINICAL.md §5: asked no sooner than confirm_min_days after the first signal (the scan sets the time),
        # so only a check-in after it can confirm. On its day it replaces the weekly one: both ask for the same
        # check-in, and only this one comes late enough to pair with the signal.
        due = patient.confirm_checkin_due_at.astimezone(UTC)
        until = patient.confirm_checkin_until
        if on_today(shifted(due)):
            return _Candidate(CONFIRMING, due, shifted(due), answered_since=due, deadline=until)
        asked = patient.last_reminder_at is not None and patient.last_reminder_at >= due
        if shifted(due) < start_of_today and until is not None and until > shifted(start_of_today) and not asked:
            # CLINICAL.md §5: its moment passed unasked (a back-dated entry, a scheduler that was down): asked at
            # the next allowed time, today's first moment outside quiet hours, while a pair can still close.
            return _Candidate(CONFIRMING, due, shifted(start_of_today), answered_since=due, deadline=until)
    if patient.phase == "induction":
        # CLINICAL.md §1: induction is 2–3 infusions a week; a check-in the morning of each.
        infusions = sorted(at.astimezone(UTC) for at in patient.scheduled_infusions if on_today(at))
        due = local_instant(today, INDUCTION_MORNING_TIME, zone)
        for infusion in infusions:
            if shifted(due) < infusion:
                return _Candidate(INDUCTION_MORNING, due, shifted(due), start_of_today, deadline=infusion)
        return None

    if not patient.weekly_asks:
        return None
    weekday = clinic.reminder_weekday if patient.reminder_weekday is None else patient.reminder_weekday
    at = patient.reminder_local_time or clinic.reminder_local_time
    # Yesterday's slot counts too: a late-evening time moves past midnight, to the end of quiet hours; and
    # one in yesterday's last minutes that no run reached before midnight is sent by the first run today.
    for day in (today - timedelta(days=1), today):
        if day.weekday() != weekday:
            continue
        due = local_instant(day, at, zone)
        send_at = shifted(due)
        missed_at_midnight = (
            day < today
            and start_of_today - LATE_SLOT_GRACE <= send_at < start_of_today
            and (patient.last_reminder_at is None or patient.last_reminder_at < due)
        )
        if on_today(send_at) or missed_at_midnight:
            # A check-in any time on the slot's own day counts as this week's: hours later, a nudge only nags.
            return _Candidate(WEEKLY, due, send_at, answered_since=local_instant(day, time(0), zone))
    return None
