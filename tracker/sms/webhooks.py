"""Twilio's webhooks: texts coming in (keywords, the SMS check-in) and delivery status; the dev outbox page.

Every webhook request must carry a valid ``X-Twilio-Signature`` for ``PUBLIC_BASE_URL + path``: behind
a TLS proxy the URL Flask sees is not the one Twilio signed. Without an auth token nothing is accepted.
Replies go through the outbox; Twilio is answered with an empty TwiML document.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime
from typing import Any, cast

import sqlalchemy as sa
from flask import Blueprint, Response, abort, current_app, render_template_string, request
from flask.typing import ResponseReturnValue
from twilio.request_validator import RequestValidator

from tracker import clock
from tracker.config import is_e164
from tracker.extensions import csrf, db
from tracker.models import Clinic, InboundMessage, OutboundMessage, Patient
from tracker.services.checkins import by_text as conversation
from tracker.services.messaging import texts as messages
from tracker.services.messaging.delivery import STATUS_CALLBACK_PATH, raise_undelivered
from tracker.services.messaging.outbox import queue_sms

log = logging.getLogger(__name__)

bp = Blueprint("sms", __name__)
csrf.exempt(bp)  # Twilio cannot send a CSRF token; the request signature stands in for it

# Carrier keywords (the ones Twilio itself acts on), compared after conversation.keyword().
OPT_OUT_KEYWORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"})
OPT_IN_KEYWORDS = frozenset({"START", "YES", "UNSTOP"})
HELP_KEYWORDS = frozenset({"HELP", "INFO"})
FINAL_STATUSES = frozenset({"delivered", "undelivered", "failed"})
# Carrier errors saying the number itself cannot take texts (unknown handset, landline).
INVALID_NUMBER_ERRORS = frozenset({30005, 30006})
OPTED_OUT_ERROR = 21610  # a Messaging Service can report the recipient's STOP only here
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


def _queue_once(to_phone: str, body: str, purpose: str, dedupe_key: str) -> None:
    """Queue a reply unless one with this key exists (also when a concurrent request wins the race)."""
    if db.session.scalar(sa.select(OutboundMessage.id).where(OutboundMessage.dedupe_key == dedupe_key)):
        return
    try:
        with db.session.begin_nested():
            queue_sms(to_phone, body, purpose, dedupe_key=dedupe_key)
            db.session.flush()
    except sa.exc.IntegrityError:
        return


def _reply(patient: Patient, body: str, purpose: str) -> None:
    queue_sms(patient.phone, body, purpose, patient_id=patient.id, clinic_id=patient.clinic_id)


def _unknown_sender(message: InboundMessage, word: str, now: datetime) -> str:
    if word in OPT_OUT_KEYWORDS or not is_e164(message.from_phone):
        return "unknown_ignored"
    # At most one neutral reply per number a day: a stranger cannot make us send a text per text.
    digest = hashlib.sha256(message.from_phone.encode()).hexdigest()[:24]
    key = f"sms-unknown:{digest}:{now.date().isoformat()}"
    _queue_once(message.from_phone, messages.SMS_UNKNOWN_SENDER, "sms_unknown_sender", key)
    return "unknown_replied"


def _opt_out(patient: Patient, now: datetime) -> str:
    # Twilio sends the carrier's confirmation itself; anything more from us would be blocked anyway.
    if not patient.sms_opted_out:
        patient.sms_opted_out = True
        patient.sms_opted_out_at = now
    conversation.stop_active(patient, now)
    return "opted_out"


def _opt_in(patient: Patient, now: datetime) -> str:
    patient.sms_opted_out = False
    patient.sms_opted_out_at = None
    _reply(patient, messages.SMS_OPTED_IN, "sms_opted_in")
    active = conversation.active_conversation(patient, now)
    if active is not None:  # e.g. YES typed in the middle of a check-in: ask the item again
        _reply(patient, conversation.question_body(active.next_item), "checkin_question")
    return "opted_in"


def _help(patient: Patient) -> str:
    clinic = db.session.get(Clinic, patient.clinic_id)
    assert clinic is not None  # a patient always has a clinic (foreign key)
    if clinic.phone:
        body = messages.SMS_HELP.format(clinic=clinic.name, phone=clinic.phone)
    else:
        body = messages.SMS_HELP_NO_PHONE.format(clinic=clinic.name)
    _reply(patient, body, "sms_help")
    return "help"


def handle_inbound(message: InboundMessage) -> str:
    """Act on a stored inbound text: keywords first, then the SMS check-in. Returns what was done."""
    now = clock.now()
    word = conversation.keyword(message.body)
    patient = db.session.scalar(sa.select(Patient).where(Patient.phone == message.from_phone))
    if patient is None:
        return _unknown_sender(message, word, now)
    message.patient_id = patient.id
    if word in OPT_OUT_KEYWORDS:
        return _opt_out(patient, now)
    if word in OPT_IN_KEYWORDS:
        return _opt_in(patient, now)
    if patient.sms_opted_out:
        return "opted_out_ignored"  # they asked for no texts: nothing, whatever they send
    if word in HELP_KEYWORDS:
        return _help(patient)
    return conversation.handle_text(patient, message.body)


@bp.post("/sms/inbound")
def inbound() -> ResponseReturnValue:
    _require_signature()
    form = request.form
    sid = (form.get("MessageSid") or form.get("SmsSid") or "").strip() or None
    from_phone = (form.get("From") or "").strip()
    if not from_phone:
        return twiml()
    if sid and db.session.scalar(sa.select(InboundMessage.id).where(InboundMessage.twilio_sid == sid)):
        return twiml()  # Twilio retried a webhook we already handled
    message = InboundMessage(
        twilio_sid=sid,
        from_phone=from_phone[:20],
        to_phone=(form.get("To") or "")[:20] or None,
        body=(form.get("Body") or "")[:1600],
        received_at=clock.now(),
    )
    try:
        with db.session.begin_nested():
            db.session.add(message)
            db.session.flush()
    except sa.exc.IntegrityError:
        return twiml()  # the same retry, handled by a concurrent request
    outcome = handle_inbound(message)
    log.info("inbound sms %s: %s", message.id, outcome)
    return twiml()


def _error_code(raw: str | None) -> int | None:
    return int(raw) if raw and raw.strip().isdigit() else None


@bp.post(STATUS_CALLBACK_PATH)
def status() -> ResponseReturnValue:
    """Twilio's delivery report: moves a sent row forward only; unknown SIDs and early statuses are ignored."""
    _require_signature()
    form = request.form
    sid = form.get("MessageSid") or form.get("SmsSid")
    new_status = (form.get("MessageStatus") or form.get("SmsStatus") or "").strip().lower()
    if not sid or new_status not in FINAL_STATUSES:
        return twiml()
    code = _error_code(form.get("ErrorCode"))
    values: dict[str, Any] = {"status": new_status, "updated_at": clock.now()}
    if new_status != "delivered" and code is not None:
        values["error_code"] = code
    moved = db.session.execute(
        sa.update(OutboundMessage)
        .where(OutboundMessage.twilio_sid == sid, OutboundMessage.status.in_(("sending", "sent")))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if cast(sa.CursorResult[Any], moved).rowcount == 1 and new_status != "delivered":
        row = db.session.scalar(sa.select(OutboundMessage).where(OutboundMessage.twilio_sid == sid))
        assert row is not None  # just updated
        invalid = code in INVALID_NUMBER_ERRORS
        why = f"invalid number, carrier error {code}" if invalid else f"carrier reported {new_status}"
        if code is not None and not invalid:
            why += f", error {code}"
        if code == OPTED_OUT_ERROR:
            why = "opted out"
            db.session.execute(
                sa.update(Patient)
                .where(Patient.phone == row.to_phone, Patient.sms_opted_out.is_(False))
                .values(sms_opted_out=True, sms_opted_out_at=clock.now())
                .execution_options(synchronize_session=False)
            )
        raise_undelivered(db.session, row.id, row.to_phone, row.patient_id, row.critical, why, invalid_number=invalid)
        log.warning("sms %s %s (carrier error %s)", row.id, new_status, code)
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
