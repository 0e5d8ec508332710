"""Questionnaire instruments as data: items, LOINC codes, validation and scoring.

An instrument is a frozen value plus a scoring rule, so PHQ-9 and GAD-7 share one
code path and a new questionnaire needs no special case anywhere else.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeGuard


@dataclass(frozen=True)
class AnswerOption:
    """One answer a patient can pick, with its value and LOINC answer code."""

    value: int
    text: str
    loinc: str


@dataclass(frozen=True)
class Item:
    """One question; `number` is 1-based, as printed on the form."""

    number: int
    text: str
    loinc: str


@dataclass(frozen=True)
class FieldError:
    """One invalid input field, e.g. `answers[3]` (0-based), for a 422 response."""

    field: str
    message: str


@dataclass(frozen=True)
class Score:
    """The scored result of one complete set of answers."""

    total: int
    severity: str
    diagnosis: str | None
    item9_positive: bool


class UnknownInstrument(KeyError):
    """No instrument has this name."""

    def __init__(self, name: object) -> None:
        self.name = name
        super().__init__(name)
        # Never echo a huge (or non-string) name back to the caller.
        shown = repr(name) if isinstance(name, str) and len(name) <= 40 else "given"
        self.error = FieldError("instrument", f"unknown instrument: {shown}")

    def __str__(self) -> str:
        return self.error.message


class InvalidAnswers(ValueError):
    """The answers cannot be scored; `errors` lists every bad field."""

    def __init__(self, errors: Sequence[FieldError]) -> None:
        self.errors: list[FieldError] = list(errors)
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in self.errors))


def _is_int(value: object) -> TypeGuard[int]:
    """True for a real integer; bool is an int subclass but JSON `true` is no answer."""
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True)
class Instrument:
    """A questionnaire: its items and answer codes, plus the rules that score it."""

    name: str
    title: str
    stem: str
    items: tuple[Item, ...]
    options: tuple[AnswerOption, ...]
    difficulty_item: Item | None
    difficulty_options: tuple[AnswerOption, ...]
    panel_loinc: str
    total_loinc: str
    max_total: int
    # (lowest total, label) in ascending order; the last band reached applies.
    bands: tuple[tuple[int, str], ...]
    # Provisional diagnosis from complete, valid answers; None if the instrument has none.
    diagnose: Callable[[Sequence[int]], str] | None = None
    # 1-based number of the item whose answer >= 1 is a safety event (CLINICAL.md §3).
    safety_item: int | None = None

    def __post_init__(self) -> None:
        """Refuse an inconsistent definition at import time, not at scoring time."""
        if [i.number for i in self.items] != list(range(1, len(self.items) + 1)):
            raise ValueError(f"{self.name}: items must be numbered 1..n in order")
        if self.max_total != len(self.items) * max(o.value for o in self.options):
            raise ValueError(f"{self.name}: max_total does not match items and options")
        lows = [low for low, _ in self.bands]
        if not lows or lows[0] != 0 or lows != sorted(set(lows)):
            raise ValueError(f"{self.name}: bands must start at 0 and ascend")
        safety = self.safety_item
        if safety is not None and not 1 <= safety <= len(self.items):
            raise ValueError(f"{self.name}: safety_item is not one of the items")

    def _range_text(self, options: tuple[AnswerOption, ...]) -> tuple[int, int, str]:
        """The allowed values of `options` and the words that describe them."""
        low = min(o.value for o in options)
        high = max(o.value for o in options)
        return low, high, f"an integer from {low} to {high}"

    def validate(self, answers: object, difficulty: object = None) -> list[FieldError]:
        """Every problem with a submission, one FieldError per bad field; [] when valid."""
        errors: list[FieldError] = []
        expected = len(self.items)
        low, high, words = self._range_text(self.options)
        # CLINICAL.md §2 (missing items): all answers are required, none prorated.
        if not isinstance(answers, (list, tuple)):
            message = f"must be a list of {expected} integers"
            errors.append(FieldError("answers", message))
        else:
            if len(answers) != expected:
                message = f"expected {expected} answers, got {len(answers)}"
                errors.append(FieldError("answers", message))
            # Only the expected positions are checked, so a huge list gives few errors.
            for index, value in enumerate(answers[:expected]):
                if not (_is_int(value) and low <= value <= high):
                    errors.append(FieldError(f"answers[{index}]", f"must be {words}"))
        if difficulty is not None:
            if self.difficulty_item is None:
                message = f"must be null: {self.title} has no such question"
                errors.append(FieldError("difficulty", message))
            else:
                d_low, d_high, d_words = self._range_text(self.difficulty_options)
                if not (_is_int(difficulty) and d_low <= difficulty <= d_high):
                    errors.append(FieldError("difficulty", f"must be null or {d_words}"))
        return errors

    def severity_for(self, total: int) -> str:
        """The severity band a total falls in (CLINICAL.md §2 for PHQ-9)."""
        if not _is_int(total) or not 0 <= total <= self.max_total:
            raise ValueError(f"total must be an integer from 0 to {self.max_total}")
        label = self.bands[0][1]
        for lowest, band in self.bands:
            if total >= lowest:
                label = band
        return label

    def score(self, answers: Sequence[int]) -> Score:
        """Score a complete set of answers; raises InvalidAnswers rather than guess."""
        errors = self.validate(answers)
        if errors:
            raise InvalidAnswers(errors)
        # CLINICAL.md §2: the total is the plain sum of the scored items.
        total = sum(answers)
        safety = self.safety_item
        return Score(
            total=total,
            severity=self.severity_for(total),
            diagnosis=self.diagnose(answers) if self.diagnose is not None else None,
            # CLINICAL.md §3: any answer >= 1 on item 9 is a safety event.
            item9_positive=safety is not None and answers[safety - 1] >= 1,
        )
