"""The instrument schedule on the admin's settings form: a select per phase and instrument (CLINICAL.md §7)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from wtforms import Field, SelectField
from wtforms.fields.choices import SelectChoice

from tracker.instruments import INSTRUMENTS
from tracker.instruments import schedule as instrument_schedule

PHASE_WORDS = {"induction": "Induction", "maintenance": "Maintenance", "as_needed": "As needed"}
FIELD_NAMES = {
    (phase, name): f"schedule_{phase}_{name}"
    for phase in instrument_schedule.PHASES
    for name in instrument_schedule.INSTRUMENT_NAMES
}
ABOUT = (
    "Which questionnaires each phase asks, and how often. One reminder text asks for all that are due. "
    "PHQ-9 is always asked: the relapse rule reads it. In induction, reminders come the morning of each infusion."
)


def schedule_fields() -> dict[str, Field]:
    """The unbound select fields, to set on the settings form class."""
    choices = [SelectChoice(value, words) for value, words in instrument_schedule.INTERVAL_WORDS.items()]
    # PHQ-9 is never offered "off" (CLINICAL.md §5). The choice is not checked here so that a posted "off"
    # reaches the settings service and is refused with its reason beside the field, as the API refuses it.
    relapse_choices = [choice for choice in choices if choice.value != instrument_schedule.OFF]
    return {
        field: SelectField(
            f"{PHASE_WORDS[phase]}: {INSTRUMENTS[name].title}",
            choices=relapse_choices if name == instrument_schedule.RELAPSE_INSTRUMENT else choices,
            validate_choice=name != instrument_schedule.RELAPSE_INSTRUMENT,
        )
        for (phase, name), field in FIELD_NAMES.items()
    }


def rows() -> list[tuple[str, list[str]]]:
    """(phase words, its fields) for the page's table."""
    return [
        (PHASE_WORDS[phase], [FIELD_NAMES[phase, name] for name in instrument_schedule.INSTRUMENT_NAMES])
        for phase in instrument_schedule.PHASES
    ]


def form_data(stored: Mapping[str, Any] | None) -> dict[str, str]:
    schedule = instrument_schedule.effective(stored)
    return {field: schedule[phase][name] for (phase, name), field in FIELD_NAMES.items()}


def changes(form: Any, stored: Mapping[str, Any] | None) -> dict[str, Any]:
    """{"instrument_schedule": {phase: {instrument: interval}}} for what the admin changed; {} when nothing."""
    current = instrument_schedule.effective(stored)
    changed: dict[str, dict[str, object]] = {}
    for (phase, name), field in FIELD_NAMES.items():
        value = form[field].data
        if value != current[phase][name]:
            changed.setdefault(phase, {})[name] = value
    return {"instrument_schedule": changed} if changed else {}


def field_of(problem_field: str) -> str | None:
    """The select a service problem belongs beside: instrument_schedule.maintenance.phq9 is
    schedule_maintenance_phq9."""
    parts = problem_field.split(".")
    if len(parts) == 3 and parts[0] == "instrument_schedule":
        return FIELD_NAMES.get((parts[1], parts[2]))
    return None
