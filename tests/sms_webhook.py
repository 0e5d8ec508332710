"""Texting the app as Twilio does: signed webhook posts, and the `signed` fixture that sets the token.

Shared by test_sms_webhooks.py and test_sms_conversation.py; conftest loads it as a plugin.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from twilio.request_validator import RequestValidator
from werkzeug.test import TestResponse

from tracker.models import OutboundMessage

TOKEN = "webhook-test-auth-token"
PUBLIC = "https://tracker.example.org"  # what Twilio calls; the test client reaches the app as http://localhost
OUR_NUMBER = "+15005550006"
# The clinic patients text: its own number for HELP, an on-call phone for item 9 (a module's CLINIC).
TEXTING_CLINIC = {"name": "Lakeside Wellness", "phone": "+13125550199", "oncall_phone": "+13125550100"}
_sids = itertools.count(1)

Fetch = Callable[..., list[Any]]


def sign_with_token(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(app.config, "TWILIO_AUTH_TOKEN", TOKEN)
    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", PUBLIC)


@pytest.fixture
def signed(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """Twilio's auth token and our public address, for this test only (monkeypatch restores them)."""
    sign_with_token(app, monkeypatch)


def signature(path: str, params: dict[str, str], url: str | None = None, token: str = TOKEN) -> str:
    return RequestValidator(token).compute_signature(url or PUBLIC + path, params)


def post_signed(client: FlaskClient, path: str, params: dict[str, str], **headers: str) -> TestResponse:
    return client.post(path, data=params, headers={"X-Twilio-Signature": signature(path, params), **headers})


def inbound_params(from_phone: str, body: str, sid: str | None = None) -> dict[str, str]:
    return {
        "MessageSid": sid or f"SM{next(_sids):032x}",
        "AccountSid": "AC" + "0" * 32,
        "From": from_phone,
        "To": OUR_NUMBER,
        "Body": body,
        "NumSegments": "1",
    }


def outbox_to(fetch: Fetch, phone: str) -> list[OutboundMessage]:
    return fetch(
        sa.select(OutboundMessage).where(OutboundMessage.to_phone == phone).order_by(OutboundMessage.created_at)
    )


def texter(client: FlaskClient, phone: str) -> Callable[[str], TestResponse]:
    """`text(body)`: the phone sends one text to our number, through the signed webhook."""

    def send(body: str) -> TestResponse:
        response = post_signed(client, "/sms/inbound", inbound_params(phone, body))
        assert response.status_code == 200
        return response

    return send
