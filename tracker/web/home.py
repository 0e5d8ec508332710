"""Where each role lands after logging in."""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from tracker.services.accounts import patients as patient_service

bp = Blueprint("home", __name__)


@bp.route("/")
@login_required
def index() -> Response:
    targets = {"patient": "home.patient", "clinician": "clinic.home", "admin": "admin.home"}
    return redirect(url_for(targets[current_user.role]))


@bp.route("/me")
@login_required
def patient() -> str:
    if current_user.role != "patient":
        abort(403)
    me = patient_service.patient_of(current_user)
    return render_template("patient/home.html", patient=me)
