"""Side effects in the demo's story (CLINICAL.md §7): at the latest visit whose next evening has passed, staff record
mild ones at discharge, the patient reports a severe headache the next morning (an attention alert), and the
clinician calls them back that evening, so the alert is handled and the queue keeps one of each kind.

The steps, pure, told with the story; tracker/demo/side_effects.py acts them out through the services.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from tracker.demo import steps
from tracker.reminders import local_instant

# As the patient leaves: a little strange, a little sick. The next morning: a severe headache.
AT_DISCHARGE = (("dissociation", "mild"), ("nausea", "mild"))
NEXT_MORNING = (("headache", "severe"), ("drowsiness", "moderate"))
# After every reminder time a demo patient can choose (09:00-18:30), inside the check's day.
NEXT_EVENING = time(19, 0)
CALL_NOTE = "Called back: the headache eased with rest and fluids. Will ask again at the next visit."


@dataclass(frozen=True)
class AtDischarge(steps.Step):
    """Staff record the side effects as the patient leaves their latest visit."""

    levels: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class NextMorning(steps.Step):
    """The patient answers the next-morning check, in the app or on the web."""

    levels: tuple[tuple[str, str], ...]
    source: str


@dataclass(frozen=True)
class CallBack(steps.Step):
    """The clinician takes the attention alert the severe answer opened, with a note of the call."""

    note: str


def told(
    story_steps: Sequence[steps.Step], uses_app: Sequence[bool], timezone: str, cutoff: datetime
) -> list[steps.Step]:
    """The three steps, about the latest visit given whose next evening is before the story's end; none without."""
    zone = ZoneInfo(timezone)
    given = [s for s in story_steps if isinstance(s, steps.Infuse | steps.GiveBooked)]
    for visit in sorted(given, key=lambda s: s.at, reverse=True):
        evening = local_instant(visit.at.astimezone(zone).date() + timedelta(days=1), NEXT_EVENING, zone)
        if evening + timedelta(minutes=40) > cutoff:
            continue
        source = "app" if uses_app[visit.person] else "web"
        return [
            AtDischarge(visit.at + timedelta(minutes=130), visit.person, AT_DISCHARGE),
            NextMorning(evening, visit.person, NEXT_MORNING, source),
            CallBack(evening + timedelta(minutes=40), visit.person, CALL_NOTE),
        ]
    return []
