"""Questionnaires the product can ask (PHQ-9, GAD-7), looked up by name; pure, no I/O."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from tracker.instruments.base import (
    AnswerOption,
    FieldError,
    Instrument,
    InvalidAnswers,
    Item,
    Score,
    UnknownInstrument,
)
from tracker.instruments.gad7 import GAD7
from tracker.instruments.phq9 import PHQ9

# Read-only, so no caller can add or swap an instrument at run time.
INSTRUMENTS: Mapping[str, Instrument] = MappingProxyType({PHQ9.name: PHQ9, GAD7.name: GAD7})


def get_instrument(name: str) -> Instrument:
    """The instrument called `name`; raises UnknownInstrument (a KeyError) otherwise."""
    # A non-string name (e.g. a JSON list) is unknown, not a TypeError.
    if not isinstance(name, str) or name not in INSTRUMENTS:
        raise UnknownInstrument(name)
    return INSTRUMENTS[name]


__all__ = [
    "GAD7",
    "INSTRUMENTS",
    "PHQ9",
    "AnswerOption",
    "FieldError",
    "Instrument",
    "InvalidAnswers",
    "Item",
    "Score",
    "UnknownInstrument",
    "get_instrument",
]
