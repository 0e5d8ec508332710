"""The dispatch-sms job: drains the outbox, one unit of work per text, none open across the HTTP call.

The rows, their claims and what each outcome means are services/messaging/delivery.py's; the pace is
services/messaging/pacing.py's. This module only orders the units of work around the sends.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from datetime import datetime

from flask import current_app

from tracker import clock
from tracker.jobs.registry import DbSession, JobResult, job
from tracker.services.messaging import delivery
from tracker.services.messaging.pacing import JOB_EVERY, Pacer, Settings, process_pacer
from tracker.services.messaging.senders import Sender, SendError, make_sender
from tracker.unit_of_work import transaction

log = logging.getLogger(__name__)


def deliver(
    session: DbSession,
    claim: delivery.Claim,
    sender: Sender,
    pacer: Pacer,
    settings: Settings,
    status_callback: str | None,
    jitter: Callable[[float, float], float],
) -> str:
    """Send one claimed row and record the outcome; returns the outcome's name for the job's counts.

    Two units of work, none open across the HTTP call: the checks before sending, and the outcome.
    """
    with transaction(session):
        refused = delivery.refused_before_sending(session, claim, settings)
    if refused is not None:
        return refused
    pacer.wait()
    if clock.now() >= claim.lease_until:
        # This run stalled past its lease: another dispatcher may own the row now, so it is left to them.
        log.warning("sms %s: lease expired before sending; left to be claimed again", claim.id)
        return "lease_expired"
    try:
        sent = sender.send(claim.to_phone, claim.body, status_callback)
    except SendError as error:
        with transaction(session):
            return delivery.record_refusal(session, claim, error, settings, jitter)
    with transaction(session):
        delivery.record_sent(session, claim, sent.sid)
    return "sent"


def dispatch(
    session: DbSession,
    now: datetime,
    *,
    sender: Sender | None = None,
    pacer: Pacer | None = None,
    jitter: Callable[[float, float], float] = random.uniform,
) -> JobResult:
    """Claim due outbox rows and send them; each row's outcome is committed on its own."""
    config = current_app.config
    settings = Settings.from_config(config)
    own_sender = sender is None
    # Built before claiming, so a bad configuration fails the run without touching a row.
    active = sender if sender is not None else make_sender(config)
    pacer = pacer or process_pacer(settings.rate)
    status_callback = None
    if str(config.get("SMS_BACKEND", "console")).lower() == "twilio":
        status_callback = f"{config['PUBLIC_BASE_URL']}{delivery.STATUS_CALLBACK_PATH}"
    result = JobResult()
    try:
        with transaction(session):
            claims = delivery.claim_due(session, now, settings.batch, settings.lease(settings.batch))
        if claims:
            result.add("claimed", len(claims))
        for claim in claims:
            try:
                result.add(deliver(session, claim, active, pacer, settings, status_callback, jitter))
            except Exception:
                # One row's trouble never costs the others: this one waits out its lease and is tried again.
                log.exception("sms %s: unexpected error while dispatching", claim.id)
                result.add("errors")
    finally:
        close = getattr(active, "close", None)
        if own_sender and callable(close):
            close()
    return result


@job("dispatch-sms", every=JOB_EVERY)
def dispatch_sms(session: DbSession, now: datetime) -> JobResult:
    """Send queued text messages through the configured sender, at its rate."""
    return dispatch(session, now)
