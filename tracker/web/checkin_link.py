"""`/c/<token>`: the one-time link in a reminder opens the PHQ-9 form for one check-in, without a password.

The link grants that one check-in and nothing else: nobody is logged in (the phone may be shared), the
result or crisis page is shown in the answer to the form rather than at an address that could be opened
again, and a second submission finds the link used (410). The form, its template and the result pages are
the patient pages' own (tracker/web/patient.py); CSRF is enforced as on every form.

CLINICAL.md §7: when the clinic's schedule makes the GAD-7 due too, the PHQ-9's result offers it through a new
one-time link of its own (`?instrument=gad7`), so the one link still grants one check-in.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from flask import Blueprint, abort, request, url_for
from flask.typing import ResponseReturnValue

from tracker.errors import Invalid, TooMany
from tracker.extensions import db, limiter
from tracker.instruments import GAD7, PHQ9, Instrument
from tracker.instruments import schedule as instrument_schedule
from tracker.models import Patient
from tracker.services.checkins import due as checkins_due
from tracker.services.checkins import links as checkin_links
from tracker.services.checkins import submit as checkins
from tracker.web.patient import CheckInForm, Gad7Form, render_form, result_page, safety_page, show_problems

log = logging.getLogger(__name__)

bp = Blueprint("checkin_link", __name__)


def _link_url_for(token: str) -> Callable[..., str]:
    """url_for for the shared form template: its form posts back to this link instead of the logged-in page.

    The template names `patient.checkin` (or `patient.checkin_gad7`) as its action; every other address is left
    as it is.
    """

    def link_url_for(endpoint: str, **values: Any) -> str:
        if endpoint == "patient.checkin":
            return url_for("checkin_link.checkin", token=token)
        if endpoint == "patient.checkin_gad7":
            return url_for("checkin_link.checkin", token=token, instrument=GAD7.name)
        return url_for(endpoint, **values)

    return link_url_for


@bp.route("/c/<token>", methods=["GET", "POST"])
@limiter.limit("30 per minute")
def checkin(token: str) -> ResponseReturnValue:
    link, patient = checkin_links.find(token)  # unknown: 404; used or expired: 410, before any form is shown
    instrument = _instrument(patient, request.args.get("instrument"))
    form = CheckInForm() if instrument is PHQ9 else Gad7Form()
    link_url_for = _link_url_for(token)
    status = 400 if form.is_submitted() else 200
    if not form.validate_on_submit():  # only the CSRF token can fail here
        return render_form(patient, form, status, instrument=instrument, url_for=link_url_for)
    answers = [form[f"item{item.number}"].data for item in instrument.items]
    difficulty = form.difficulty.data if instrument.difficulty_item is not None else None
    checkin_links.claim(link)  # first, so two submissions at once store one check-in
    try:
        result = checkins.submit(patient, instrument.name, answers, difficulty, "web")
    except Invalid as error:
        db.session.rollback()  # gives the link back: the corrected form may still be sent
        problems = show_problems(form, error)
        return render_form(patient, form, 422, problems, instrument=instrument, url_for=link_url_for)
    except TooMany as error:
        db.session.rollback()  # the link stays usable once the limit lets the patient in again
        page, status = render_form(patient, form, 429, [error.detail], instrument=instrument, url_for=link_url_for)
        return page, status, {"Retry-After": str(error.retry_after)}
    checkin_links.record(link, result.checkin)
    log.info("check-in link %s used for check-in %s", link.id, result.checkin.id)
    if result.safety is not None:
        return safety_page(patient, result.checkin)  # CLINICAL.md §3: crisis resources at once
    next_due = checkins_due.asks_after(patient, instrument.name)
    if next_due is None:
        return result_page(patient, result.checkin.id)
    # CLINICAL.md §7: the next questionnaire due, through a one-time link of its own.
    issued = checkin_links.create(patient.id)
    next_url = f"{url_for('checkin_link.checkin', token=issued.url.rsplit('/', 1)[1])}?instrument={next_due}"
    return result_page(patient, result.checkin.id, next_due=next_due, next_url=next_url)


def _instrument(patient: Patient, name: str | None) -> Instrument:
    """PHQ-9, or the GAD-7 where the clinic's schedule asks it in the patient's phase (404 otherwise)."""
    if name in (None, PHQ9.name):
        return PHQ9
    schedule = instrument_schedule.effective(patient.clinic.instrument_schedule)
    if name != GAD7.name or GAD7.name not in instrument_schedule.asked_in(schedule, patient.phase):
        abort(404)
    return GAD7
