"""The severity codes in words (CLINICAL.md §2, §6): one vocabulary for every page, chart and export."""

from __future__ import annotations

# As a clinician reads a band; shared by the PHQ-9 and GAD-7 bands.
LABELS = {
    "none-minimal": "none–minimal",
    "mild": "mild",
    "moderate": "moderate",
    "moderately-severe": "moderately severe",
    "severe": "severe",
}


def label(code: str | None) -> str:
    """'moderately severe'; an unknown code is shown as itself, never hidden."""
    return LABELS.get(code or "", (code or "").replace("-", " "))


def plain_words(code: str | None) -> str:
    """As a patient reads their result: 'no or minimal symptoms', 'mild symptoms'."""
    if code == "none-minimal":
        return "no or minimal symptoms"
    return f"{label(code)} symptoms" if code in LABELS else label(code)
