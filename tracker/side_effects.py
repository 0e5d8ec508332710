"""Side effects around an infusion (CLINICAL.md §7, second bullet): the checklist, its answers, when it is asked. Pure.

Recorded by staff at discharge and asked of the patient the next morning: seven items, each none / mild /
moderate / severe. CLINICAL.md §7: "a checklist for the clinic, not a validated scale: it is never summed into
a score. Any 'severe' answer opens an attention alert." Nothing here, nor anywhere that reads these answers,
adds them up.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

from tracker.errors import FieldProblem, Invalid
from tracker.reminders import local_instant, out_of_quiet_hours


@dataclass(frozen=True)
class Item:
    key: str  # the column and the API field
    words: str  # CLINICAL.md §7's plain words, as every page, text and export shows them


# CLINICAL.md §7, in its order and its words.
ITEMS: tuple[Item, ...] = (
    Item("dissociation", "Feeling strange or disconnected"),
    Item("nausea", "Nausea or vomiting"),
    Item("headache", "Headache"),
    Item("dizziness", "Dizziness"),
    Item("drowsiness", "Drowsiness"),
    Item("anxiety", "Anxiety"),
    Item("urinary", "Pain or urgency passing urine"),
)
ITEM_KEYS = tuple(item.key for item in ITEMS)
LEVELS = ("none", "mild", "moderate", "severe")  # stored as 0-3, in this order
SEVERE = LEVELS.index("severe")
# Who answered: staff as the patient leaves, or the patient the next morning.
TIMINGS = ("discharge", "next_morning")
SOURCES = ("clinic", "app", "web", "sms")
# The patient is asked the morning after a given infusion at their reminder time, or this, outside quiet hours.
MORNING_TIME = time(9, 0)
# The next-morning check stays open this long after it is first asked; then it is not asked again.
ANSWER_WINDOW = timedelta(hours=24)

# A reply as a level: one digit 0-3 or a level's word, with spaces and a closing full stop around it.
_REPLY = re.compile(r"\s*([0-9]|[a-z]+)\s*[.!)]?\s*")


def level_of(value: Any) -> int | None:
    """An answer as its level 0-3: the number itself or the word ("severe", " Mild. ", a full-width 2); else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 <= value < len(LEVELS) else None
    if not isinstance(value, str):
        return None
    match = _REPLY.fullmatch(unicodedata.normalize("NFKC", value).lower())
    if match is None:
        return None
    word = match.group(1)
    if word.isdigit():
        number = int(word)
        return number if number < len(LEVELS) else None
    return LEVELS.index(word) if word in LEVELS else None


def checked(answers: Mapping[str, Any]) -> dict[str, int]:
    """Every item answered with a level, or Invalid naming each item missing or wrong (and any unknown one)."""
    problems = [FieldProblem(key, "not one of the checklist's items") for key in answers if key not in ITEM_KEYS]
    levels: dict[str, int] = {}
    for item in ITEMS:
        raw = answers.get(item.key)
        level = level_of(raw)
        if raw is None:
            problems.append(FieldProblem(item.key, "please choose none, mild, moderate or severe"))
        elif level is None:
            problems.append(FieldProblem(item.key, "must be none, mild, moderate or severe"))
        else:
            levels[item.key] = level
    if problems:
        raise Invalid(problems)
    return levels


def severe_items(levels: Mapping[str, int]) -> list[Item]:
    """CLINICAL.md §7: the items answered "severe"; any one of them opens an attention alert."""
    return [item for item in ITEMS if levels.get(item.key) == SEVERE]


def next_morning_ask(
    given_at: datetime, zone: tzinfo, reminder_time: time | None, quiet_start: time, quiet_end: time
) -> datetime:
    """CLINICAL.md §7: when the patient is first asked: the local day after the infusion, at their reminder time
    (MORNING_TIME without one), moved to the end of quiet hours when it falls inside them. UTC."""
    day: date = given_at.astimezone(zone).date() + timedelta(days=1)
    at = local_instant(day, reminder_time or MORNING_TIME, zone)
    return out_of_quiet_hours(at, zone, quiet_start, quiet_end)


def is_due(ask_at: datetime, now: datetime) -> bool:
    """Whether the next-morning check is open now: from its moment, for ANSWER_WINDOW."""
    return ask_at <= now < ask_at + ANSWER_WINDOW
