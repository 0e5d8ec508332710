"""The clinic's calendar: the infusions booked for the next two weeks, by day, and what is still to settle."""

from __future__ import annotations

from datetime import datetime

from flask import abort, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from tracker import clock, local_time
from tracker.services.clinic import calendar
from tracker.web.clinic_base import bp, render
from tracker.web.roles import staff_required

KIND_WORDS = {"induction": "Induction", "maintenance": "Maintenance", "booster": "Booster"}


@bp.route("/calendar")
@staff_required
def calendar_page() -> ResponseReturnValue:
    raw = request.args.get("page", "0")
    if not (raw.isascii() and raw.isdigit()) or int(raw) > calendar.LAST_PAGE:
        abort(404)  # a page the calendar never links to
    page = int(raw)
    zone = local_time.zone_of(current_user.clinic.timezone)
    days = calendar.booked_visits(current_user, clock.now(), page=page)

    def clock_time(moment: datetime) -> str:
        # The day is the heading, so each line needs only the time ('9:30 AM CST').
        return local_time.wall_clock(moment, zone).split(", ")[-1]

    def page_url(to: int) -> str | None:
        return url_for("clinic.calendar_page", page=to) if 0 <= to <= calendar.LAST_PAGE else None

    return render(
        "clinic/calendar.html",
        days=days,
        page=page,
        page_url=page_url,
        kind_words=KIND_WORDS,
        clock_time=clock_time,
    )
