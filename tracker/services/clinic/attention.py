"""The clinician's attention queue: who needs them now, in what order, and why, in a phrase.

Order: open safety alerts (CLINICAL.md §3), oldest first, with acknowledged safety alerts left unresolved for
24 hours back at the very top; then booster requests awaiting a decision or a
booking, urgent before routine, oldest first (CLINICAL.md §5); then missed check-ins and the other attention
alerts, oldest first; last, acknowledged safety alerts still to resolve. A booked (scheduled) request needs
nobody until its day, so it is left out.

The whole queue takes a fixed number of queries, whatever its length: alerts and requests each in one (with
their patients' names), the requests' evidence in one, then the check-ins and infusions the phrases rest on.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo

import sqlalchemy as sa
from sqlalchemy.orm import aliased, selectinload

from tracker import relapse
from tracker.extensions import db
from tracker.instruments import PHQ9
from tracker.local_time import duration_phrase, zone_of
from tracker.models import Alert, BoosterRequest, CheckIn, Patient, User
from tracker.services.alerts import queries as alert_queries

# The requests that wait on a clinician: a decision (open) or a booking (approved).
from tracker.services.audit import trail as audit
from tracker.services.boosters import queries as booster_queries
from tracker.services.course import relapse_inputs

AWAITING = ("open", "approved")
RANKS = {"safety": 0, "urgent": 1, "routine": 2, "attention": 3, "to_resolve": 4}
QUOTE_MAX = 90


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


def staff_name(user: User | None) -> str | None:
    if user is None:
        return None
    return user.email or user.phone or "a colleague"


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
        local = ordered[0].taken_at.astimezone(zone)
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


def _points(rows: Iterable[CheckIn]) -> dict[uuid.UUID, list[relapse.CheckInPoint]]:
    by_patient: dict[uuid.UUID, list[relapse.CheckInPoint]] = defaultdict(list)
    for row in rows:
        if row.instrument == PHQ9.name:
            by_patient[row.patient_id].append(relapse.CheckInPoint(str(row.id), row.taken_at, row.total))
    return by_patient


def queue(staff: User, now: datetime) -> list[QueueItem]:
    """The staff member's clinic's queue, most pressing first; the read is written to the audit log."""
    zone = zone_of(staff.clinic.timezone)
    taker = aliased(User)
    alert_rows = db.session.execute(
        alert_queries.alerts_query(staff, status=alert_queries.UNRESOLVED)
        .join(Patient, Patient.id == Alert.patient_id)
        .outerjoin(taker, taker.id == Alert.acknowledged_by_id)
        .add_columns(Patient.display_name, taker)
    ).all()
    request_rows = db.session.execute(
        booster_queries.requests_query(staff, AWAITING)
        .join(Patient, Patient.id == BoosterRequest.patient_id)
        .add_columns(Patient.display_name)
        .options(selectinload(BoosterRequest.evidence))
    ).all()
    requests = [row[0] for row in request_rows]
    request_patients = list({r.patient_id for r in requests})
    safety_checkins = [a.checkin_id for a, _, _ in alert_rows if a.kind == "safety" and a.checkin_id is not None]
    checkins: list[CheckIn] = []
    if safety_checkins or request_patients:
        checkins = list(
            db.session.scalars(
                sa.select(CheckIn).where(
                    sa.or_(
                        CheckIn.id.in_(safety_checkins),
                        sa.and_(CheckIn.patient_id.in_(request_patients), CheckIn.instrument == PHQ9.name),
                    )
                )
            )
        )
    by_id = {c.id: c for c in checkins}
    asking = set(request_patients)
    points = _points(c for c in checkins if c.patient_id in asking)
    given = relapse_inputs.given_points(request_patients)

    items: list[QueueItem] = []
    # A patient's own request opens an attention alert too (services/boosters.py): one row says it all.
    folded = {r.id for r in requests}
    back_after = now - alert_queries.RETURNS_AFTER
    for alert, name, taken_by in alert_rows:
        if alert.kind == "attention" and alert.booster_request_id in folded:
            continue
        returned = False
        if alert.kind == "safety":
            why = safety_alert_phrase(alert, by_id.get(alert.checkin_id) if alert.checkin_id else None)
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
            title, why = ("Missed check-ins" if missed else "Needs attention"), alert.reason
            rank = RANKS["attention"]
        items.append(
            QueueItem(
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
                acknowledged_by=staff_name(taken_by) if alert.acknowledged_by_id else None,
                acknowledged_at=alert.acknowledged_at,
                returned=returned,
                reply_text=alert.reply_text,
            )
        )
    for request, name in request_rows:
        before = [i for i in given.get(request.patient_id, []) if i.given_at <= request.raised_at]
        why = request_phrase(request, points.get(request.patient_id, []), before, zone)
        items.append(
            QueueItem(
                kind="booster",
                rank=RANKS[request.urgency],
                title=f"{request.urgency.capitalize()} booster request",
                why=why,
                patient_id=request.patient_id,
                patient_name=name,
                raised_at=request.raised_at,
                target_id=request.id,
                status=request.status,
            )
        )
    # Python's sort is stable: within a group, the queries' own order (oldest first) holds.
    # CLINICAL.md §3: an acknowledged safety alert not resolved in 24 hours comes back to the very top.
    items.sort(key=lambda item: (item.rank, not item.returned, item.raised_at))
    audit.record(staff, "attention.list", detail={"count": len(items)})
    return items
