"""A confirmation shown where the page lands: the redirect's fragment names the place, and the message flashed
for it ("success@<anchor>") shows there (templates/clinic/_landed.html) instead of at the top (base.html)."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, url_for
from werkzeug.wrappers import Response


def land(message: str, endpoint: str, anchor: str, code: int = 302, **values: Any) -> Response:
    """Redirect to `endpoint` at `#anchor`, with `message` shown beside that place."""
    flash(message, f"success@{anchor}")
    return redirect(url_for(endpoint, _anchor=anchor, **values), code=code)
