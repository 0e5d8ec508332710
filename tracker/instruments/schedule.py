"""Which instruments a clinic asks in each phase, how often, and when one is due (CLINICAL.md §7, fourth bullet).

A schedule maps phase -> instrument -> interval. PHQ-9 is asked in every active phase and can never be turned
off: the relapse rule reads only PHQ-9 check-ins (CLINICAL.md §5). Other instruments (GAD-7) are off unless the
clinic asks for them. Pure: no Flask, no database.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from types import MappingProxyType

from tracker.instruments.base import FieldError
from tracker.local_time import in_zone

# The phases with a check-in cadence (screening and discharged patients are asked nothing: tracker/reminders.py).
PHASES = ("induction", "maintenance", "as_needed")
INSTRUMENT_NAMES = ("phq9", "gad7")
RELAPSE_INSTRUMENT = "phq9"

WEEKLY = "weekly"
EVERY_2_WEEKS = "every_2_weeks"
MONTHLY = "monthly"
OFF = "off"
# Days between check-ins. "Monthly" is every 4 weeks, so it falls on the patient's weekly reminder day.
INTERVAL_DAYS: Mapping[str, int | None] = MappingProxyType({WEEKLY: 7, EVERY_2_WEEKS: 14, MONTHLY: 28, OFF: None})
INTERVALS = tuple(INTERVAL_DAYS)
INTERVAL_WORDS: Mapping[str, str] = MappingProxyType(
    {WEEKLY: "weekly", EVERY_2_WEEKS: "every 2 weeks", MONTHLY: "every 4 weeks", OFF: "off"}
)
# A check-in taken a few days late still counts for its slot: the next one is due this many days before its
# full interval has passed, so it lands on the same weekly reminder day rather than a week later.
EARLY_DAYS = 3

# CLINICAL.md §5: the relapse rule reads only PHQ-9 check-ins (the message a person reads names no document).
PHQ9_REQUIRED = "PHQ-9 cannot be turned off in an active phase: the relapse rule reads only PHQ-9 check-ins"

Schedule = Mapping[str, Mapping[str, str]]

# CLINICAL.md §7: PHQ-9 weekly in every phase; another instrument only when the clinic asks for it.
DEFAULT: Schedule = MappingProxyType({phase: MappingProxyType({"phq9": WEEKLY, "gad7": OFF}) for phase in PHASES})


def effective(stored: Mapping[str, object] | None) -> dict[str, dict[str, str]]:
    """The schedule a clinic follows: what it stored over the defaults; unreadable stored values read as the
    default (a bad row never disarms PHQ-9)."""
    found = {phase: dict(DEFAULT[phase]) for phase in PHASES}
    for phase, asked in (stored or {}).items():
        if phase not in found or not isinstance(asked, Mapping):
            continue
        for name, interval in asked.items():
            if name in found[phase] and interval in INTERVAL_DAYS:
                found[phase][name] = interval
    for phase in PHASES:
        if found[phase][RELAPSE_INSTRUMENT] == OFF:
            found[phase][RELAPSE_INSTRUMENT] = WEEKLY
    return found


def check(changes: object, field: str = "instrument_schedule") -> tuple[dict[str, dict[str, str]], list[FieldError]]:
    """Parse a (partial) schedule: {phase: {instrument: interval}}; every problem named by its path."""
    if not isinstance(changes, Mapping):
        return {}, [FieldError(field, "give an object of phases, each an object of instrument: interval")]
    values: dict[str, dict[str, str]] = {}
    problems: list[FieldError] = []
    for phase, asked in changes.items():
        where = f"{field}.{phase}"
        if phase not in PHASES:
            problems.append(FieldError(where, f"not a phase with check-ins; use {', '.join(PHASES)}"))
            continue
        if not isinstance(asked, Mapping):
            problems.append(FieldError(where, "give an object of instrument: interval"))
            continue
        for name, interval in asked.items():
            spot = f"{where}.{name}"
            if name not in INSTRUMENT_NAMES:
                problems.append(FieldError(spot, f"unknown instrument; use {' or '.join(INSTRUMENT_NAMES)}"))
            elif interval not in INTERVAL_DAYS:
                problems.append(FieldError(spot, f"use one of {', '.join(INTERVALS)}"))
            elif name == RELAPSE_INSTRUMENT and interval == OFF:
                problems.append(FieldError(spot, PHQ9_REQUIRED))
            else:
                values.setdefault(phase, {})[name] = interval
    return values, problems


def merged(stored: Mapping[str, object] | None, changes: Mapping[str, Mapping[str, str]]) -> dict[str, dict[str, str]]:
    """The whole schedule after checked changes: every phase and instrument spelled out, so it reads alone."""
    found = effective(stored)
    for phase, asked in changes.items():
        found[phase].update(asked)
    return found


# Stored beside the phases: {phase: {instrument: ISO moment}}, when the clinic last switched each one on there.
# effective() reads only phases, so it never mistakes this for one; check() refuses it as input.
SWITCHED_ON = "switched_on"


def stamped(
    stored: Mapping[str, object] | None, schedule: Mapping[str, Mapping[str, str]], now: datetime
) -> dict[str, object]:
    """The schedule to store, with when each instrument asked was switched on: `now` for one going from off to
    on, the earlier moment for one still on, none for one off. A newly asked instrument's missed check-in clock
    starts there, not at the patient's first day (CLINICAL.md §7)."""
    if now.tzinfo is None:
        raise ValueError("moments must be aware datetimes")
    before = effective(stored)
    kept = (stored or {}).get(SWITCHED_ON)
    found: dict[str, object] = {phase: dict(asked) for phase, asked in schedule.items()}
    stamps: dict[str, dict[str, str]] = {}
    for phase in PHASES:
        for name, interval in schedule.get(phase, {}).items():
            if interval == OFF or name == RELAPSE_INSTRUMENT:
                continue
            if before[phase].get(name, OFF) == OFF:
                stamps.setdefault(phase, {})[name] = now.isoformat()
            elif (earlier := _stamp(kept, phase, name)) is not None:
                stamps.setdefault(phase, {})[name] = earlier.isoformat()
    if stamps:
        found[SWITCHED_ON] = stamps
    return found


def _stamp(kept: object, phase: str, name: str) -> datetime | None:
    asked = kept.get(phase) if isinstance(kept, Mapping) else None
    value = asked.get(name) if isinstance(asked, Mapping) else None
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None  # an unreadable stamp reads as none: the clock runs from the phase, as before stamps
    return moment if moment.tzinfo is not None else None


def switched_on(stored: Mapping[str, object] | None, phase: str, name: str) -> datetime | None:
    """When the clinic last switched the instrument on in the phase; None if never recorded."""
    return _stamp((stored or {}).get(SWITCHED_ON), phase, name)


def asked_in(schedule: Schedule, phase: str) -> dict[str, str]:
    """The instruments a phase asks and how often, PHQ-9 first; {} in a phase without check-ins."""
    if phase not in PHASES:
        return {}
    return {name: interval for name, interval in schedule[phase].items() if interval != OFF}


@dataclass(frozen=True)
class Due:
    """Whether an instrument is due now, and the patient's local day it is (or next falls) due."""

    due: bool
    next_on: date | None  # None: not asked


def due(interval: str, last_taken_at: datetime | None, now: datetime, zone: tzinfo) -> Due:
    """CLINICAL.md §7: an instrument is due on the patient's local day `interval` after its last check-in (less
    EARLY_DAYS, see above); one never answered is due now; one that is off never is.

    Reckoned in local calendar days, so daylight-saving changes move nothing: a check-in on a Monday makes the
    next weekly one due the following Friday's local day, whatever the clocks did between.
    """
    if now.tzinfo is None or (last_taken_at is not None and last_taken_at.tzinfo is None):
        raise ValueError("moments must be aware datetimes")
    if interval not in INTERVAL_DAYS:
        raise ValueError(f"unknown interval: {interval!r}")
    days = INTERVAL_DAYS[interval]
    today = now.astimezone(zone).date()
    if days is None:
        return Due(False, None)
    if last_taken_at is None:
        return Due(True, today)
    try:
        next_on = in_zone(last_taken_at, zone).date() + timedelta(days=days - EARLY_DAYS)
    except OverflowError:
        # A check-in stored at the calendar's very end (before such dates were refused): the next one falls
        # past the last day a date can be, so it is not due yet.
        next_on = date.max
    return Due(today >= next_on, next_on)


def due_now(
    schedule: Schedule, phase: str, last_taken: Mapping[str, datetime | None], now: datetime, zone: tzinfo
) -> list[str]:
    """The instruments due now in this phase, PHQ-9 first (the order a patient is asked them)."""
    asked = asked_in(schedule, phase)
    return [
        name for name in INSTRUMENT_NAMES if name in asked and due(asked[name], last_taken.get(name), now, zone).due
    ]
