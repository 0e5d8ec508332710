"""The dispatcher: drains the outbox through the configured sender, never faster than the carrier allows.

Rows are claimed in the database (ARCHITECTURE.md), so any number of scheduler processes can run it:
PostgreSQL locks candidates with ``FOR UPDATE SKIP LOCKED``; SQLite claims each row with a conditional
UPDATE and a rowcount check. A claim sets ``status='sending'`` and a lease; a dispatcher that dies
mid-run leaves its rows to be claimed again once the lease has expired. ``attempts`` grows by one per
claim, so it doubles as the claim's token: a result is written only while the row still carries it.

Statuses only move forward: queued -> sending -> sent -> delivered / undelivered / failed; cancelled
only from queued or sending. Logs name message ids, never numbers or bodies.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

import sqlalchemy as sa

from tracker import clock
from tracker.db import DbSession
from tracker.extensions import db
from tracker.models import OutboundMessage, Patient
from tracker.services.alerts.writes import open_attention_alert
from tracker.services.messaging import consent, texts
from tracker.services.messaging.pacing import Settings
from tracker.services.messaging.senders import InvalidNumberError, OptedOutError, SendError

log = logging.getLogger(__name__)


FINAL_STATUSES = frozenset({"delivered", "undelivered", "failed"})
# A row in one of these is never sent again: its body keeps no one-time link (see _finish).
NEVER_SENT_AGAIN = frozenset({"sent", "failed", "cancelled"})
# Carrier errors saying the number itself cannot take texts (unknown handset, landline).
INVALID_NUMBER_ERRORS = frozenset({30005, 30006})
OPTED_OUT_ERROR = 21610  # a Messaging Service can report the recipient's STOP only here
STATUS_CALLBACK_PATH = "/sms/status"  # served by tracker/sms/webhooks.py


M = OutboundMessage


@dataclass(frozen=True)
class Claim:
    """A row this run owns: ``attempt`` is the row's attempts after the claim, the proof it is still ours."""

    id: uuid.UUID
    attempt: int
    to_phone: str
    body: str
    purpose: str
    critical: bool
    patient_id: uuid.UUID | None
    lease_until: datetime


def _due(now: datetime) -> sa.ColumnElement[bool]:
    expired_lease = sa.or_(M.lease_until.is_(None), M.lease_until < now)
    return sa.or_(
        sa.and_(M.status == "queued", M.next_attempt_at <= now),
        sa.and_(M.status == "sending", expired_lease),
    )


def _rowcount(result: sa.Result[Any]) -> int:
    return cast(sa.CursorResult[Any], result).rowcount


def claim_due(session: DbSession, now: datetime, limit: int, lease: timedelta) -> list[Claim]:
    """Claim up to ``limit`` due rows (critical first, then oldest due). The caller commits the claim."""
    query = (
        sa.select(M.id, M.status, M.attempts, M.to_phone, M.body, M.purpose, M.critical, M.patient_id)
        .where(_due(now))
        .order_by(M.critical.desc(), M.next_attempt_at, M.created_at, M.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        # Rows another dispatcher holds are skipped, not waited for.
        candidates = session.execute(query.with_for_update(skip_locked=True)).all()
    else:
        # SQLite's transaction began IMMEDIATE (tracker/db.py): no other writer until these claims commit.
        candidates = session.execute(query).all()
    if not candidates:
        return []
    # One UPDATE for the whole batch. Its own test of _due leaves out a row another dispatcher claimed between
    # our read and this write (SQLite's read takes no lock): that row is no longer due, so it is not ours.
    claimed = session.execute(
        sa.update(M)
        .where(M.id.in_([row.id for row in candidates]), _due(now))
        .values(status="sending", lease_until=now + lease, attempts=M.attempts + 1, updated_at=now)
        .returning(M.id, M.attempts)
        .execution_options(synchronize_session=False)
    )
    attempts: dict[uuid.UUID, int] = dict(claimed.tuples().all())
    return [
        Claim(
            row.id,
            attempts[row.id],
            row.to_phone,
            row.body,
            row.purpose,
            row.critical,
            row.patient_id,
            now + lease,
        )
        for row in candidates  # in the read's order: critical first, then oldest due
        if row.id in attempts
    ]


def _finish(session: DbSession, claim: Claim, status: str, **values: Any) -> bool:
    """Move a claimed row on, only if it is still this run's claim.

    Every way a row leaves the outbox for good passes here: sent, failed or cancelled, its body loses its
    one-time links (texts.for_staff). Only the recipient's phone ever needed them, and a row that was never
    sent must not keep a live invitation, reset or check-in link for a copy of the database to open.
    """
    if status in NEVER_SENT_AGAIN:
        values["body"] = texts.for_staff(claim.body)
    result = session.execute(
        sa.update(M)
        .where(M.id == claim.id, M.status == "sending", M.attempts == claim.attempt)
        .values(status=status, lease_until=None, updated_at=clock.now(), **values)
        .execution_options(synchronize_session=False)
    )
    if _rowcount(result) != 1:
        log.warning("sms %s: claim lost before recording %s (another dispatcher took it over)", claim.id, status)
        return False
    return True


def _patient_at(session: DbSession, phone: str) -> Patient | None:
    return session.scalar(sa.select(Patient).where(Patient.phone == phone))


def raise_undelivered(
    session: DbSession,
    message_id: uuid.UUID,
    to_phone: str,
    patient_id: uuid.UUID | None,
    critical: bool,
    why: str,
    *,
    invalid_number: bool = False,
) -> None:
    """Tell the clinic about a text that will not arrive: every critical one, and any to a patient's bad number."""
    patient = session.get(Patient, patient_id) if patient_id else None
    if critical and patient is not None:
        who = "the patient" if patient.phone == to_phone else "a clinic contact"
        open_attention_alert(
            patient,
            f"An urgent text message to {who} was not delivered ({why}). Please reach them another way.",
            cause="sms_undelivered",
            dedupe_key=f"sms-undelivered:{message_id}",
        )
    elif critical:
        log.error("critical sms %s not delivered and names no patient to alert on", message_id)
    owner = _patient_at(session, to_phone)
    if owner is not None and invalid_number:
        # Once per patient and number: a fixed number gets a fresh alert if it fails again.
        digest = hashlib.sha256(to_phone.encode()).hexdigest()[:16]
        open_attention_alert(
            owner,
            f"Text messages to this patient's phone number cannot be delivered ({why}). Please check the number.",
            cause="sms_invalid_number",
            dedupe_key=f"sms-invalid-number:{owner.id}:{digest}",
        )


def opted_out_among(session: DbSession, claims: list[Claim]) -> set[str]:
    """The claims' numbers whose patient has opted out: one query for a whole group of sends."""
    phones = {claim.to_phone for claim in claims}
    if not phones:
        return set()
    found = session.scalars(sa.select(Patient.phone).where(Patient.phone.in_(phones), Patient.sms_opted_out))
    return {phone for phone in found if phone is not None}


def refused_before_sending(
    session: DbSession, claim: Claim, settings: Settings, opted_out: set[str] | None = None
) -> str | None:
    """A row that must not be sent at all is finished here; None when it may go.

    ``opted_out`` is opted_out_among's answer for a group of claims read just before; without it, it is read here.
    """
    if opted_out is None:
        opted_out = opted_out_among(session, [claim])
    if claim.to_phone in opted_out:
        # Consent is checked at send time: the patient may have texted STOP after this was queued.
        if _finish(session, claim, "cancelled", error_message="recipient opted out before it was sent"):
            raise_undelivered(session, claim.id, claim.to_phone, claim.patient_id, claim.critical, "opted out")
        return "cancelled"
    if claim.attempt > settings.max_attempts:
        # Only a row reclaimed again and again after dispatcher crashes gets here.
        if _finish(session, claim, "failed", error_message=f"gave up after {claim.attempt - 1} attempts"):
            raise_undelivered(session, claim.id, claim.to_phone, claim.patient_id, claim.critical, "gave up")
        return "failed"
    return None


def record_sent(session: DbSession, claim: Claim, sid: str) -> None:
    """Sent, never to be sent again (_finish keeps the text without its one-time links)."""
    values = {"twilio_sid": sid, "sent_at": clock.now(), "error_code": None, "error_message": None}
    _finish(session, claim, "sent", **values)
    log.info("sms %s sent (%s, attempt %d)", claim.id, claim.purpose, claim.attempt)


def record_sent_many(session: DbSession, sent: list[tuple[Claim, str]]) -> None:
    """record_sent for a group, in one executemany (psycopg sends it as one pipeline, not a round trip a row).

    A row whose claim was lost meanwhile (another dispatcher took it over) is left to that dispatcher, as in
    _finish; only then are the rows read back to say which.
    """
    if not sent:
        return
    now = clock.now()
    statement = (
        sa.update(M)
        .where(M.id == sa.bindparam("b_id"), M.status == "sending", M.attempts == sa.bindparam("b_attempt"))
        .values(
            status="sent",
            lease_until=None,
            updated_at=now,
            body=sa.bindparam("b_body"),
            twilio_sid=sa.bindparam("b_sid"),
            sent_at=now,
            error_code=None,
            error_message=None,
        )
    )
    params = [
        {"b_id": claim.id, "b_attempt": claim.attempt, "b_body": texts.for_staff(claim.body), "b_sid": sid}
        for claim, sid in sent
    ]
    updated = _rowcount(session.connection().execute(statement, params))
    if updated != len(sent):
        recorded = set(session.scalars(sa.select(M.twilio_sid).where(M.id.in_([claim.id for claim, _ in sent]))))
        for claim, sid in sent:
            if sid not in recorded:
                log.warning("sms %s: claim lost before recording sent (another dispatcher took it over)", claim.id)
    for claim, _sid in sent:
        log.info("sms %s sent (%s, attempt %d)", claim.id, claim.purpose, claim.attempt)


def record_refusal(
    session: DbSession, claim: Claim, error: SendError, settings: Settings, jitter: Callable[[float, float], float]
) -> str:
    """What the sender's refusal means for the row: the patient opted out, a bad number, a retry, or failed."""
    if isinstance(error, OptedOutError):
        consent.opted_out_by_carrier(claim.to_phone)
        if _finish(session, claim, "failed", error_code=error.code, error_message=str(error)[:500]):
            raise_undelivered(session, claim.id, claim.to_phone, claim.patient_id, claim.critical, "opted out")
        log.info("sms %s: recipient has opted out (Twilio %s)", claim.id, error.code)
        return "opted_out"
    if isinstance(error, InvalidNumberError):
        if _finish(session, claim, "failed", error_code=error.code, error_message=str(error)[:500]):
            why = f"invalid number, Twilio error {error.code}"
            raise_undelivered(
                session, claim.id, claim.to_phone, claim.patient_id, claim.critical, why, invalid_number=True
            )
        log.warning("sms %s: invalid number (Twilio %s)", claim.id, error.code)
        return "invalid_number"
    detail = {"error_code": error.code, "error_message": str(error)[:500]}
    if error.retryable and claim.attempt < settings.max_attempts:
        retry_at = clock.now() + settings.backoff(claim.attempt, jitter)
        _finish(session, claim, "queued", next_attempt_at=retry_at, **detail)
        log.info("sms %s: attempt %d failed (%s); retrying", claim.id, claim.attempt, type(error).__name__)
        return "retried"
    if _finish(session, claim, "failed", **detail):
        why = f"Twilio error {error.code}" if error.code else "Twilio did not accept it"
        raise_undelivered(session, claim.id, claim.to_phone, claim.patient_id, claim.critical, why)
    log.error("sms %s failed after %d attempts: %s", claim.id, claim.attempt, type(error).__name__)
    return "failed"


def record_report(sid: str, new_status: str, code: int | None) -> bool:
    """Twilio's delivery report: moves a sent row forward only; False for unknown SIDs and early statuses."""
    if new_status not in FINAL_STATUSES:
        return False
    values: dict[str, Any] = {"status": new_status, "updated_at": clock.now()}
    if new_status != "delivered" and code is not None:
        values["error_code"] = code
    moved = db.session.execute(
        sa.update(OutboundMessage)
        .where(OutboundMessage.twilio_sid == sid, OutboundMessage.status.in_(("sending", "sent")))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if _rowcount(moved) != 1:
        return False
    if new_status != "delivered":
        row = db.session.scalar(sa.select(OutboundMessage).where(OutboundMessage.twilio_sid == sid))
        assert row is not None  # just updated
        invalid = code in INVALID_NUMBER_ERRORS
        why = f"invalid number, carrier error {code}" if invalid else f"carrier reported {new_status}"
        if code is not None and not invalid:
            why += f", error {code}"
        if code == OPTED_OUT_ERROR:
            why = "opted out"
            consent.opted_out_by_carrier(row.to_phone)
        raise_undelivered(db.session, row.id, row.to_phone, row.patient_id, row.critical, why, invalid_number=invalid)
        log.warning("sms %s %s (carrier error %s)", row.id, new_status, code)
    return True
