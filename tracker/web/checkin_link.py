"""`/c/<token>`: the one-time link in a reminder opens the PHQ-9 form for one check-in, without a password.

The link grants that one check-in and nothing else: nobody is logged in (the phone may be shared), the
result or crisis page is shown in the answer to the form rather than at an address that could be opened
again, and a second submission finds the link used (410). The form, its template and the result pages are
the patient pages' own (tracker/web/patient.py); CSRF is enforced as on every form.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from flask import Blueprint, url_for
from flask.typing import ResponseReturnValue

from tracker.errors import Invalid
from tracker.extensions import db, limiter
from tracker.instruments import PHQ9
from tracker.services.checkins import links as checkin_links
from tracker.services.checkins import submit as checkins
from tracker.web.patient import CheckInForm, render_form, result_page, safety_page, show_problems

log = logging.getLogger(__name__)

bp = Blueprint("checkin_link", __name__)


def _link_url_for(token: str) -> Callable[..., str]:
    """url_for for the shared form template: its form posts back to this link instead of the logged-in page.

    The template names `patient.checkin` as its action; every other address is left as it is.
    """

    def link_url_for(endpoint: str, **values: Any) -> str:
        if endpoint == "patient.checkin":
            return url_for("checkin_link.checkin", token=token)
        return url_for(endpoint, **values)

    return link_url_for


@bp.route("/c/<token>", methods=["GET", "POST"])
@limiter.limit("30 per minute")
def checkin(token: str) -> ResponseReturnValue:
    link, patient = checkin_links.find(token)  # unknown: 404; used or expired: 410, before any form is shown
    form = CheckInForm()
    link_url_for = _link_url_for(token)
    if not form.validate_on_submit():  # only the CSRF token can fail here
        return render_form(patient, form, 400 if form.is_submitted() else 200, url_for=link_url_for)
    answers = [form[f"item{item.number}"].data for item in PHQ9.items]
    checkin_links.claim(link)  # first, so two submissions at once store one check-in
    try:
        result = checkins.submit(patient, PHQ9.name, answers, form.difficulty.data, "web")
    except Invalid as error:
        db.session.rollback()  # gives the link back: the corrected form may still be sent
        return render_form(patient, form, 422, show_problems(form, error), url_for=link_url_for)
    checkin_links.record(link, result.checkin)
    log.info("check-in link %s used for check-in %s", link.id, result.checkin.id)
    if result.safety is not None:
        return safety_page(patient, result.checkin)  # CLINICAL.md §3: crisis resources at once
    return result_page(patient, result.checkin.id)
