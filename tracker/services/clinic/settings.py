"""A clinic's settings: relapse thresholds (CLINICAL.md §5), reminder defaults, contacts, time zone."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import time
from typing import Any

import sqlalchemy as sa

from tracker import clock
from tracker.errors import FieldProblem, Forbidden, Invalid
from tracker.extensions import db
from tracker.models import Clinic, Patient, User
from tracker.models.clinic import POST_INDUCTION_PHASES
from tracker.services.accounts import users as accounts
from tracker.services.audit import trail as audit

# Whole-number settings and their allowed ranges (the model's check constraints say the same).
RANGES: dict[str, tuple[int, int]] = {
    "signal_min_total": (1, 27),
    "signal_min_rise": (1, 27),
    "urgent_min_total": (1, 27),
    "confirm_min_days": (1, 60),
    "confirm_max_days": (1, 90),
    "induction_infusion_count": (1, 20),
    "reminder_weekday": (0, 6),
    "safety_ack_minutes": (5, 24 * 60),
    "missed_checkin_grace_days": (0, 14),
    "missed_checkin_alert_days": (1, 120),
}
THRESHOLDS = {"signal_min_total", "signal_min_rise", "urgent_min_total", "confirm_min_days", "confirm_max_days"}
TIMES = ("reminder_local_time", "quiet_start", "quiet_end")
PHONES = ("phone", "oncall_phone", "backup_phone")
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
}


def settings_of(clinic: Clinic) -> dict[str, Any]:
    return {
        "name": clinic.name,
        "timezone": clinic.timezone,
        **{name: getattr(clinic, name) for name in PHONES},
        **{name: getattr(clinic, name) for name in RANGES},
        "post_induction_phase": clinic.post_induction_phase,
        **{name: getattr(clinic, name).strftime("%H:%M") for name in TIMES},
    }


def update(admin: User, clinic: Clinic, changes: Mapping[str, Any]) -> Clinic:
    """Change the clinic's settings; every bad value is named, and nothing changes unless all are good."""
    if admin.role != "admin" or admin.clinic_id != clinic.id:
        raise Forbidden("Only the clinic's admin may change its settings.")
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
        elif name == "name":
            if not isinstance(value, str) or not 0 < len(value.strip()) <= 200:
                problems.append(FieldProblem(name, "use 1 to 200 characters"))
            else:
                values[name] = value.strip()
        else:
            problems.append(FieldProblem(name, "not a clinic setting"))
    low = values.get("confirm_min_days", clinic.confirm_min_days)
    high = values.get("confirm_max_days", clinic.confirm_max_days)
    if not problems and high < low:
        problems.append(FieldProblem("confirm_max_days", "must be at least confirm_min_days"))
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
