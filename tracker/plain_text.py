"""Characters no text of ours can mean, and that a database may refuse or a screen may misdraw. Pure.

NUL, the other C0 controls but tab and line breaks, DEL (and so ESC sequences), and the bidirectional
overrides that can make a name read backwards, and lone surrogates (halves of a character that no encoding
can store).
"""

from __future__ import annotations

import re

UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def has_unsafe(text: str) -> bool:
    return UNSAFE.search(text) is not None


def without_unsafe(text: str) -> str:
    return UNSAFE.sub("", text)
