"""The clinic's pages for clinicians and admins: the attention queue, the patient list, a patient's page.

The blueprint and what the pages share live in clinic_base.py; importing the page modules here registers
their routes on it, so the app sees one `clinic` blueprint (tracker/web/__init__.py imports `bp` from here).
"""

from __future__ import annotations

from tracker.web import (
    clinic_actions,
    clinic_calendar,
    clinic_day,
    clinic_flags,
    clinic_medicines,
    clinic_pages,
    clinic_side_effects,
    clinic_summary,
)
from tracker.web.clinic_base import bp
from tracker.web.roles import staff_required

__all__ = [
    "bp",
    "clinic_actions",
    "clinic_calendar",
    "clinic_day",
    "clinic_flags",
    "clinic_medicines",
    "clinic_pages",
    "clinic_side_effects",
    "clinic_summary",
    "staff_required",
]
