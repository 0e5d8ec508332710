"""The C-SSRS screener at the safety follow-up (CLINICAL.md §7): its six questions, skip logic and triage; pure.

Wording: the Columbia-Suicide Severity Rating Scale, Screen Version - Recent (Columbia Lighthouse Project,
https://cssrs.columbia.edu/, "C-SSRS-Screener-recent-with-triage-colors"; free for clinical use). Questions 1-5
ask about the past month; question 6 asks about ever, then whether within the past three months. Skip logic of
the screener: questions 1 and 2 are always asked; "if YES to 2, ask questions 3, 4, 5 and 6; if NO to 2, go
directly to question 6". A skipped question is not asked and is stored as not asked (None), never as "no".

Triage (CLINICAL.md §7, the screener's own): yes to 4, 5, or 6 within three months -> high; yes to 3 -> moderate;
yes to 1 or 2 only -> low. Two cases §7 leaves unsaid, decided as the screener's triage colours do: question 6
answered yes but longer ago than three months -> moderate; every answer no -> low (the screen is negative; the
clinician still records their own assessment). The result is a suggestion: the clinician confirms or changes it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tracker.errors import FieldProblem

PERIOD = "In the past month"

# (key, the question as the screener words it, the short name clinicians use)
QUESTIONS: tuple[tuple[str, str, str], ...] = (
    ("wish_dead", "Have you wished you were dead or wished you could go to sleep and not wake up?", "Wish to be dead"),
    ("thoughts", "Have you actually had any thoughts of killing yourself?", "Suicidal thoughts"),
    ("method", "Have you been thinking about how you might do this?", "Suicidal thoughts with method"),
    (
        "intent",
        "Have you had these thoughts and had some intention of acting on them?",
        "Suicidal intent (without specific plan)",
    ),
    (
        "plan",
        "Have you started to work out or worked out the details of how to kill yourself? "
        "Do you intend to carry out this plan?",
        "Suicidal intent with specific plan",
    ),
    (
        "behavior",
        "Have you ever done anything, started to do anything, or prepared to do anything to end your life?",
        "Suicidal behaviour",
    ),
)
BEHAVIOR_EXAMPLES = (
    "Examples: collected pills, obtained a gun, gave away valuables, wrote a will or suicide note, took out pills "
    "but didn't swallow any, held a gun but changed your mind or it was grabbed from your hand, went to the roof "
    "but didn't jump; or actually took pills, tried to shoot yourself, cut yourself, tried to hang yourself, etc."
)
RECENT = ("behavior_recent", "Was this within the past three months?", "Within the past 3 months")
KEYS = tuple(key for key, _, _ in QUESTIONS)
ALL_KEYS = (*KEYS, RECENT[0])
# Asked only after "yes" to question 2 (the screener's skip logic).
AFTER_THOUGHTS = ("method", "intent", "plan")
LEVELS = ("low", "moderate", "high")
# A "yes" or "no" given to a question the skip logic does not ask is refused, never dropped: the clinician (or
# the app) meant something by it, and silently storing "not asked" would lose a yes.
NOT_ASKED_AFTER_NO_TO_2 = (
    "You answered no to question 2, so questions 3 to 5 are not asked: change question 2 or leave them blank"
)
NOT_ASKED_AFTER_NO_TO_6 = "You answered no to question 6, so 6b is not asked: change question 6 or leave it blank"


@dataclass(frozen=True)
class Answers:
    """The screener's answers: True yes, False no, None not asked (skipped by the screener's logic)."""

    wish_dead: bool
    thoughts: bool
    method: bool | None
    intent: bool | None
    plan: bool | None
    behavior: bool
    behavior_recent: bool | None

    def as_dict(self) -> dict[str, bool | None]:
        return {key: getattr(self, key) for key in ALL_KEYS}


def suggested_level(answers: Answers) -> str:
    """CLINICAL.md §7: the risk level the screener's triage suggests (see the module's docstring)."""
    if answers.intent or answers.plan or (answers.behavior and answers.behavior_recent):
        return "high"
    if answers.method or answers.behavior:  # behaviour longer ago than three months: the screener's moderate
        return "moderate"
    return "low"  # yes to 1 or 2 only, or every answer no


def _yes_no(raw: Any, key: str, problems: list[FieldProblem], field_prefix: str) -> bool | None:
    if raw is None:
        return None
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.strip().lower() in ("yes", "no"):
        return raw.strip().lower() == "yes"
    problems.append(FieldProblem(f"{field_prefix}{key}", "answer yes or no"))
    return None


def parse(raw: Mapping[str, Any], field_prefix: str = "") -> tuple[Answers | None, list[FieldProblem]]:
    """Answers from a mapping of key -> yes/no (bool or "yes"/"no"), with the screener's skip logic checked.

    Questions 1, 2 and 6 are required; 3-5 are required after "yes" to 2 and must be left out after "no"; the
    three-month follow-up is required after "yes" to 6 and must be left out after "no". Problems name the field
    (with `field_prefix`, e.g. "screener.").
    """
    problems: list[FieldProblem] = []
    unknown = sorted(set(raw) - set(ALL_KEYS))
    for key in unknown:
        problems.append(FieldProblem(f"{field_prefix}{key}", "not a question of the screener"))
    values = {key: _yes_no(raw.get(key), key, problems, field_prefix) for key in ALL_KEYS}
    for key in ("wish_dead", "thoughts", "behavior"):
        if values[key] is None and not any(p.field == f"{field_prefix}{key}" for p in problems):
            problems.append(FieldProblem(f"{field_prefix}{key}", "required: yes or no"))
    if values["thoughts"] is True:
        for key in AFTER_THOUGHTS:
            if values[key] is None and not any(p.field == f"{field_prefix}{key}" for p in problems):
                problems.append(FieldProblem(f"{field_prefix}{key}", "required after yes to question 2: yes or no"))
    elif values["thoughts"] is False:
        for key in AFTER_THOUGHTS:
            if values[key] is not None:
                problems.append(FieldProblem(f"{field_prefix}{key}", NOT_ASKED_AFTER_NO_TO_2))
    if values["behavior"] is True and values["behavior_recent"] is None:
        if not any(p.field == f"{field_prefix}behavior_recent" for p in problems):
            problems.append(FieldProblem(f"{field_prefix}behavior_recent", "required after yes to question 6"))
    elif values["behavior"] is False and values["behavior_recent"] is not None:
        problems.append(FieldProblem(f"{field_prefix}behavior_recent", NOT_ASKED_AFTER_NO_TO_6))
    if problems:
        return None, problems
    return (
        Answers(
            wish_dead=bool(values["wish_dead"]),
            thoughts=bool(values["thoughts"]),
            method=values["method"],
            intent=values["intent"],
            plan=values["plan"],
            behavior=bool(values["behavior"]),
            behavior_recent=values["behavior_recent"],
        ),
        [],
    )


def from_stored(stored: Mapping[str, Any] | None) -> Answers | None:
    """Answers kept with an alert (Answers.as_dict) read back; None when none were kept."""
    if not stored:
        return None
    answers, problems = parse({k: v for k, v in stored.items() if v is not None})
    return answers if not problems else None


def shown(answers: Answers) -> list[tuple[int | str, str, str]]:
    """Each question with its answer in words, for staff: (number, question, Yes/No/Not asked)."""
    words = {True: "Yes", False: "No", None: "Not asked"}
    rows: list[tuple[int | str, str, str]] = [
        (number, text, words[getattr(answers, key)]) for number, (key, text, _) in enumerate(QUESTIONS, start=1)
    ]
    if answers.behavior:
        rows.append(("6b", RECENT[1], words[answers.behavior_recent]))
    return rows
