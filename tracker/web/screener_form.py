"""Resolving a safety alert through the C-SSRS screener (CLINICAL.md §7): the six questions, the level their
triage suggests, and the clinician's own level.

The page shows the suggestion for the answers given before anything is saved: a first submit with answers whose
suggestion the clinician has not yet seen comes back with it, the level preset to it, for the clinician to confirm
or change. Without answers, the clinician says why the screener was not asked (a patient not reached can still
have the follow-up closed, and the record says so).
"""

from __future__ import annotations

from typing import Any

from wtforms import HiddenField, RadioField, TextAreaField
from wtforms.fields.choices import SelectChoice

from tracker import cssrs
from tracker.web.clinic_forms import ResolveForm, blank_to_none

# "Not answered" lets a clinician take back an answer without JavaScript (radios cannot be un-ticked): it is the
# unmarked state, sent as "", and is never an answer.
NOT_ANSWERED = ""
YES_NO = [SelectChoice("yes", "Yes"), SelectChoice("no", "No"), SelectChoice(NOT_ANSWERED, "Not answered")]
# The service's names for the screener's problems, as this form names its fields.
SCREENER_NAMES = {f"screener.{key}": key for key in cssrs.ALL_KEYS}
NUMBERS = {key: str(number) for number, (key, _, _) in enumerate(cssrs.QUESTIONS, start=1)}


def _question(key: str, description: str = "") -> RadioField:
    text = next(t for k, t, _ in cssrs.QUESTIONS if k == key)
    return RadioField(
        f"{NUMBERS[key]}. {text}", choices=YES_NO, validate_choice=False, description=description, default=NOT_ANSWERED
    )


class ScreenerResolveForm(ResolveForm):
    action = TextAreaField("What was done (e.g. called the patient, safety plan)", filters=[blank_to_none])
    wish_dead = _question("wish_dead")
    thoughts = _question("thoughts")
    method = _question("method")
    intent = _question("intent")
    plan = _question("plan")
    behavior = _question("behavior", cssrs.BEHAVIOR_EXAMPLES)
    behavior_recent = RadioField(f"6b. {cssrs.RECENT[1]}", choices=YES_NO, validate_choice=False, default=NOT_ANSWERED)
    screener_not_done = TextAreaField(
        "Not asked? Say why instead",
        filters=[blank_to_none],
        description="E.g. could not reach the patient; assessed in the emergency department.",
        render_kw={"rows": 2},
    )
    # The level the page showed as the screener's suggestion, for the answers it showed it for.
    seen_suggestion = HiddenField()

    def given_answers(self) -> dict[str, Any] | None:
        """The answers as marked, for the service to check against the screener's skip logic: an answer to a
        question it does not ask (3-5 after no to 2, 6b after no to 6) is refused there, never dropped here.
        None when no question was answered."""
        raw = {key: self[key].data for key in cssrs.ALL_KEYS if self[key].data in ("yes", "no")}
        return raw or None

    def suggestion(self) -> str | None:
        """The screener's suggested level for the answers given, when they are complete."""
        raw = self.given_answers()
        answers, _ = cssrs.parse(raw) if raw is not None else (None, [])
        return cssrs.suggested_level(answers) if answers is not None else None
