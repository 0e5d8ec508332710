"""Logging in and out on the web (sessions; the API uses bearer tokens instead)."""

from __future__ import annotations

from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required, login_user, logout_user
from werkzeug.wrappers import Response

from tracker.errors import Invalid
from tracker.extensions import db, limiter
from tracker.models import User
from tracker.services.accounts import enrolment
from tracker.services.accounts import users as accounts
from tracker.web.forms import LoginForm, LogoutForm, SetPasswordForm

bp = Blueprint("auth", __name__)


def load_user(login_id: str) -> User | None:
    """Flask-Login's loader: the cookie holds the rotatable login id, never the user id."""
    return db.session.scalar(sa.select(User).where(User.login_id == login_id, User.active.is_(True)))


def safe_next(target: str | None) -> str | None:
    """Only our own paths: a login link must not send anyone to another site."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit("10 per minute; 50 per hour", methods=["POST"])
def login() -> ResponseReturnValue:
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        user = accounts.authenticate(form.username.data or "", form.password.data or "")
        if user is not None:
            login_user(user)
            return redirect(safe_next(request.args.get("next")) or url_for("home.index"))
        # The same words whether or not the account exists.
        error = "That email or number and password do not match an account."
    return render_template("auth/login.html", form=form, error=error), (401 if error else 200)


@bp.route("/logout", methods=["POST"])
@login_required
def logout() -> Response:
    form = LogoutForm()
    if form.validate_on_submit():
        logout_user()
        flash("You are logged out.")
    return redirect(url_for("auth.login"))


@bp.route("/invite/<secret>", methods=["GET", "POST"])
@limiter.limit("20 per minute", methods=["POST"])
def invitation(secret: str) -> ResponseReturnValue:
    """The link in the invitation SMS: the patient sets a password and is logged in."""
    enrolment.find_invitation(secret)  # unknown (404) or used/expired (410) before any form is shown
    form = SetPasswordForm()
    if form.validate_on_submit():
        try:
            user = enrolment.activate(secret, form.password.data or "")
        except Invalid as error:
            form.password.errors = [p.message for p in error.problems]
        else:
            login_user(user)
            flash("Your password is set. Welcome.")
            return redirect(url_for("home.index"))
    status = 422 if form.errors else 200
    return render_template("auth/invitation.html", form=form), status
