"""The reminders page in the patient's words: how often the clinic's schedule asks (CLINICAL.md §7), the zone
as a place, and every time on the page in one format (the time box's, "9:00 PM")."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import time

from tracker.instruments import INSTRUMENTS
from tracker.instruments import schedule as instrument_schedule

# A sentence's words for each interval; "monthly" is every 4 weeks (tracker/instruments/schedule.py).
HOW_OFTEN = {
    instrument_schedule.WEEKLY: "every week",
    instrument_schedule.EVERY_2_WEEKS: "every 2 weeks",
    instrument_schedule.MONTHLY: "every 4 weeks",
}


def clock(moment: time) -> str:
    """'9:00 PM', as the page's time box shows a time."""
    return f"{moment.hour % 12 or 12}:{moment:%M} {'AM' if moment.hour < 12 else 'PM'}"


def zone(name: str) -> str:
    """'America/Chicago' -> 'Chicago time'; a zone that is no place ('UTC') stays as it is."""
    if "/" not in name:
        return name
    return f"{name.rsplit('/', 1)[1].replace('_', ' ')} time"


def cadence(asked: Mapping[str, str]) -> str:
    """How often the patient's phase asks each questionnaire: 'the PHQ-9 every 2 weeks and the GAD-7 every 4
    weeks'; '' in a phase that asks nothing."""
    parts = [
        f"the {INSTRUMENTS[name].title} {HOW_OFTEN[interval]}"
        for name, interval in asked.items()
        if name in INSTRUMENTS and interval in HOW_OFTEN
    ]
    if len(parts) <= 1:
        return "".join(parts)
    return ", ".join(parts[:-1]) + " and " + parts[-1]


def reminder_sentence(schedule: Mapping[str, Mapping[str, str]], phase: str) -> str:
    """What the page says of the reminders, from the clinic's schedule for the patient's phase."""
    asked = cadence(instrument_schedule.asked_in(schedule, phase))
    if not asked:
        return "Your clinic is not asking you to check in at the moment, so we send no reminders."
    return f"We text you a reminder when a check-in is due: {asked}."
