"""A patient's record as the clinic's page shows it: one read (audited), a fixed number of queries.

Everything the page needs is gathered here, from the services that own each rule: the outcome from
course_queries.patient_outcome (CLINICAL.md §4), infusions from course_queries.infusions_of, the request's phrase from
attention.request_phrase (CLINICAL.md §5). The page draws the chart from it (tracker/web/charts.py).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, tzinfo

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from tracker import relapse
from tracker.extensions import db
from tracker.infusions import checks_of_saved
from tracker.instruments import GAD7, PHQ9
from tracker.local_time import wall_clock, zone_of
from tracker.models import (
    Alert,
    AuditEvent,
    BoosterRequest,
    CheckIn,
    Clinic,
    Infusion,
    OutboundMessage,
    Patient,
    PhaseChange,
    User,
)
from tracker.models.user import STAFF_ROLES
from tracker.outcomes import Outcome
from tracker.reminders import REMINDER_PHASES
from tracker.services import scope
from tracker.services.alerts import queries as alert_queries
from tracker.services.audit import trail as audit
from tracker.services.boosters import requests as boosters
from tracker.services.checkins.queries import OLDEST_FIRST
from tracker.services.clinic import attention, oncall_text
from tracker.services.clinic import medicines as medicine_list
from tracker.services.course import queries as course_queries
from tracker.vitals import BP_FIELDS, HOLD

HEATMAP_COLUMNS = 10


# The checked fields as a clinician names them beside a saved infusion.
CHECK_WORDS = {"dose_mg_per_kg": "Dose", "observed_min": "Observation", "ride_home_confirmed": "Ride home"}


MESSAGES_SHOWN = 30


ACKNOWLEDGED_SHOWN = 10


PHASES_SHOWN = 10


# Short row names for the heat map of CLINICAL.md §2's nine items; the full wording goes beside them for
# screen readers (the table's row headers) and in the legend.
ITEM_SHORT = {
    1: "Interest",
    2: "Mood",
    3: "Sleep",
    4: "Energy",
    5: "Appetite",
    6: "Self-worth",
    7: "Concentration",
    8: "Movement",
    9: "Self-harm",
}


@dataclass(frozen=True)
class HeatRow:
    number: int
    short: str
    text: str
    values: tuple[int, ...]


@dataclass(frozen=True)
class HeatMap:
    """Rows: the nine items; columns: the recent check-ins, oldest on the left (so a return reads rightwards)."""

    columns: tuple[CheckIn, ...]
    rows: tuple[HeatRow, ...]


@dataclass(frozen=True)
class PatientRecord:
    patient: Patient
    clinic: Clinic
    checkins: list[CheckIn]  # PHQ-9s, oldest first
    outcome: Outcome
    infusions: list[Infusion]  # latest first (course_queries.infusions_of)
    requests: list[BoosterRequest]  # newest first
    alerts: list[Alert]  # those waiting on a clinician first (open, safety to resolve), then the latest handled
    messages: list[OutboundMessage]  # newest first
    phases: list[PhaseChange]  # newest first
    people: dict[uuid.UUID, User]  # the staff named on the page (deciders, acknowledgers)
    # Each given infusion's corrections, oldest first: when, by whom and why (the old values are in the audit log).
    corrections: dict[str, list[AuditEvent]] = field(default_factory=dict)
    # Each infusion given at a hold blood pressure: the latest event that confirmed it (CLINICAL.md §7).
    hold_confirmations: dict[str, AuditEvent] = field(default_factory=dict)
    gad7: list[CheckIn] = field(default_factory=list)  # GAD-7s, oldest first: their own chart, on their own scale
    # CLINICAL.md §7: other medicines, current ones on the clinic's review list marked.
    medicines: medicine_list.MedicineList = field(default_factory=lambda: medicine_list.MedicineList(()))
    # Each safety alert's first text to the on-call contact, by alert id (oncall_text.py).
    oncall_texts: dict[uuid.UUID, OutboundMessage] = field(default_factory=dict)

    @property
    def open_request(self) -> BoosterRequest | None:
        return next((r for r in self.requests if r.is_open), None)

    @property
    def request_actions(self) -> tuple[str, ...]:
        """What staff may decide on the open request now (boosters.allowed_actions); nothing without one."""
        request = self.open_request
        return boosters.allowed_actions(request) if request is not None else ()

    @property
    def open_alerts(self) -> list[Alert]:
        """What waits on a clinician: open alerts, and safety alerts acknowledged but not resolved (CLINICAL.md §3)."""
        return [a for a in self.alerts if _waiting(a)]

    @property
    def handled_alerts(self) -> list[Alert]:
        return [a for a in self.alerts if not _waiting(a)]

    def returned(self, alert: Alert, now: datetime) -> bool:
        """CLINICAL.md §3: acknowledged, not resolved within 24 hours: back at the top of the queue."""
        return (
            alert.kind == "safety"
            and alert.status == "acknowledged"
            and alert.acknowledged_at is not None
            and alert.acknowledged_at <= now - alert_queries.RETURNS_AFTER
        )

    def alert_checkins(self, alert: Alert) -> list[tuple[CheckIn | None, int]]:
        """CLINICAL.md §3: every check-in that raised or joined a safety alert, with its item 9 answer."""
        by_id = {c.id: c for c in self.checkins}
        return [(by_id.get(link.checkin_id), link.item9) for link in alert.checkin_links]

    @property
    def window_start(self) -> datetime | None:
        """CLINICAL.md §5: the current window opens at the most recent infusion given."""
        return relapse.window_start(self._given())

    def _given(self, before: datetime | None = None) -> list[relapse.InfusionPoint]:
        return [
            relapse.InfusionPoint(str(i.id), i.given_at)
            for i in self.infusions
            if i.status == "given" and i.given_at is not None and (before is None or i.given_at <= before)
        ]

    def _points(self) -> list[relapse.CheckInPoint]:
        return [relapse.CheckInPoint(str(c.id), c.taken_at, c.total) for c in self.checkins]

    def why(self, request: BoosterRequest, zone: tzinfo) -> str:
        """The request's phrase, as the queue writes it."""
        return attention.request_phrase(request, self._points(), self._given(request.raised_at), zone)

    def alert_phrase(self, alert: Alert, now: datetime | None = None, zone: tzinfo | None = None) -> str:
        """Why an alert was raised, as the queue says it: a missed check-in still waiting, as it stands now."""
        if alert.cause == "missed_checkin" and _waiting(alert) and now is not None and zone is not None:
            latest = self.checkins[-1].taken_at if self.checkins else None
            return attention.missed_phrase(
                latest, self.clinic.missed_checkin_alert_days, self.patient.sms_opted_out, now, zone
            )
        if alert.kind != "safety":
            return alert.reason
        checkin = next((c for c in self.checkins if c.id == alert.checkin_id), None)
        return attention.safety_alert_phrase(alert, checkin)

    def oncall_step(self, alert: Alert, now: datetime, zone: tzinfo) -> str:
        """What became of the safety alert's text to the on-call contact, as the outbox has it."""
        return oncall_text.step(self.oncall_texts.get(alert.id), self.recipient, now, zone)

    def person(self, user_id: uuid.UUID | None) -> str:
        """A staff member named on the page; the system (a job) when nobody is."""
        user = self.people.get(user_id) if user_id is not None else None
        if user is None:
            return "the system" if user_id is None else "a former colleague"
        return user.name

    @property
    def reminders_live(self) -> bool:
        """Whether reminders go out now (tracker/reminders.py): on, in a reminder phase, and texts not stopped.
        A discharged patient gets none, whatever their setting says."""
        patient = self.patient
        return patient.reminders_enabled and patient.phase in REMINDER_PHASES and not patient.sms_opted_out

    def recipient(self, phone: str) -> str:
        """Who a text went to, in words: the patient, the clinic's on-call or backup contact, a colleague."""
        if phone == self.patient.phone:
            return "the patient"
        if phone == self.clinic.oncall_phone:
            return "the on-call contact"
        if phone == self.clinic.backup_phone:
            return "the backup contact"
        member = next((u for u in self.people.values() if u.phone == phone), None)
        return member.name if member is not None else "a clinic contact"

    def heatmap(self, columns: int = HEATMAP_COLUMNS) -> HeatMap:
        return heatmap(self.checkins, columns)

    def infusion_checks(self, infusion: Infusion) -> list[str]:
        """The safety checks shown beside a saved infusion (tracker.infusions, CLINICAL.md §1), in words."""
        checks = checks_of_saved(
            infusion.status, infusion.dose_mg_per_kg, infusion.observed_min, infusion.ride_home_confirmed
        )
        words = [f"{CHECK_WORDS.get(c.field, c.field)} {c.message}" for c in checks]
        # CLINICAL.md §7: blood pressure at the caution level (a hold is infusion_holds', drawn apart), and heart
        # rate and SpO2 outside the usual ranges, confirmed when saved.
        vitals = [c.message for c in infusion.vital_checks if c.level != HOLD]
        vitals += [c.message for c in infusion.number_checks]
        return words + [m[:1].upper() + m[1:] for m in vitals]

    def infusion_holds(self, infusion: Infusion) -> list[str]:
        """CLINICAL.md §7: the readings at the clinic's hold-and-review level that the clinician confirmed giving
        the infusion at, with who confirmed it and when (the audit event that recorded the confirmation)."""
        holds = [c for c in infusion.vital_checks if c.level == HOLD]
        event = self.hold_confirmations.get(str(infusion.id))
        by = "the clinician"
        if event is not None:
            by = f"{self.person(event.actor_id)} at {wall_clock(event.at, zone_of(self.clinic.timezone))}"
        return [f"{c.message[:1].upper() + c.message[1:]}; confirmed by {by}" for c in holds]


def _waiting(alert: Alert) -> bool:
    return alert.status == "open" or (alert.kind == "safety" and alert.status == "acknowledged")


def heatmap(checkins: list[CheckIn], columns: int = HEATMAP_COLUMNS) -> HeatMap:
    """The item scores of the latest `columns` PHQ-9s: which symptoms come back first."""
    recent = tuple(c for c in checkins if c.instrument == PHQ9.name)[-columns:]
    rows = tuple(
        HeatRow(
            item.number,
            ITEM_SHORT.get(item.number, str(item.number)),
            item.text,
            tuple(c.answers[item.number - 1] for c in recent),
        )
        for item in PHQ9.items
    )
    return HeatMap(recent, rows)


def read(staff: User, patient_id: str | uuid.UUID, view: str | None = None) -> PatientRecord:
    """The patient's record for a staff member of their clinic (NotFound otherwise); audited as patient.read,
    with the `view` that showed it when it is not the patient's page (the printed summary)."""
    patient = scope.get_patient_for_staff(staff, patient_id)
    clinic = patient.clinic
    both = list(
        db.session.scalars(
            sa.select(CheckIn)
            .where(CheckIn.patient_id == patient.id, CheckIn.instrument.in_((PHQ9.name, GAD7.name)))
            .order_by(*OLDEST_FIRST)  # CLINICAL.md §5: the one order of check-ins
        )
    )
    checkins = [c for c in both if c.instrument == PHQ9.name]
    requests = list(
        db.session.scalars(
            sa.select(BoosterRequest)
            .where(BoosterRequest.patient_id == patient.id)
            .options(selectinload(BoosterRequest.evidence))
            .order_by(BoosterRequest.raised_at.desc(), BoosterRequest.id)
        )
    )
    waiting = sa.or_(Alert.status == "open", sa.and_(Alert.kind == "safety", Alert.status == "acknowledged"))
    alerts = list(
        db.session.scalars(
            sa.select(Alert)
            .where(Alert.patient_id == patient.id)
            .options(selectinload(Alert.checkin_links))
            .order_by(
                sa.case((waiting, 0), else_=1),
                sa.case((Alert.kind == "safety", 0), else_=1),
                Alert.raised_at.desc(),
            )
        )
    )
    alerts = [a for a in alerts if _waiting(a)] + [a for a in alerts if not _waiting(a)][:ACKNOWLEDGED_SHOWN]
    messages = list(
        db.session.scalars(
            sa.select(OutboundMessage)
            .where(OutboundMessage.patient_id == patient.id)
            .order_by(OutboundMessage.created_at.desc(), OutboundMessage.id)
            .limit(MESSAGES_SHOWN)
        )
    )
    phases = list(
        db.session.scalars(
            sa.select(PhaseChange)
            .where(PhaseChange.patient_id == patient.id)
            .order_by(PhaseChange.changed_at.desc(), PhaseChange.id)
            .limit(PHASES_SHOWN)
        )
    )
    corrections: dict[str, list[AuditEvent]] = {}
    hold_confirmations: dict[str, AuditEvent] = {}
    for event in db.session.scalars(
        sa.select(AuditEvent)
        .where(AuditEvent.patient_id == patient.id, AuditEvent.action.in_(("infusion.update", "infusion.record")))
        .order_by(AuditEvent.at, AuditEvent.id)
    ):
        # course.update_infusion keeps "before" only when a given infusion's record changed.
        if event.target_id and event.detail and event.detail.get("before") and event.detail.get("reason"):
            corrections.setdefault(event.target_id, []).append(event)
        # A blood pressure among an event's warnings is a hold the clinician confirmed (cautions are not asked).
        if event.target_id and event.detail and set(event.detail.get("warnings") or ()) & set(BP_FIELDS):
            hold_confirmations[event.target_id] = event
    named = {r.decided_by_id for r in requests} | {a.acknowledged_by_id for a in alerts}
    named |= {e.actor_id for events in corrections.values() for e in events}
    named |= {e.actor_id for e in hold_confirmations.values()}
    named |= {a.resolved_by_id for a in alerts}
    named |= {p.changed_by_id for p in phases}
    named.discard(None)
    # And the colleagues texted about this patient (an escalation to every clinician), named by their phone.
    texted = {m.to_phone for m in messages} - {patient.phone, clinic.oncall_phone, clinic.backup_phone}
    wanted: list[sa.ColumnElement[bool]] = [User.id.in_(named)] if named else []
    if texted:
        wanted.append(sa.and_(User.clinic_id == clinic.id, User.phone.in_(texted), User.role.in_(STAFF_ROLES)))
    people = {u.id: u for u in db.session.scalars(sa.select(User).where(sa.or_(*wanted)))} if wanted else {}
    detail = {"view": view} if view is not None else None
    audit.record(staff, "patient.read", patient=patient, target_type="patient", target_id=patient.id, detail=detail)
    return PatientRecord(
        patient=patient,
        clinic=clinic,
        checkins=checkins,
        outcome=course_queries.patient_outcome(patient),
        infusions=course_queries.infusions_of(patient),
        requests=requests,
        alerts=alerts,
        messages=messages,
        phases=phases,
        people=people,
        corrections=corrections,
        hold_confirmations=hold_confirmations,
        gad7=[c for c in both if c.instrument == GAD7.name],
        medicines=medicine_list.of_patient(patient, clinic),
        oncall_texts=oncall_text.of_alerts(a.id for a in alerts if a.kind == "safety"),
    )
