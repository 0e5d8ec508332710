"""Logging in: the requests of /auth and the bearer token they answer (API.md, Authentication)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from tracker.api.schemas.common import Strict
from tracker.api.schemas.one_line import OneLine


class TokenRequestSchema(Strict):
    username = OneLine(required=True, validate=validate.Length(min=1, max=254))
    password = fields.String(required=True, validate=validate.Length(min=1, max=200))


class InvitationAcceptSchema(Strict):
    token = fields.String(required=True, validate=validate.Length(min=1, max=200))
    password = fields.String(required=True, validate=validate.Length(min=1, max=200))


class PasswordChangeSchema(Strict):
    current_password = fields.String(required=True, validate=validate.Length(min=1, max=200))
    new_password = fields.String(required=True, validate=validate.Length(min=1, max=200))


class PasswordResetRequestSchema(Strict):
    username = OneLine(
        required=True,
        validate=validate.Length(min=1, max=254),
        metadata={"description": "the email or E.164 phone the account logs in with"},
    )


class PasswordResetConfirmSchema(Strict):
    token = fields.String(
        required=True,
        validate=validate.Length(min=1, max=200),
        metadata={"description": "the last part of the texted or admin-issued link, after /reset/"},
    )
    password = fields.String(required=True, validate=validate.Length(min=1, max=200))


class PasswordResetAcceptedSchema(Schema):
    """The one answer to a reset request, whatever the account (or whether there is one)."""

    detail = fields.String(required=True)


class TokenSchema(Schema):
    """Dumps a tokens.IssuedToken: the secret, shown this once, and the token's expiry and role."""

    access_token = fields.String(required=True, attribute="secret")
    token_type = fields.Constant("Bearer", required=True, metadata={"type": "string"})
    expires_at = fields.AwareDateTime(required=True, attribute="token.expires_at")
    role = fields.String(required=True, attribute="user.role")
