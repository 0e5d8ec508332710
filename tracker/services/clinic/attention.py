"""The clinician's attention queue: who needs them now, in what order, and why, in a phrase.

Order: open safety alerts (CLINICAL.md §3), oldest first, with acknowledged safety alerts left unresolved for
24 hours back at the very top; then booster requests awaiting a decision or a booking, urgent before routine,
oldest first (CLINICAL.md §5); then severe side effects (CLINICAL.md §7), oldest first; then missed check-ins and
the other attention alerts, oldest first; last, acknowledged safety alerts still to resolve. A booked (scheduled)
request needs nobody until its day, so it is left out.

The queue is paged: its order is decided in SQL over every item's key (with the count of each kind), then only
the page's alerts and requests are loaded (with their patients' names), the requests' evidence, and the check-ins
and infusions the phrases rest on: a fixed number of queries, whatever the queue's length.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import load_only, selectinload

from tracker import ages, relapse
from tracker.extensions import db
from tracker.instruments import PHQ9
from tracker.local_time import duration_phrase, in_zone, zone_of
from tracker.models import Alert, BoosterRequest, CheckIn, Patient, PatientSummaryRow, User
from tracker.services import scope
from tracker.services.alerts import queries as alert_queries
from tracker.services.audit import trail as audit
from tracker.services.boosters import queries as booster_queries
from tracker.services.course import relapse_inputs

# The requests that wait on a clinician: a decision (open) or a booking (approved).
AWAITING = ("open", "approved")
RANKS = {"safety": 0, "urgent": 1, "routine": 2, "side_effect": 3, "attention": 4, "to_resolve": 5}
# A severe side effect (CLINICAL.md §7) may need a call today: it is not left below the missed check-ins.
SEVERE_SIDE_EFFECT = "severe_side_effect"
QUOTE_MAX = 90
PER_PAGE = 25
COUNTED = ("safety", "booster", "attention")
# What the queue draws of an alert and a request, and what its phrases read: nothing more is loaded.
ALERT_COLUMNS = (
    Alert.id,
    Alert.patient_id,
    Alert.kind,
    Alert.cause,
    Alert.reason,
    Alert.dedupe_key,  # names the instrument of a missed check-in
    Alert.status,
    Alert.checkin_id,
    Alert.raised_at,
    Alert.deadline,
    Alert.escalated_at,
    Alert.escalated_all_at,
    Alert.escalation_step,
    Alert.highest_item9,
    Alert.reply_text,
    Alert.acknowledged_by_id,
    Alert.acknowledged_at,
)
REQUEST_COLUMNS = (
    BoosterRequest.id,
    BoosterRequest.patient_id,
    BoosterRequest.status,
    BoosterRequest.urgency,
    BoosterRequest.raised_by,
    BoosterRequest.raised_at,
    BoosterRequest.patient_reason,
    BoosterRequest.version,
)


@dataclass(frozen=True)
class QueueItem:
    """One row of the queue: what it is, whose, why, and how long it has waited."""

    kind: str  # safety, booster, attention
    rank: int  # RANKS: the order of the groups
    title: str
    why: str
    patient_id: uuid.UUID
    patient_name: str
    raised_at: datetime
    target_id: uuid.UUID  # the alert or the request
    deadline: datetime | None = None
    escalated_at: datetime | None = None
    status: str = "open"
    # CLINICAL.md §3, a safety alert's steps: escalation (1 backup, 2 all staff), who took charge, its return.
    escalation_step: int = 0
    escalated_all_at: datetime | None = None
    acknowledged_by: str | None = None
    acknowledged_at: datetime | None = None
    returned: bool = False  # acknowledged, not resolved within 24 hours: back at the top
    reply_text: str | None = None  # what the patient texted at item 9 instead of 0-3 (staff only)
    high_risk: bool = False  # CLINICAL.md §3: the last safety follow-up was resolved at high risk (risk_flag)

    @property
    def anchor(self) -> str:
        """Where on the patient's page the item can be acted on."""
        return "booster" if self.kind == "booster" else f"alert-{self.target_id}"

    def overdue(self, now: datetime) -> bool:
        return self.deadline is not None and now > self.deadline


def deadline_phrase(deadline: datetime, now: datetime) -> str:
    """CLINICAL.md §3: a safety alert must be acknowledged by its deadline, then it escalates."""
    if now > deadline:
        return f"overdue by {duration_phrase(now - deadline)}"
    return f"due in {duration_phrase(deadline - now)}"


def _quote(text: str | None) -> str:
    words = " ".join((text or "").split())
    return words if len(words) <= QUOTE_MAX else words[: QUOTE_MAX - 1].rstrip() + "…"


def safety_phrase(checkin: CheckIn | None, fallback: str) -> str:
    """CLINICAL.md §3: what item 9 was answered, and the total beside it."""
    item = PHQ9.safety_item
    if checkin is None or item is None or len(checkin.answers) < item:
        return fallback
    value = checkin.answers[item - 1]
    words = {o.value: o.text for o in PHQ9.options}.get(value, str(value))
    return f"Item 9 (thoughts of death or self-harm) answered “{words}”; PHQ-9 {checkin.total}"


def item9_words(value: int) -> str:
    return {o.value: o.text for o in PHQ9.options}.get(value, str(value))


def safety_alert_phrase(alert: Alert, checkin: CheckIn | None) -> str:
    """CLINICAL.md §3: the highest item 9 answer of the check-ins that raised the alert ("nearly every day"
    marked as the highest), the first check-in's total, and a reply in words quoted."""
    parts = []
    if alert.highest_item9 is not None and (checkin is None or alert.highest_item9 != _item9(checkin)):
        highest = (
            f"Item 9 (thoughts of death or self-harm) answered “{item9_words(alert.highest_item9)}” at the highest"
        )
        parts.append(highest + (" (the highest answer)" if alert.highest_is_nearly_every_day else ""))
    elif checkin is not None:
        phrase = safety_phrase(checkin, alert.reason)
        if alert.highest_is_nearly_every_day:
            phrase = phrase.replace("”;", "” (the highest answer);", 1)
        parts.append(phrase)
    if alert.reply_text:
        parts.append(f"Replied by text at item 9: “{_quote(alert.reply_text)}”")
    return "; ".join(parts) if parts else alert.reason


def _item9(checkin: CheckIn) -> int | None:
    item = PHQ9.safety_item
    if item is None or len(checkin.answers) < item:
        return None
    return int(checkin.answers[item - 1])


def staff_name(email: str | None, phone: str | None, display_name: str | None = None) -> str:
    """Who took charge of an alert, as colleagues know them: their display name, else how they log in."""
    return (display_name or "").strip() or email or phone or "a colleague"


def missed_phrase(
    latest_at: datetime | None, limit_days: int, opted_out: bool, now: datetime, zone: tzinfo = UTC
) -> str:
    """A missed check-in alert as it stands now (the stored reason is as it stood when raised): 'No check-in for
    26 days (the clinic's limit is 14).'"""
    reason = f"{ages.capital(ages.no_checkin_for(latest_at, now, zone))} (the clinic's limit is {limit_days} days)."
    if opted_out:
        reason += " The patient has opted out of texts: please reach them another way."
    return reason


def _days(delta: timedelta) -> str:
    days = round(delta.total_seconds() / 86400)
    if days == 0:
        return "the same day"
    return f"over {days} day{'s' if days != 1 else ''}"


def evidence_phrase(evidence: Sequence[relapse.CheckInPoint], reference_low: int | None, zone: tzinfo = UTC) -> str:
    """'PHQ-9 14 → 17 over 8 days, low was 6': the cited check-ins and the §5 reference low they rose from."""
    ordered = relapse.sort_checkins(evidence)
    if not ordered:
        return ""
    totals = [str(p.total) for p in ordered]
    if len(totals) > 4:
        totals = [totals[0], "…", totals[-1]]
    if len(ordered) == 1:
        local = in_zone(ordered[0].taken_at, zone)
        text = f"PHQ-9 {ordered[0].total} on {local:%b} {local.day}"
    else:
        text = f"PHQ-9 {' → '.join(totals)} {_days(ordered[-1].taken_at - ordered[0].taken_at)}"
    if reference_low is not None:
        text += f", low was {reference_low}"
    return text


def reference_low_of(
    evidence_ids: Iterable[str],
    checkins: Sequence[relapse.CheckInPoint],
    infusions: Sequence[relapse.InfusionPoint],
) -> int | None:
    """CLINICAL.md §5: the reference low of the latest cited check-in, within the window it was taken in."""
    cited = set(evidence_ids)
    in_window = relapse.window(checkins, infusions)
    lows = relapse.reference_lows(in_window)
    found = [low for point, low in zip(in_window, lows, strict=True) if point.id in cited]
    return found[-1] if found else None


def request_phrase(
    request: BoosterRequest,
    checkins: Sequence[relapse.CheckInPoint],
    infusions: Sequence[relapse.InfusionPoint],
    zone: tzinfo = UTC,
) -> str:
    """Why a booster request was raised, in one phrase: its evidence, or the words of whoever raised it.

    `checkins` are the patient's PHQ-9s; `infusions` those given before the request was raised, so the
    window is the one the request was raised in (CLINICAL.md §5: a later infusion completes it).
    """
    cited = [str(e.checkin_id) for e in request.evidence]
    evidence = [p for p in checkins if p.id in set(cited)]
    parts = []
    if evidence:
        parts.append(evidence_phrase(evidence, reference_low_of(cited, checkins, infusions), zone))
    if request.raised_by == "patient":
        parts.append(f"Patient asked: “{_quote(request.patient_reason)}”")
    elif request.raised_by == "clinician":
        parts.append(f"Raised by a clinician: “{_quote(request.patient_reason)}”")
    if not parts:
        parts.append("Raised by the relapse scan")
    if request.status == "approved":
        parts.append("approved, not booked yet")
    return "; ".join(parts)


@dataclass(frozen=True)
class Flagged:
    """A patient whose last safety follow-up was resolved at high risk (CLINICAL.md §3), until a clinician clears it."""

    patient_id: uuid.UUID
    patient_name: str
    flagged_at: datetime


FLAGGED_SHOWN = 50


@dataclass(frozen=True)
class QueuePage:
    """A page of the queue, with how many items of each kind the whole queue holds."""

    items: list[QueueItem]
    page: int
    more: bool
    counts: dict[str, int]  # safety, booster, attention
    flagged: list[Flagged] = field(default_factory=list)  # on the first page: high risk at the last follow-up


def flagged_patients(staff: User, limit: int = FLAGGED_SHOWN) -> list[Flagged]:
    """The clinic's patients flagged at high risk by their last safety follow-up, most recent first (one query)."""
    rows = db.session.execute(
        scope.staff_patients(staff)
        .with_only_columns(Patient.id, Patient.display_name, Patient.high_risk_flagged_at)
        .where(Patient.high_risk_flagged_at.is_not(None))
        .order_by(Patient.high_risk_flagged_at.desc(), Patient.id)
        .limit(limit)
    ).all()
    return [Flagged(row[0], row[1], row[2]) for row in rows]


def _keys(staff: User, now: datetime) -> sa.Subquery:
    """Every item of the queue as its sort key only: where it comes from, its id, group, kind and age."""
    back_after = now - alert_queries.RETURNS_AFTER
    safety = Alert.kind == "safety"
    acknowledged = sa.and_(safety, Alert.status == "acknowledged")
    returned = sa.and_(acknowledged, Alert.acknowledged_at <= back_after)
    # A request's own alerts (the patient asked, the scan raised it or made it urgent) fold into its row while it
    # awaits a decision or a booking; once booked or decided it needs nobody, so they stay out whatever its status.
    # A discharged patient's request was cancelled by the discharge, not decided by anyone (CLINICAL.md §5): the
    # alerts it carried stay on the queue, each on its own row, until a clinician resolves them.
    discharged = sa.exists().where(Patient.id == Alert.patient_id, Patient.phase == "discharged")
    folded = sa.and_(Alert.kind == "attention", Alert.booster_request_id.is_not(None), sa.not_(discharged))
    alerts = (
        alert_queries.alerts_query(staff, status=alert_queries.UNRESOLVED)
        .order_by(None)
        .with_only_columns(
            sa.literal("alert").label("source"),
            Alert.id,
            Alert.kind,
            sa.case(
                (sa.and_(acknowledged, sa.not_(returned)), RANKS["to_resolve"]),
                (safety, RANKS["safety"]),
                (Alert.cause == SEVERE_SIDE_EFFECT, RANKS["side_effect"]),
                else_=RANKS["attention"],
            ).label("rank"),
            sa.case((returned, 0), else_=1).label("not_returned"),
            Alert.raised_at,
        )
        .where(sa.not_(folded))
    )
    requests = (
        booster_queries.requests_query(staff, AWAITING)
        .order_by(None)
        .with_only_columns(
            sa.literal("request").label("source"),
            BoosterRequest.id,
            sa.literal("booster").label("kind"),
            sa.case((BoosterRequest.urgency == "urgent", RANKS["urgent"]), else_=RANKS["routine"]).label("rank"),
            sa.literal(1).label("not_returned"),
            BoosterRequest.raised_at,
        )
    )
    return sa.union_all(alerts, requests).subquery("queue")


def queue_page(staff: User, now: datetime, page: int = 1, per_page: int = PER_PAGE) -> QueuePage:
    """A page of the staff member's clinic's queue, most pressing first; the read is written to the audit log.

    The order is decided in SQL over the items' keys, so only the page's items are loaded, and of them only what
    the queue draws: a fixed number of queries and rows, however long the queue.
    """
    page = max(page, 1)
    zone = zone_of(staff.clinic.timezone)
    keys = _keys(staff, now)
    totals = {kind: sa.func.sum(sa.case((keys.c.kind == kind, 1), else_=0)).over() for kind in COUNTED}
    key_rows = db.session.execute(
        sa.select(keys.c.source, keys.c.id, *(total.label(f"n_{kind}") for kind, total in totals.items()))
        # CLINICAL.md §3: an acknowledged safety alert not resolved in 24 hours comes back to the very top.
        .order_by(keys.c.rank, keys.c.not_returned, keys.c.raised_at, keys.c.id)
        .limit(per_page + 1)
        .offset((page - 1) * per_page)
    ).all()
    counts = {kind: int(getattr(key_rows[0], f"n_{kind}")) if key_rows else 0 for kind in COUNTED}
    more = len(key_rows) > per_page
    key_rows = key_rows[:per_page]
    alert_ids = [row.id for row in key_rows if row.source == "alert"]
    request_ids = [row.id for row in key_rows if row.source == "request"]

    alert_rows: list[sa.Row[Any]] = []
    if alert_ids:
        alert_rows = list(
            db.session.execute(
                # CLINICAL.md §3: with the check-in that raised a safety alert, for the answer its phrase quotes;
                # the latest check-in's time, so a missed check-in says its age as it is now.
                sa.select(
                    Alert,
                    Patient.display_name,
                    User.email,
                    User.phone,
                    CheckIn,
                    User.display_name,
                    Patient.high_risk_flagged_at,
                    Patient.sms_opted_out,
                    PatientSummaryRow.latest_at,
                )
                .join(Patient, Patient.id == Alert.patient_id)
                .outerjoin(PatientSummaryRow, PatientSummaryRow.patient_id == Alert.patient_id)
                .outerjoin(User, User.id == Alert.acknowledged_by_id)
                .outerjoin(CheckIn, sa.and_(CheckIn.id == Alert.checkin_id, Alert.kind == "safety"))
                .where(Alert.id.in_(alert_ids))
                .options(load_only(*ALERT_COLUMNS), load_only(CheckIn.id, CheckIn.answers, CheckIn.total))
            )
        )
    request_rows: list[sa.Row[tuple[BoosterRequest, str, datetime | None]]] = []
    if request_ids:
        request_rows = list(
            db.session.execute(
                sa.select(BoosterRequest, Patient.display_name, Patient.high_risk_flagged_at)
                .join(Patient, Patient.id == BoosterRequest.patient_id)
                .where(BoosterRequest.id.in_(request_ids))
                .options(load_only(*REQUEST_COLUMNS), selectinload(BoosterRequest.evidence))
            )
        )
    request_patients = list({row[0].patient_id for row in request_rows})
    points = relapse_inputs.phq9_points(request_patients)
    given = relapse_inputs.given_points(request_patients)

    built: dict[uuid.UUID, QueueItem] = {}
    back_after = now - alert_queries.RETURNS_AFTER
    limit_days = staff.clinic.missed_checkin_alert_days
    for alert, name, taker_email, taker_phone, checkin, taker_name, flagged_at, opted_out, latest_at in alert_rows:
        returned = False
        if alert.kind == "safety":
            why = safety_alert_phrase(alert, checkin)
            acknowledged = alert.status == "acknowledged"
            returned = acknowledged and alert.acknowledged_at is not None and alert.acknowledged_at <= back_after
            rank = RANKS["to_resolve"] if acknowledged and not returned else RANKS["safety"]
            if returned:
                title = "Safety: item 9, acknowledged, not resolved in 24 h"
            elif acknowledged:
                title = "Safety: item 9, to resolve"
            else:
                title = "Safety: item 9"
        else:
            missed = alert.cause == "missed_checkin"
            title = "Missed check-ins" if missed else "Needs attention"
            # Another instrument's gap (CLINICAL.md §7, a GAD-7 on the schedule) keeps the reason it was raised
            # with: the latest check-in time here is the PHQ-9's, and its limit is the weekly one.
            other_instrument = (alert.dedupe_key or "").startswith("missed-checkin-alert:gad7:")
            phrased = missed and not other_instrument
            why = missed_phrase(latest_at, limit_days, opted_out, now, zone) if phrased else alert.reason
            rank = RANKS["side_effect"] if alert.cause == SEVERE_SIDE_EFFECT else RANKS["attention"]
        taken_by = staff_name(taker_email, taker_phone, taker_name) if alert.acknowledged_by_id else None
        built[alert.id] = QueueItem(
            kind=alert.kind,
            rank=rank,
            title=title,
            why=why,
            patient_id=alert.patient_id,
            patient_name=name,
            raised_at=alert.raised_at,
            target_id=alert.id,
            deadline=alert.deadline if alert.status == "open" else None,
            escalated_at=alert.escalated_at,
            status=alert.status,
            escalation_step=alert.escalation_step,
            escalated_all_at=alert.escalated_all_at,
            acknowledged_by=taken_by,
            acknowledged_at=alert.acknowledged_at,
            returned=returned,
            reply_text=alert.reply_text,
            high_risk=flagged_at is not None,
        )
    for request, name, flagged_at in request_rows:
        before = [i for i in given.get(request.patient_id, []) if i.given_at <= request.raised_at]
        why = request_phrase(request, points.get(request.patient_id, []), before, zone)
        built[request.id] = QueueItem(
            kind="booster",
            rank=RANKS[request.urgency],
            title=f"{request.urgency.capitalize()} booster request",
            why=why,
            patient_id=request.patient_id,
            patient_name=name,
            raised_at=request.raised_at,
            target_id=request.id,
            status=request.status,
            high_risk=flagged_at is not None,
        )
    items = [built[row.id] for row in key_rows if row.id in built]
    detail: dict[str, Any] = {"count": len(items)}
    if page > 1:
        detail["page"] = page
    flagged = flagged_patients(staff) if page == 1 else []
    if flagged:
        detail["flagged"] = len(flagged)
    audit.record(staff, "attention.list", detail=detail)
    return QueuePage(items, page, more, counts, flagged)


def queue(staff: User, now: datetime, page: int = 1, per_page: int = PER_PAGE) -> list[QueueItem]:
    """The items of one page of the queue (`queue_page`), most pressing first."""
    return queue_page(staff, now, page, per_page).items
