"""The demo's clinic and its people: who they are, how each one's year goes, how they reach the clinic. Pure.

What each of them does when is tracker/demo/story.py's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import time

from tracker import relapse
from tracker.instruments import schedule as instrument_schedule

DEMO_PASSWORD = "demo-password-2026"  # noqa: S105  (demo logins, printed on purpose)
FIRST_NAMES = [
    "Alex",
    "Sam",
    "Jordan",
    "Taylor",
    "Morgan",
    "Casey",
    "Riley",
    "Jamie",
    "Avery",
    "Quinn",
    "Rowan",
    "Drew",
    "Emerson",
    "Hayden",
    "Parker",
    "Reese",
    "Skyler",
    "Dakota",
    "Finley",
    "Harper",
    "Logan",
    "Cameron",
    "Elliot",
    "Sage",
    "Blake",
    "Kendall",
    "Marley",
    "Shawn",
    "Toni",
    "Robin",
]
LAST_INITIALS = "ABCDEFGHJKLMNPRSTVW"
# Who the clinic's patients are, by what their year holds; the index is the patient's number.
CAST = (
    ["stays_well"] * 9
    + ["relapses"] * 7
    + ["booster_booked", "relapsing_now", "urgent_now"]
    + ["non_responder"] * 4
    + ["past_item9", "safety_now", "gone_quiet"]
    + ["in_induction"] * 3
    + ["screening"] * 2
)
# How long ago each kind of patient was enrolled, in days: the clinic has taken patients all year, and its
# first (the printed login) a year ago.
TENURE = {
    "stays_well": (30, 180),
    "relapses": (140, 240),
    "booster_booked": (150, 220),
    "relapsing_now": (150, 220),
    "urgent_now": (60, 160),
    "non_responder": (50, 110),
    "past_item9": (100, 150),
    "safety_now": (50, 110),
    "gone_quiet": (60, 110),
}
# App users (the rest check in from their reminders' links): these check in when they choose, not only
# after a reminder, and one of them is the printed login.
APP_KINDS = frozenset({"relapsing_now", "urgent_now", "past_item9", "safety_now"})
# Relapses the clinic handles otherwise than booking a booster at once: (patient, which relapse) -> how.
VARIANTS = {(9, 0): "patient_asks", (10, 0): "decline", (11, 0): "approve"}
PATIENT_ASKS = 9
PHONE_OUTAGE = 20  # a non-responder whose phone was off for the last weekly reminder but one
NO_RECEIPTS = 5  # a patient whose network never reports delivery


@dataclass(frozen=True)
class ClinicPlan:
    """The demo clinic and its settings; the story counts on these, so the clinic is created with them."""

    name: str = "Lakeside Ketamine Clinic"
    timezone: str = "America/Chicago"
    phone: str = "+13125550100"
    oncall_phone: str = "+13125550101"
    backup_phone: str = "+13125550102"
    admin_email: str = "admin@lakeside.example"
    clinician_email: str = "clinician@lakeside.example"
    # How colleagues read them on every page (the emails stay the logins).
    admin_name: str = "Alex Morgan"
    clinician_name: str = "Dr Sam Lee"
    induction_infusion_count: int = 6
    post_induction_phase: str = "as_needed"
    reminder_weekday: int = 0  # Monday
    reminder_local_time: time = time(10, 0)
    missed_checkin_grace_days: int = 2
    missed_checkin_alert_days: int = 21
    thresholds: relapse.Thresholds = field(default_factory=relapse.Thresholds)  # CLINICAL.md §5's table
    # CLINICAL.md §7: the GAD-7 every 4 weeks in maintenance, beside the weekly PHQ-9 (tracker/instruments/schedule.py).
    instrument_schedule: tuple[tuple[str, str, str], ...] = (("maintenance", "gad7", "monthly"),)

    def settings(self) -> dict[str, object]:
        """The clinic's columns, as accounts.create_clinic takes them."""
        t = self.thresholds
        return {
            "phone": self.phone,
            "oncall_phone": self.oncall_phone,
            "backup_phone": self.backup_phone,
            "induction_infusion_count": self.induction_infusion_count,
            "post_induction_phase": self.post_induction_phase,
            "reminder_weekday": self.reminder_weekday,
            "reminder_local_time": self.reminder_local_time,
            "missed_checkin_grace_days": self.missed_checkin_grace_days,
            "missed_checkin_alert_days": self.missed_checkin_alert_days,
            "signal_min_total": t.signal_min_total,
            "signal_min_rise": t.signal_min_rise,
            "confirm_min_days": t.confirm_min_days,
            "confirm_max_days": t.confirm_max_days,
            "urgent_min_total": t.urgent_min_total,
            "instrument_schedule": instrument_schedule.merged(
                None, {phase: {name: interval} for phase, name, interval in self.instrument_schedule}
            ),
        }


@dataclass(frozen=True)
class Person:
    index: int
    name: str
    phone: str
    kind: str
    uses_app: bool


def phone_of(index: int) -> str:
    return f"+1312555{200 + index:04d}"


def people() -> tuple[Person, ...]:
    """The clinic's patients, in CAST order: their names, phones and whether they use the app."""
    found = []
    for index, kind in enumerate(CAST):
        name = f"{FIRST_NAMES[index % len(FIRST_NAMES)]} {LAST_INITIALS[index % len(LAST_INITIALS)]}."
        uses_app = kind in APP_KINDS or index in (0, PATIENT_ASKS, PHONE_OUTAGE)
        found.append(Person(index, name, phone_of(index), kind, uses_app))
    return tuple(found)
