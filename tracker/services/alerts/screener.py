"""The C-SSRS screener recorded when a safety alert is resolved (CLINICAL.md §7): checked, its level suggested."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tracker import cssrs
from tracker.errors import FieldProblem

NOT_DONE_MAX = 300  # Alert.screener_not_done


@dataclass(frozen=True)
class ScreenerRecord:
    """What an alert keeps of the screener: the answers and the level they suggest, or why it was not asked."""

    answers: dict[str, bool | None] | None = None
    suggested: str | None = None
    not_done: str | None = None


def check(
    kind: str, screener: Mapping[str, Any] | None, not_done: str | None
) -> tuple[ScreenerRecord, list[FieldProblem]]:
    """The screener's answers (or why it was not asked) for resolving an alert of `kind` (CLINICAL.md §7).

    Only a safety alert takes them, and its follow-up always records one or the other, whichever way it is
    resolved (web, API, demo): the answers, or a reason they were not asked (the patient could not be reached,
    was assessed elsewhere). A clinician who did not reach the patient can still close the follow-up, and the
    record says so instead of holding made-up answers.
    """
    not_done = " ".join((not_done or "").split()) or None
    problems: list[FieldProblem] = []
    if kind != "safety":
        if screener is not None:
            problems.append(FieldProblem("screener", "only a safety alert is resolved with the screener"))
        if not_done is not None:
            problems.append(FieldProblem("screener_not_done", "only a safety alert is resolved with the screener"))
        return ScreenerRecord(), problems
    if screener is not None and not_done is not None:
        problems.append(FieldProblem("screener_not_done", "give the answers or why it was not asked, not both"))
        return ScreenerRecord(), problems
    if not_done is not None:
        if len(not_done) > NOT_DONE_MAX:
            problems.append(FieldProblem("screener_not_done", f"at most {NOT_DONE_MAX} characters"))
        return ScreenerRecord(not_done=not_done), problems
    if screener is None:
        problems.append(FieldProblem("screener", "answer the screener's questions, or say why it was not asked"))
        return ScreenerRecord(), problems
    answers, problems = cssrs.parse(screener, field_prefix="screener.")
    if answers is None:
        return ScreenerRecord(), problems
    return ScreenerRecord(answers.as_dict(), cssrs.suggested_level(answers)), []
