"""What a patient is told when PHQ-9 item 9 is positive (CLINICAL.md §3). Pure data."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CrisisResource:
    name: str
    phone: str
    text: str


# CLINICAL.md §3: US crisis resources, shown at once whenever item 9 >= 1.
CRISIS_RESOURCES = (
    CrisisResource("988 Suicide & Crisis Lifeline", "988", "Call or text 988, any time, free and confidential."),
    CrisisResource("Emergency services", "911", "Call 911 if you are in immediate danger."),
)

CRISIS_MESSAGE = (
    "Thank you for telling us. You said you have had thoughts of being better off dead or of hurting "
    "yourself. You are not alone, and help is available right now. Your clinic has been told and will "
    "contact you."
)


@dataclass(frozen=True)
class SafetyResponse:
    message: str
    resources: tuple[CrisisResource, ...]


def safety_response() -> SafetyResponse:
    return SafetyResponse(CRISIS_MESSAGE, CRISIS_RESOURCES)
