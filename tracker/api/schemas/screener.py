"""The C-SSRS screener's answers at the safety follow-up (CLINICAL.md §7, tracker/cssrs.py)."""

from __future__ import annotations

from marshmallow import Schema, fields

from tracker import cssrs
from tracker.api.schemas.common import Strict, StrictBoolean

_QUESTION = {
    key: f"{number}. {text} ({cssrs.PERIOD.lower()})" for number, (key, text, _) in enumerate(cssrs.QUESTIONS, 1)
}
_QUESTION["behavior"] = f"6. {cssrs.QUESTIONS[5][1]} (ever)"
_SKIPPED = " Asked only after yes to question 2: leave it out (or null) after no."


def _asked(key: str) -> StrictBoolean:
    return StrictBoolean(required=True, metadata={"description": _QUESTION[key]})


def _after(key: str, why: str) -> StrictBoolean:
    return StrictBoolean(load_default=None, allow_none=True, metadata={"description": _QUESTION.get(key, "") + why})


class ScreenerSchema(Strict):
    """The six answers, true for yes; the screener's skip logic is checked (422 naming the question)."""

    wish_dead = _asked("wish_dead")
    thoughts = _asked("thoughts")
    method = _after("method", _SKIPPED)
    intent = _after("intent", _SKIPPED)
    plan = _after("plan", _SKIPPED)
    behavior = _asked("behavior")
    behavior_recent = _after(
        "behavior_recent", f"6b. {cssrs.RECENT[1]} Required after yes to question 6; leave it out after no."
    )


class ScreenerAnswersSchema(Schema):
    """The answers kept with a resolved alert: null for a question the screener's skip logic did not ask."""

    wish_dead = fields.Boolean(required=True)
    thoughts = fields.Boolean(required=True)
    method = fields.Boolean(required=True, allow_none=True)
    intent = fields.Boolean(required=True, allow_none=True)
    plan = fields.Boolean(required=True, allow_none=True)
    behavior = fields.Boolean(required=True)
    behavior_recent = fields.Boolean(required=True, allow_none=True)
