"""The site's icon at /favicon.ico, where browsers look for it whatever the page links."""

from __future__ import annotations

from flask import Blueprint, current_app, send_from_directory
from flask.typing import ResponseReturnValue

bp = Blueprint("favicon", __name__)

# A day: the icon is the same for everyone and holds no health data.
MAX_AGE = 24 * 60 * 60


@bp.route("/favicon.ico")
def icon() -> ResponseReturnValue:
    return send_from_directory(str(current_app.static_folder), "favicon.ico", mimetype="image/x-icon", max_age=MAX_AGE)
