"""Characters no text of ours can mean, and that a database may refuse or a screen may misdraw. Pure.

NUL, the other C0 controls but tab and line breaks, DEL (and so ESC sequences), and the bidirectional
overrides that can make a name read backwards, and lone surrogates (halves of a character that no encoding
can store). One-line values take none of those, nor a line break.
"""

from __future__ import annotations

import re

UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


# A one-line field (a name, a phone, an email, a zone, a search) takes no line break either: one there would
# split a header, a CSV cell or a log line. A tab stays a space between words, as everywhere.
LINE_BREAK = re.compile("[\n\r\x85\u2028\u2029]")
NOT_ONE_LINE = re.compile(f"{LINE_BREAK.pattern}|{UNSAFE.pattern}")
# The same, as an OpenAPI pattern (ECMA-262): what a one-line field may hold.
ONE_LINE_PATTERN = (
    "^[^\\u0000-\\u0008\\u000a-\\u001f\\u007f\\u0085\\u061c\\u200e\\u200f\\u2028\\u2029"
    "\\u202a-\\u202e\\u2066-\\u2069]*$"
)


def one_line_problem(text: str) -> str | None:
    """Why `text` cannot be a one-line value, in words for the field's message, or None when it can."""
    if LINE_BREAK.search(text):
        return "must be one line: remove the line break"
    if NOT_ONE_LINE.search(text):
        return "contains control or direction characters; remove them"
    return None


def has_unsafe(text: str) -> bool:
    return UNSAFE.search(text) is not None


def without_unsafe(text: str) -> str:
    return UNSAFE.sub("", text)
