"""Bearer-token authentication for the API, and the /auth endpoints (API.md, Authentication)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import g, request
from flask_smorest import Blueprint
from werkzeug.exceptions import Forbidden, Unauthorized

from tracker import login_throttle
from tracker.api.idempotency import idempotent
from tracker.api.schemas.auth import (
    InvitationAcceptSchema,
    PasswordChangeSchema,
    PasswordResetAcceptedSchema,
    PasswordResetConfirmSchema,
    PasswordResetRequestSchema,
    TokenRequestSchema,
    TokenSchema,
)
from tracker.extensions import limiter
from tracker.models import ApiToken, User
from tracker.services.accounts import enrolment, password_reset, sessions, tokens
from tracker.services.accounts import users as accounts

bp = Blueprint("api_auth", __name__, url_prefix="/api/v1/auth", description="Logging in with bearer tokens")
BEARER: list[dict[str, list[str]]] = [{"bearerAuth": []}]


def api_user() -> User:
    user: User = g.api_user
    return user


def _problem(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }


def token_required(*roles: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A live bearer token of one of these roles (any role if none given); cookies never count."""

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            scheme, _, secret = request.headers.get("Authorization", "").partition(" ")
            found = tokens.verify(secret.strip()) if scheme.lower() == "bearer" and secret.strip() else None
            if found is None:
                raise Unauthorized("A valid bearer token is required: log in again.")
            g.api_token, g.api_user, g.api_patient = found
            if roles and g.api_user.role not in roles:
                raise Forbidden("This account may not do this.")
            return view(*args, **kwargs)

        # flask-smorest reads the document of a view from `_apidoc`.
        apidoc = wrapped.__dict__.setdefault("_apidoc", {})
        manual = apidoc.setdefault("manual_doc", {})
        manual["security"] = BEARER
        refused = {"401": _problem("no live bearer token")}
        if roles:
            refused["403"] = _problem(f"the account's role is not {' or '.join(roles)}")
        manual.setdefault("responses", {}).update(refused)
        return wrapped

    return decorator


@bp.route("/token", methods=["POST"])
@limiter.limit(login_throttle.ADDRESS_LIMITS, deduct_when=login_throttle.failed)
@limiter.limit(login_throttle.ACCOUNT_LIMITS, key_func=login_throttle.account_key, deduct_when=login_throttle.failed)
@bp.arguments(TokenRequestSchema)
@bp.response(201, TokenSchema)
def create_token(body: dict[str, str]) -> tokens.IssuedToken:
    """Log in: an email or E.164 phone and a password give a bearer token (401 for any mismatch)."""
    user = accounts.authenticate(body["username"], body["password"])
    if user is None:
        raise Unauthorized("That username and password do not match an account.")
    return tokens.issue(user)


@bp.route("/token", methods=["DELETE"])
@token_required()
@bp.response(204)
def delete_token() -> None:
    """Log out: this token stops working at once."""
    token: ApiToken = g.api_token
    tokens.revoke(token)


@bp.route("/sessions", methods=["DELETE"])
@token_required()
@bp.response(204)
def delete_sessions() -> None:
    """Log out everywhere: every token and web session of this account ends, this token too."""
    sessions.end_everywhere(api_user())


@bp.route("/password", methods=["POST"])
@limiter.limit(login_throttle.ADDRESS_LIMITS, deduct_when=login_throttle.failed)
@token_required()
@bp.arguments(PasswordChangeSchema)
@bp.response(204)
def change_password(body: dict[str, str]) -> None:
    """A new password, with the current one: every other token and web session of the account ends."""
    token: ApiToken = g.api_token
    accounts.change_own_password(api_user(), body["current_password"], body["new_password"], keep_token_id=token.id)


@bp.route("/invitation", methods=["POST"])
@limiter.limit("10 per minute")
@bp.arguments(InvitationAcceptSchema)
@bp.response(201, TokenSchema)
def accept_invitation(body: dict[str, str]) -> tokens.IssuedToken:
    """Set a password with the one-time invitation and log in (410 when used or expired)."""
    return enrolment.accept_invitation(body["token"], body["password"])


@bp.route("/password-reset", methods=["POST"])
@limiter.shared_limit(login_throttle.ADDRESS_LIMITS, scope=login_throttle.RESET_SCOPE)
@limiter.shared_limit(
    login_throttle.RESET_ACCOUNT_LIMITS, scope=login_throttle.RESET_SCOPE, key_func=login_throttle.reset_account_key
)
@bp.arguments(PasswordResetRequestSchema)
@bp.response(202, PasswordResetAcceptedSchema)
def request_password_reset(body: dict[str, str]) -> dict[str, str]:
    """Ask for a password reset: a patient's phone is texted a one-time link (30 minutes). Always 202; staff get
    their link from their clinic's admin."""
    login_throttle.answer_no_sooner_than(login_throttle.RESET_ANSWER_SECONDS)
    password_reset.request_reset(body["username"])
    return {"detail": password_reset.ACCEPTED}


@bp.route("/password-reset/confirm", methods=["POST"])
@limiter.limit("10 per minute")
@bp.arguments(PasswordResetConfirmSchema)
@bp.response(201, TokenSchema)
def confirm_password_reset(body: dict[str, str]) -> tokens.IssuedToken:
    """Set a new password with the one-time reset link and log in; every other session and token of the
    account ends (410 when the link is used or expired)."""
    return password_reset.confirm(body["token"], body["password"])


__all__ = ["api_user", "bp", "idempotent", "token_required"]
