"""The clinic admin's pages: the clinic's staff."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from tracker.extensions import db
from tracker.models import User
from tracker.services import accounts, audit, scope
from tracker.services.errors import Invalid
from tracker.web.forms import AddStaffForm, ConfirmForm

bp = Blueprint("admin", __name__, url_prefix="/admin")


def admin_required(view: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(view)
    @login_required
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if current_user.role != "admin":
            abort(403)
        return view(*args, **kwargs)

    return wrapped


@bp.route("/")
@admin_required
def home() -> str:
    return render_template("admin/home.html")


@bp.route("/staff", methods=["GET", "POST"])
@admin_required
def staff() -> ResponseReturnValue:
    form = AddStaffForm()
    if form.validate_on_submit():
        try:
            user = accounts.create_staff(
                current_user.clinic, form.role.data or "clinician", form.email.data or "", form.password.data or ""
            )
        except Invalid as error:
            for problem in error.problems:
                getattr(form, problem.field).errors.append(problem.message)
        else:
            audit.record(
                current_user, "staff.create", target_type="user", target_id=user.id, detail={"role": user.role}
            )
            db.session.commit()
            flash(f"{user.email} can now log in as {user.role}.")
            return redirect(url_for("admin.staff"))
    members = db.session.scalars(scope.staff_users(current_user).order_by("email")).all()
    status = 422 if form.errors else 200
    return render_template("admin/staff.html", form=form, members=members, confirm=ConfirmForm()), status


@bp.route("/staff/<user_id>/deactivate", methods=["POST"])
@admin_required
def deactivate(user_id: str) -> Response:
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    member = db.session.scalar(scope.staff_users(current_user).where(User.id == scope.parse_id(user_id)))
    if member is None:
        abort(404)
    if member.id == current_user.id:
        flash("You cannot deactivate your own account.")
        return redirect(url_for("admin.staff"))
    accounts.deactivate(member)
    audit.record(current_user, "staff.deactivate", target_type="user", target_id=member.id)
    db.session.commit()
    flash(f"{member.email} can no longer log in.")
    return redirect(url_for("admin.staff"))
