"""What the clinic's pages share: the blueprint, the staff check, the clinic's clock on the page, the banner."""

from __future__ import annotations

import logging
from datetime import datetime, tzinfo
from typing import Any

from flask import Blueprint, render_template
from flask_login import current_user
from sqlalchemy.exc import SQLAlchemyError

from tracker import ages, clock, local_time, phones
from tracker.extensions import db
from tracker.instruments import INSTRUMENTS, severity
from tracker.services import heartbeat
from tracker.services.clinic import attention
from tracker.services.messaging import texts as messages

log = logging.getLogger(__name__)
bp = Blueprint("clinic", __name__, url_prefix="/clinic")

PHASE_WORDS = {
    "screening": "Screening",
    "induction": "Induction",
    "maintenance": "Maintenance",
    "as_needed": "As needed",
    "discharged": "Discharged",
}


# The outbox's purposes in a clinician's words (tracker/services/messaging/texts.py lists the texts themselves).
PURPOSE_WORDS = {
    "crisis": "Crisis resources (after item 9)",
    "safety_oncall": "Safety alert to the on-call contact",
    "safety_escalation": "Safety escalation to the backup contact",
    "invitation": "Invitation",
    "password_reset": "Password reset (asked for with the patient's number)",
    "booster_scheduled": "Booster booked",
    "booster_urgent_oncall": "Urgent booster request to the on-call contact",
    "reminder_weekly": "Weekly reminder",
    "reminder_induction_morning": "Reminder on an infusion day",
    "reminder_confirming": "Confirming check-in reminder",
    "reminder_missed_checkin": "Missed check-in nudge",
}


@bp.app_context_processor
def scheduler_banner() -> dict[str, Any]:
    """base.html asks, for staff only, whether the scheduler's heartbeat is stale (services/heartbeat.py).

    A function, not a value: the query runs only on the pages that show the banner.
    """

    def scheduler_stale() -> bool:
        try:
            return heartbeat.is_stale(db.session, clock.now())
        except SQLAlchemyError:
            # An error page after a failed transaction must still render; the banner is not worth a second error.
            log.warning("could not read the scheduler's heartbeat for the banner", exc_info=True)
            return False

    return {"scheduler_stale": scheduler_stale}


def time_helpers(zone: tzinfo, now: datetime, country: str | None = None) -> dict[str, Any]:
    """Moments as the clinic reads them, in its own zone; ages in days (tracker/ages.py) worked out now; phone
    numbers as the clinic's country writes them (tracker/phones.py)."""

    def days_ago(moment: datetime | None) -> str:
        return ages.ago(moment, now, zone)

    def last_checkin(moment: datetime | None) -> str:
        return ages.last_checkin(moment, now, zone)

    def readable_phone(number: str | None) -> str:
        return phones.readable(number, country)

    def local_time_of(moment: datetime | None) -> str:
        return "–" if moment is None else local_time.wall_clock(moment, zone)

    def local_day(moment: datetime | None) -> str:
        return "–" if moment is None else local_time.day(moment, zone, now)

    def time_of_day(moment: datetime) -> str:
        return local_time.clock_time(moment, zone)

    def short_day(moment: datetime) -> str:
        return local_time.short_day(moment, zone)

    def iso(moment: datetime) -> str:
        return moment.isoformat(timespec="minutes")

    def ago(moment: datetime) -> str:
        return ages.elapsed(moment, now, zone)

    def due(deadline: datetime) -> str:
        return attention.deadline_phrase(deadline, now)

    def phase_words(phase: str) -> str:
        return PHASE_WORDS.get(phase, phase)

    def purpose_words(purpose: str) -> str:
        return PURPOSE_WORDS.get(purpose, purpose.replace("_", " ").capitalize())

    return {
        "now": now,
        "days_ago": days_ago,
        "last_checkin": last_checkin,
        "readable_phone": readable_phone,
        "purpose_words": purpose_words,
        "text_for_staff": messages.for_staff,
        "zone_name": str(zone),
        "local_time": local_time_of,
        "local_day": local_day,
        "time_of_day": time_of_day,
        "short_day": short_day,
        "iso": iso,
        "ago": ago,
        "due": due,
        "phase_words": phase_words,
        "severity_words": severity.label,
        "item9_words": attention.item9_words,
        "scales": INSTRUMENTS,  # each check-in on its own scale (CLINICAL.md §2, §6)
    }


# The places of the patient's page that show a confirmation where the page lands (templates/clinic/_landed.html),
# by the redirect's fragment; a message for anywhere else shows at the top of the page.
LANDINGS = ("alerts", "booster", "requests", "settings", "flag")
LANDING_PREFIXES = ("alert-", "infusion-")


def landing_category(anchor: str) -> str:
    """The flash category that puts a confirmation at its anchor ("success@settings"), or at the top."""
    return f"success@{anchor}" if anchor in LANDINGS or anchor.startswith(LANDING_PREFIXES) else "success"


def render(template: str, status: int = 200, **context: Any) -> tuple[str, int]:
    """Render a clinic page with the clinic's clock helpers."""
    now = clock.now()
    clinic = current_user.clinic
    zone = local_time.zone_of(clinic.timezone)
    return render_template(template, **time_helpers(zone, now, clinic.country), **context), status
