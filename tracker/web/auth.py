"""Logging in and out on the web (sessions; the API uses bearer tokens instead)."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required, login_user, logout_user
from werkzeug.wrappers import Response

from tracker import login_throttle
from tracker.errors import Gone, Invalid, NotFound, Unauthenticated
from tracker.extensions import limiter
from tracker.models import User
from tracker.services.accounts import enrolment, password_reset, sessions
from tracker.services.accounts import users as accounts
from tracker.web.forms import ChangePasswordForm, LoginForm, LogoutForm, ResetRequestForm, SetPasswordForm
from tracker.web.home import home_of
from tracker.web.landing import land

bp = Blueprint("auth", __name__)


SESSION_KEY = "sid"  # the web session's secret, in the signed cookie (services/accounts/sessions.py)


def load_user(login_id: str) -> User | None:
    """Flask-Login's loader: the cookie holds the rotatable login id, never the user id, and a session secret
    the server still has to honour (not logged out, not idle past the limit, not too old)."""
    return sessions.resume(login_id, session.get(SESSION_KEY))


def log_in(user: User) -> None:
    """A fresh session: a new CSRF secret and a new server-side session for this browser."""
    session.pop("csrf_token", None)
    login_user(user)
    session[SESSION_KEY] = sessions.start(user)


def log_out() -> None:
    sessions.end(session.pop(SESSION_KEY, None))
    logout_user()


def safe_next(target: str | None) -> str | None:
    """Only our own paths: a login link must not send anyone to another site."""
    if not target or not target.isprintable() or "\\" in target:
        return None  # CR/LF would split the Location header; a backslash is a slash to some browsers
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(login_throttle.ADDRESS_LIMITS, methods=["POST"], deduct_when=login_throttle.failed)
@limiter.limit(
    login_throttle.ACCOUNT_LIMITS,
    methods=["POST"],
    key_func=login_throttle.account_key,
    deduct_when=login_throttle.failed,
)
def login() -> ResponseReturnValue:
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        user = accounts.authenticate(form.username.data or "", form.password.data or "")
        if user is not None:
            log_in(user)
            return redirect(safe_next(request.args.get("next")) or url_for("home.index"))
        # The same words whether or not the account exists.
        error = "That email or number and password do not match an account."
    return render_template("auth/login.html", form=form, error=error), (401 if error else 200)


@bp.route("/logout", methods=["POST"])
@login_required
def logout() -> Response:
    form = LogoutForm()
    if form.validate_on_submit():
        log_out()
        flash("You are logged out.")
    return redirect(url_for("auth.login"))


@bp.route("/logout/everywhere", methods=["POST"])
@login_required
def logout_everywhere() -> Response:
    """Every browser and app of this account is logged out, this one too."""
    form = LogoutForm()
    if form.validate_on_submit():
        sessions.end_everywhere(current_user)
        log_out()
        flash("You are logged out on every device.")
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password() -> ResponseReturnValue:
    """A new password, with the current one; this browser stays logged in, every other one is logged out."""
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            accounts.change_own_password(current_user, form.current.data or "", form.password.data or "")
        except Unauthenticated as error:
            form.current.errors = [error.detail]
        except Invalid as error:
            form.password.errors = [p.message for p in error.problems]
        else:
            log_in(current_user._get_current_object())
            changed = "Your password is changed. Your other devices are logged out."
            if current_user.role == "patient":
                return land(changed, "home.patient", "password")  # beside the link on their page
            flash(changed)  # staff land at the top of their first page
            return redirect(url_for("home.index"))
    status = 422 if form.errors else 200
    return render_template("auth/password.html", form=form), status


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
            log_in(user)
            flash("Your password is set. Welcome.")
            # 303 straight to a page of the account: the link's secret leaves the address bar, and a reload
            # cannot send the form again.
            return redirect(home_of(user.role), code=303)
    status = 422 if form.errors else 200
    return render_template("auth/invitation.html", form=form), status


@bp.route("/reset", methods=["GET", "POST"])
@limiter.shared_limit(login_throttle.ADDRESS_LIMITS, scope=login_throttle.RESET_SCOPE, methods=["POST"])
@limiter.shared_limit(
    login_throttle.RESET_ACCOUNT_LIMITS,
    scope=login_throttle.RESET_SCOPE,
    key_func=login_throttle.reset_account_key,
    methods=["POST"],
)
def reset_request() -> ResponseReturnValue:
    """Forgot password: a patient is texted a one-time link; the answer is the same whatever the account."""
    form = ResetRequestForm()
    if form.validate_on_submit():
        login_throttle.answer_no_sooner_than(login_throttle.RESET_ANSWER_SECONDS)
        password_reset.request_reset(form.username.data or "")
        return render_template("auth/reset_sent.html", message=password_reset.ACCEPTED)
    status = 422 if form.errors else 200
    return render_template("auth/reset_request.html", form=form), status


@bp.route("/reset/<secret>", methods=["GET", "POST"])
@limiter.limit("20 per minute", methods=["POST"])
def reset(secret: str) -> ResponseReturnValue:
    """The link in a reset text, or the one an admin passed on: a new password, then logged in here alone."""
    try:
        password_reset.find(secret)
    except (NotFound, Gone) as error:
        return render_template("auth/reset_gone.html", message=error.detail), error.status
    form = SetPasswordForm()
    if form.validate_on_submit():
        try:
            user = password_reset.complete(secret, form.password.data or "")
        except Invalid as error:
            form.password.errors = [p.message for p in error.problems]
        except Gone as error:  # used up by another request since the page was shown
            return render_template("auth/reset_gone.html", message=error.detail), error.status
        else:
            if current_user.is_authenticated:  # someone else's session in this browser ends, not just its cookie
                log_out()
            log_in(user)
            flash("Your new password is set. Any other devices are logged out.")
            return redirect(home_of(user.role), code=303)  # as after an invitation: the secret leaves the URL
    status = 422 if form.errors else 200
    return render_template("auth/reset.html", form=form), status
