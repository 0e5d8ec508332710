"""Twilio's webhooks: texts coming in (keywords, the SMS check-in) and delivery status; the dev outbox page.

Every webhook request must carry a valid ``X-Twilio-Signature`` for ``PUBLIC_BASE_URL + path``: behind
a TLS proxy the URL Flask sees is not the one Twilio signed. Without an auth token nothing is accepted.
Replies go through the outbox; Twilio is answered with an empty TwiML document.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from flask import Blueprint, Response, abort, current_app, render_template_string, request
from flask.typing import ResponseReturnValue
from twilio.request_validator import RequestValidator

from tracker.extensions import csrf, db
from tracker.models import OutboundMessage
from tracker.services.messaging import delivery
from tracker.services.messaging import inbound as inbound_texts
from tracker.services.messaging.delivery import STATUS_CALLBACK_PATH

log = logging.getLogger(__name__)

bp = Blueprint("sms", __name__)
csrf.exempt(bp)  # Twilio cannot send a CSRF token; the request signature stands in for it

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'
DEV_ENVIRONMENTS = ("development", "test")
DEV_PAGE_ROWS = 100


def twiml() -> Response:
    return Response(EMPTY_TWIML, status=200, mimetype="text/xml")


def signature_is_valid() -> bool:
    """True when the request is signed with our auth token for the public URL Twilio called."""
    token = current_app.config.get("TWILIO_AUTH_TOKEN")
    signature = request.headers.get("X-Twilio-Signature", "")
    if not token or not signature:
        return False
    url = f"{current_app.config['PUBLIC_BASE_URL']}{request.path}"
    if request.query_string:
        url += "?" + request.query_string.decode("latin-1")
    return bool(RequestValidator(token).validate(url, request.form, signature))


def _require_signature() -> None:
    if not signature_is_valid():
        log.warning("sms webhook %s refused: bad or missing signature", request.path)
        abort(403)


@bp.post("/sms/inbound")
def inbound() -> ResponseReturnValue:
    _require_signature()
    form = request.form
    sid = (form.get("MessageSid") or form.get("SmsSid") or "").strip() or None
    from_phone = (form.get("From") or "").strip()
    if not from_phone:
        return twiml()
    message = inbound_texts.store(sid, from_phone, form.get("To"), form.get("Body") or "")
    if message is None:
        return twiml()  # Twilio retried a webhook we already handled
    outcome = inbound_texts.handle_inbound(message)
    log.info("inbound sms %s: %s", message.id, outcome)
    return twiml()


def _error_code(raw: str | None) -> int | None:
    """Twilio's error codes are five digits; anything else (a forged or garbled field) is no code at all."""
    text = (raw or "").strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 6 else None


@bp.post(STATUS_CALLBACK_PATH)
def status() -> ResponseReturnValue:
    """Twilio's delivery report: moves a sent row forward only; unknown SIDs and early statuses are ignored."""
    _require_signature()
    form = request.form
    sid = form.get("MessageSid") or form.get("SmsSid")
    new_status = (form.get("MessageStatus") or form.get("SmsStatus") or "").strip().lower()
    if not sid:
        return twiml()
    delivery.record_report(sid, new_status, _error_code(form.get("ErrorCode")))
    return twiml()


DEV_PAGE = """{% extends "base.html" %}
{% block title %}Text messages{% endblock %}
{% block content %}
<h1>Text messages</h1>
<p>What the outbox holds, newest first ({{ rows|length }} shown). With the console backend nothing leaves
this machine: these rows are the record.</p>
<table>
  <thead><tr><th>Created (UTC)</th><th>To</th><th>Purpose</th><th>Status</th><th>Attempts</th><th>Text</th></tr></thead>
  <tbody>
  {% for row in rows %}
    <tr>
      <td>{{ row.created_at.strftime("%Y-%m-%d %H:%M:%S") }}</td><td>{{ row.to_phone }}</td><td>{{ row.purpose }}</td>
      <td>{{ row.status }}{% if row.error_code %} ({{ row.error_code }}){% endif %}</td><td>{{ row.attempts }}</td>
      <td>{{ row.body }}</td>
    </tr>
  {% else %}
    <tr><td colspan="6">Nothing has been queued yet.</td></tr>
  {% endfor %}
  </tbody>
</table>
{% endblock %}
"""


@bp.get("/dev/sms")
def dev_outbox() -> ResponseReturnValue:
    """Development only: the texts that would have been sent."""
    if current_app.config.get("TRACKER_ENV") not in DEV_ENVIRONMENTS:
        abort(404)
    rows = list(
        db.session.scalars(
            sa.select(OutboundMessage)
            .order_by(OutboundMessage.created_at.desc(), OutboundMessage.id.desc())
            .limit(DEV_PAGE_ROWS)
        )
    )
    return render_template_string(DEV_PAGE, rows=rows)
