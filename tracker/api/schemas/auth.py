"""Logging in: the requests of /auth and the bearer token they answer (API.md, Authentication)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from tracker.api.schemas.common import Strict


class TokenRequestSchema(Strict):
    username = fields.String(required=True, validate=validate.Length(min=1, max=254))
    password = fields.String(required=True, validate=validate.Length(min=1, max=200))


class InvitationAcceptSchema(Strict):
    token = fields.String(required=True, validate=validate.Length(min=1, max=200))
    password = fields.String(required=True, validate=validate.Length(min=1, max=200))


class PasswordChangeSchema(Strict):
    current_password = fields.String(required=True, validate=validate.Length(min=1, max=200))
    new_password = fields.String(required=True, validate=validate.Length(min=1, max=200))


class TokenSchema(Schema):
    """Dumps a tokens.IssuedToken: the secret, shown this once, and the token's expiry and role."""

    access_token = fields.String(required=True, attribute="secret")
    token_type = fields.Constant("Bearer", required=True, metadata={"type": "string"})
    expires_at = fields.AwareDateTime(required=True, attribute="token.expires_at")
    role = fields.String(required=True, attribute="user.role")
