"""The dispatch-sms job: drains the outbox in small groups of sends, no unit of work open across an HTTP call.

The rows, their claims and what each outcome means are services/messaging/delivery.py's; the pace is
services/messaging/pacing.py's, its slots shared with every other dispatcher through
services/messaging/limiter.py. This module only orders the units of work around the sends.

A group is a tenth of a second's sends at the configured rate (one at a time below 10/s). Each group costs
three short units of work however large it is: the checks before sending (one read of opted-out numbers),
the slot reservations, and the outcomes. So the commits per text fall with the rate, and the sends keep their
slots. What a crash (kill -9) between a send and its group's outcomes leaves: those rows stay ``sending``
until their lease expires and are sent again, as after a timeout (ARCHITECTURE.md: at least once). At most
one group, a tenth of a second of sends, can be doubled that way; nothing is lost.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from flask import current_app

from tracker import clock
from tracker.jobs.registry import DbSession, JobResult, job
from tracker.services.messaging import delivery, limiter
from tracker.services.messaging.pacing import JOB_EVERY, Pacer, Reserve, Settings, process_pacer
from tracker.services.messaging.senders import Sender, SendError, make_sender
from tracker.unit_of_work import transaction

log = logging.getLogger(__name__)

# What a group's send came to: the carrier's SID, or its refusal.
Outcome = tuple[delivery.Claim, str | SendError]


def limiter_key(config: Mapping[str, Any]) -> str:
    """The sending identity whose rate the dispatchers share (a from number or messaging service, not a recipient)."""
    backend = str(config.get("SMS_BACKEND") or "console").strip().lower()
    if backend != "twilio":
        return backend
    return f"twilio:{config.get('TWILIO_FROM_NUMBER') or config.get('TWILIO_MESSAGING_SERVICE_SID') or ''}"[:100]


def shared_slots(session: DbSession, key: str) -> Reserve:
    """The pacer's slots from the shared limiter, each reservation committed at once so others see it."""

    def reserve(slots: int, interval: float, now: float) -> float:
        with transaction(session):
            span = slots * interval
            return limiter.reserve(session, key, span, now, slack=span)

    return reserve


def record(
    session: DbSession, outcomes: list[Outcome], settings: Settings, jitter: Callable[[float, float], float]
) -> list[str]:
    """Each outcome's name, for the job's counts: the texts sent in one statement, each refusal on its own."""
    names: list[str] = []
    sent: list[tuple[delivery.Claim, str]] = []
    for claim, outcome in outcomes:
        if isinstance(outcome, SendError):
            names.append(delivery.record_refusal(session, claim, outcome, settings, jitter))
        else:
            sent.append((claim, outcome))
            names.append("sent")
    delivery.record_sent_many(session, sent)
    return names


def record_group(
    session: DbSession,
    outcomes: list[Outcome],
    settings: Settings,
    jitter: Callable[[float, float], float],
    result: JobResult,
) -> None:
    """The group's outcomes in one unit of work; should that fail, each in its own, so one row never costs the rest."""
    if not outcomes:
        return
    try:
        with transaction(session):
            names = record(session, outcomes, settings, jitter)
    except Exception:
        log.warning("sms: recording %d outcomes together failed; recording each alone", len(outcomes))
    else:
        for name in names:
            result.add(name)
        return
    for outcome in outcomes:
        try:
            with transaction(session):
                names = record(session, [outcome], settings, jitter)
        except Exception:
            # Left `sending`: it waits out its lease and is tried again.
            log.exception("sms %s: unexpected error while recording its outcome", outcome[0].id)
            result.add("errors")
        else:
            result.add(names[0])


def deliver_group(
    session: DbSession,
    group: list[delivery.Claim],
    sender: Sender,
    pacer: Pacer,
    reserve: Reserve,
    settings: Settings,
    status_callback: str | None,
    jitter: Callable[[float, float], float],
    result: JobResult,
) -> None:
    """Check, send (each at its slot) and record one group of claimed rows."""
    go: list[delivery.Claim] = []
    with transaction(session):
        opted_out = delivery.opted_out_among(session, group)
        for claim in group:
            refused = delivery.refused_before_sending(session, claim, settings, opted_out)
            if refused is None:
                go.append(claim)
            else:
                result.add(refused)
    outcomes: list[Outcome] = []
    try:
        for claim in go:
            pacer.wait(reserve)
            if clock.now() >= claim.lease_until:
                # This run stalled past its lease: another dispatcher may own the row now, so it is left to them.
                log.warning("sms %s: lease expired before sending; left to be claimed again", claim.id)
                result.add("lease_expired")
                continue
            try:
                outcomes.append((claim, sender.send(claim.to_phone, claim.body, status_callback).sid))
            except SendError as error:
                outcomes.append((claim, error))
            except Exception:
                log.exception("sms %s: unexpected error while sending", claim.id)
                result.add("errors")
    finally:
        # Whatever stopped the group, what was sent is recorded.
        record_group(session, outcomes, settings, jitter, result)


def dispatch(
    session: DbSession,
    now: datetime,
    *,
    sender: Sender | None = None,
    pacer: Pacer | None = None,
    jitter: Callable[[float, float], float] = random.uniform,
) -> JobResult:
    """Claim due outbox rows and send them at the shared rate; outcomes are committed a group at a time."""
    config = current_app.config
    settings = Settings.from_config(config)
    own_sender = sender is None
    # Built before claiming, so a bad configuration fails the run without touching a row.
    active = sender if sender is not None else make_sender(config)
    pacer = pacer or process_pacer(settings.rate)
    reserve = shared_slots(session, limiter_key(config))
    status_callback = None
    if str(config.get("SMS_BACKEND", "console")).lower() == "twilio":
        status_callback = f"{config['PUBLIC_BASE_URL']}{delivery.STATUS_CALLBACK_PATH}"
    result = JobResult()
    try:
        with transaction(session):
            claims = delivery.claim_due(session, now, settings.batch, settings.lease(settings.batch))
        if claims:
            result.add("claimed", len(claims))
        size = settings.group
        for start in range(0, len(claims), size):
            group = claims[start : start + size]
            try:
                deliver_group(session, group, active, pacer, reserve, settings, status_callback, jitter, result)
            except Exception:
                # One group's trouble never costs the others: its unsent rows wait out their lease.
                log.exception("sms: unexpected error while dispatching a group of %d", len(group))
                result.add("errors")
    finally:
        pacer.release()
        close = getattr(active, "close", None)
        if own_sender and callable(close):
            close()
    return result


@job("dispatch-sms", every=JOB_EVERY)
def dispatch_sms(session: DbSession, now: datetime) -> JobResult:
    """Send queued text messages through the configured sender, at its rate."""
    return dispatch(session, now)
