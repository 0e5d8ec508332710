"""The clinic's pages for clinicians and admins; later issues fill them in."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Blueprint, abort, render_template
from flask_login import current_user, login_required

from tracker import clock
from tracker.extensions import db
from tracker.services import audit, patient_list, scope

bp = Blueprint("clinic", __name__, url_prefix="/clinic")


def staff_required(view: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(view)
    @login_required
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not current_user.is_staff:
            abort(403)
        return view(*args, **kwargs)

    return wrapped


@bp.route("/")
@staff_required
def home() -> str:
    rows, _more = patient_list.summaries(current_user, limit=200)
    return render_template("clinic/home.html", rows=rows, now=clock.now())


@bp.route("/patients/<patient_id>")
@staff_required
def patient(patient_id: str) -> str:
    record = scope.get_patient_for_staff(current_user, patient_id)
    audit.record(current_user, "patient.read", patient=record, target_type="patient", target_id=record.id)
    db.session.commit()
    return render_template("clinic/patient.html", patient=record)
