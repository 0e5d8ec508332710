"""A clinic's settings: relapse thresholds (CLINICAL.md §5), reminder defaults, contacts, time zone, country and
crisis resources (CLINICAL.md §3)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import time
from typing import Any

import sqlalchemy as sa

from tracker import clock, safety, vitals
from tracker.countries import country_name, normalize_country
from tracker.errors import FieldProblem, Forbidden, Invalid
from tracker.extensions import db
from tracker.instruments import schedule as instrument_schedule
from tracker.models import Clinic, Patient, User
from tracker.models.clinic import POST_INDUCTION_PHASES
from tracker.services.accounts import users as accounts
from tracker.services.audit import trail as audit

# Whole-number settings and their allowed ranges (the model's check constraints say the same).
RANGES: dict[str, tuple[int, int]] = {
    "signal_min_total": (1, 27),
    "signal_min_rise": (1, 27),
    "urgent_min_total": (1, 27),
    # CLINICAL.md §5: 1 <= confirm_min_days < confirm_max_days <= 60 (the order is checked in TOGETHER).
    "confirm_min_days": (1, 60),
    "confirm_max_days": (1, 60),
    "induction_infusion_count": (1, 20),
    "reminder_weekday": (0, 6),
    "safety_ack_minutes": (5, 24 * 60),
    "missed_checkin_grace_days": (0, 14),
    "missed_checkin_alert_days": (1, 120),
    # CLINICAL.md §7: the hold-and-review blood pressure, above the 140/90 caution.
    "bp_hold_systolic": vitals.HOLD_SYSTOLIC_RANGE,
    "bp_hold_diastolic": vitals.HOLD_DIASTOLIC_RANGE,
}
THRESHOLDS = {"signal_min_total", "signal_min_rise", "urgent_min_total", "confirm_min_days", "confirm_max_days"}
TIMES = ("reminder_local_time", "quiet_start", "quiet_end")
PHONES = ("phone", "oncall_phone", "backup_phone")
# CLINICAL.md §3: the country picks the built-in crisis resources; lines and numbers entered replace them.
CRISIS = ("country", "crisis_lines", "emergency_numbers")
# One line each, shown beside the field so a clinic knows what it is changing (CLINICAL.md §5).
EXPLANATIONS = {
    "signal_min_total": "A check-in counts as a relapse signal only at this PHQ-9 total or above (caseness: 10).",
    "signal_min_rise": "…and only this many points above the lowest score since the last infusion (MCID: 5).",
    "confirm_min_days": "Two signals at least this many days apart raise a routine booster request…",
    "confirm_max_days": "…and at most this many days apart (SUSTAIN-1: 5 to 15).",
    "urgent_min_total": "A single signal at this total or above raises an urgent request at once.",
    "induction_infusion_count": "After this many induction infusions the patient moves to the post-induction phase.",
    "post_induction_phase": "Where patients go after induction: as needed or scheduled maintenance.",
    "safety_ack_minutes": "A safety alert not acknowledged within this many minutes goes to the backup contact.",
    "missed_checkin_grace_days": "Days past a patient's weekly check-in before a nudge.",
    "missed_checkin_alert_days": "Days without any check-in before the clinic gets an attention alert.",
    "bp_hold_systolic": "Recording an infusion as given with a systolic pressure at or above this asks for a "
    "clinician's confirmation (caution is shown from 140).",
    "bp_hold_diastolic": "…or with a diastolic pressure at or above this (caution is shown from 90).",
}


def settings_of(clinic: Clinic) -> dict[str, Any]:
    return {
        "name": clinic.name,
        "timezone": clinic.timezone,
        **{name: getattr(clinic, name) for name in PHONES},
        **{name: getattr(clinic, name) for name in RANGES},
        "post_induction_phase": clinic.post_induction_phase,
        **{name: getattr(clinic, name).strftime("%H:%M") for name in TIMES},
        **{name: getattr(clinic, name) for name in CRISIS},
        # CLINICAL.md §7: every phase and instrument spelled out, the defaults where nothing was chosen.
        "instrument_schedule": instrument_schedule.effective(clinic.instrument_schedule),
    }


# CLINICAL.md §5: the thresholds are checked together, so that no combination can switch the rule off.
# Each check: (the field the problem is shown beside, the two fields it compares, the words shown).
TOGETHER = (
    (
        "urgent_min_total",
        ("signal_min_total", "urgent_min_total"),
        "must be higher than the lowest total of a signal ({0})",
    ),
    (
        "confirm_max_days",
        ("confirm_min_days", "confirm_max_days"),
        "must be more days than the confirming check-in's shortest gap ({0})",
    ),
)
QUIET_SAME = "must be a different time from the start ({0}): quiet hours need a length"
ONCALL_REQUIRED = "a clinic with patients in its care needs an on-call phone: safety alerts are texted to it at once"


def check(clinic: Clinic, changes: Mapping[str, Any], unreadable: frozenset[str] = frozenset()) -> list[FieldProblem]:
    """Every problem with these changes at once, in words a clinician reads; nothing is changed.

    `unreadable` names fields the caller could not even parse (they already have a problem of their own): the
    checks that compare fields skip them rather than compare with a value the admin did not mean.
    """
    return _parse(clinic, changes, unreadable)[1]


def _parse(
    clinic: Clinic, changes: Mapping[str, Any], unreadable: frozenset[str] = frozenset()
) -> tuple[dict[str, Any], list[FieldProblem]]:
    problems: list[FieldProblem] = []
    values: dict[str, Any] = {}
    for name, value in changes.items():
        if name in RANGES:
            low, high = RANGES[name]
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                problems.append(FieldProblem(name, f"use a whole number from {low} to {high}"))
            else:
                values[name] = value
        elif name in TIMES:
            if not isinstance(value, time):
                problems.append(FieldProblem(name, "use HH:MM"))
            else:
                values[name] = value
        elif name in PHONES:
            if value in (None, ""):
                values[name] = None
            elif (phone := accounts.normalize_phone(str(value))) is None:
                problems.append(FieldProblem(name, "use a phone number such as +13125550123"))
            else:
                values[name] = phone
        elif name == "timezone":
            if not isinstance(value, str) or not accounts.valid_timezone(value):
                problems.append(FieldProblem(name, "use a time zone name such as America/Chicago"))
            else:
                values[name] = value
        elif name == "post_induction_phase":
            if value not in POST_INDUCTION_PHASES:
                problems.append(FieldProblem(name, "use maintenance or as_needed"))
            else:
                values[name] = value
        elif name in CRISIS:
            value, found = _crisis_setting(name, value, _country_of(clinic, changes))
            problems += found
            values[name] = value
        elif name == "instrument_schedule":
            schedule, errors = instrument_schedule.check(value, name)
            problems += [FieldProblem(error.field, error.message) for error in errors]
            whole = instrument_schedule.merged(clinic.instrument_schedule, schedule)
            # When each instrument went from off to on: its missed check-in clock starts there (CLINICAL.md §7).
            values[name] = instrument_schedule.stamped(clinic.instrument_schedule, whole, clock.now())
        elif name == "name":
            if not isinstance(value, str) or not 0 < len(value.strip()) <= 200:
                problems.append(FieldProblem(name, "use 1 to 200 characters"))
            else:
                values[name] = value.strip()
        else:
            problems.append(FieldProblem(name, "not a clinic setting"))
    bad = unreadable | {problem.field for problem in problems}
    for shown, (lower, higher), words in TOGETHER:
        if lower in bad or higher in bad:
            continue
        low, high = values.get(lower, getattr(clinic, lower)), values.get(higher, getattr(clinic, higher))
        # CLINICAL.md §5: signal_min_total < urgent_min_total; confirm_min_days < confirm_max_days.
        if not low < high:
            problems.append(FieldProblem(shown, words.format(low)))
    if not {"quiet_start", "quiet_end"} & bad and {"quiet_start", "quiet_end"} & values.keys():
        start = values.get("quiet_start", clinic.quiet_start)
        if start == values.get("quiet_end", clinic.quiet_end):
            # The same start and end reads as no quiet hours at all (tracker/reminders.py): never what was meant.
            problems.append(FieldProblem("quiet_end", QUIET_SAME.format(start.strftime("%H:%M"))))
    oncall = values.get("oncall_phone", clinic.oncall_phone)
    if "oncall_phone" not in bad and oncall is None and _takes_patients(clinic):
        problems.append(FieldProblem("oncall_phone", ONCALL_REQUIRED))
    # Every problem at once: the crisis resources are judged whenever their own values could be read.
    if not any(_setting_of(field) in CRISIS for field in unreadable | {problem.field for problem in problems}):
        problems += _patients_keep_crisis_resources(clinic, values)
    return values, problems


def _setting_of(field: str) -> str:
    """The setting a problem's field belongs to: crisis_lines[0].phone is crisis_lines."""
    return field.partition("[")[0].partition(".")[0]


def _takes_patients(clinic: Clinic) -> bool:
    """API.md: a clinic taking patients (any not discharged) needs an on-call phone."""
    found = sa.select(Patient.id).where(Patient.clinic_id == clinic.id, Patient.phase != "discharged").limit(1)
    return db.session.scalar(found) is not None


def update(admin: User, clinic: Clinic, changes: Mapping[str, Any]) -> Clinic:
    """Change the clinic's settings; every bad value is named at once, and nothing changes unless all are good."""
    if admin.role != "admin" or admin.clinic_id != clinic.id:
        raise Forbidden("Only the clinic's admin may change its settings.")
    values, problems = _parse(clinic, changes)
    if problems:
        raise Invalid(problems)
    before = {name: settings_of(clinic)[name] for name in values}
    for name, value in values.items():
        setattr(clinic, name, value)
    if THRESHOLDS & values.keys():
        # New thresholds may judge old check-ins differently: the scan looks at every patient again.
        db.session.execute(sa.update(Patient).where(Patient.clinic_id == clinic.id).values(changed_at=clock.now()))
    after = {name: settings_of(clinic)[name] for name in values}
    audit.record(
        admin, "settings.change", target_type="clinic", target_id=clinic.id, detail={"before": before, "after": after}
    )
    db.session.flush()
    return clinic


def _country_of(clinic: Clinic, changes: Mapping[str, Any]) -> str | None:
    """The clinic's country once these changes are made: the one a line's number is read for."""
    given = changes.get("country")
    return (normalize_country(given) if isinstance(given, str) else None) or clinic.country


def _crisis_setting(name: str, value: Any, country: str | None = None) -> tuple[Any, list[FieldProblem]]:
    """A country code, or the lines or emergency numbers an admin entered (None or empty: the built-in ones)."""
    if value in (None, "", []):
        return None, []
    if name == "country":
        code = normalize_country(value) if isinstance(value, str) else None
        return code, [] if code else [FieldProblem(name, "use a country's two-letter ISO code, such as GB or US")]
    if not isinstance(value, list):
        return None, [FieldProblem(name, "give a list")]
    if name == "crisis_lines":
        entries = [entry if isinstance(entry, Mapping) else {} for entry in value]
        lines, problems = safety.check_lines(entries, name, country)
        return lines or None, problems
    numbers, problems = safety.check_emergency(value, name)
    return numbers or None, problems


def _patients_keep_crisis_resources(clinic: Clinic, values: Mapping[str, Any]) -> list[FieldProblem]:
    """CLINICAL.md §3: a clinic with patients always has a crisis line and an emergency number to give them."""
    if not CRISIS & values.keys():
        return []
    settings = {name: values.get(name, getattr(clinic, name)) for name in CRISIS}
    after = safety.resources_for(
        settings["country"], settings["crisis_lines"], settings["emergency_numbers"], clinic.name, clinic.phone
    )
    if not after.missing:
        return []
    has_patients = db.session.scalar(sa.select(sa.exists().where(Patient.clinic_id == clinic.id)))
    if not has_patients:
        return []  # the clinic cannot enrol until they are entered (enrolment.require_crisis_resources)
    where = country_name(settings["country"]) or "a clinic with no country"
    field = next(name for name in CRISIS if name in values)
    return [
        FieldProblem(
            field,
            f"the clinic has patients, and no crisis resources are built in for {where}: "
            f"enter {' and '.join(after.missing)} too",
        )
    ]
