"""Words of self-harm or suicide in a patient's text (CLINICAL.md §3, "Over SMS").

A net, not a classifier: a text that holds any of these words or phrases, as whole words and in any case, is
handled as a possible disclosure (crisis text, safety alert, the question again) at any point of an SMS
conversation. It errs toward answering: a false alarm costs staff a look, a missed disclosure costs far more.
"""

from __future__ import annotations

import re
import unicodedata

PHRASES = (
    "die",
    "dying",
    "dead",
    "suicide",
    "suicidal",
    "kill myself",
    "end my life",
    "end it all",
    "hurt myself",
    "self harm",
    "self-harm",
    "overdose",
    "don't want to live",
    "dont want to live",
    "no reason to live",
)

# Whole words: "diet" and "studied" do not match "die". Spaces inside a phrase stand for any run of spaces.
_PATTERN = re.compile(
    r"\b(?:" + "|".join(re.escape(p).replace(r"\ ", r"\s+") for p in PHRASES) + r")\b",
    re.IGNORECASE,
)


def mentions_self_harm(text: str) -> bool:
    """True when the text holds a word or phrase of self-harm (NFKC first; curly apostrophes read as ')."""
    plain = unicodedata.normalize("NFKC", text).replace("\u2019", "'").replace("\u2018", "'")
    return _PATTERN.search(plain) is not None
