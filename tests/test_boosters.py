"""Booster requests: raising, every allowed and refused transition, scheduling and its text, races."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from factories import Factory
from flask import Flask

from tracker.clock import FrozenClock
from tracker.errors import Conflict, Forbidden, Invalid, NotFound
from tracker.extensions import db
from tracker.models import (
    Alert,
    AuditEvent,
    BoosterRequest,
    Clinic,
    Infusion,
    OutboundMessage,
    Patient,
    PhaseChange,
    User,
)
from tracker.services.boosters import booking
from tracker.services.boosters import queries as booster_queries
from tracker.services.boosters import requests as boosters
from tracker.services.course import writes as course
from tracker.services.messaging import texts as messages

# 2026-12-01 15:30 UTC is Tuesday 9:30 AM in Chicago (CST) and 10:30 AM in New York (EST).
BOOKED_FOR = datetime(2026, 12, 1, 15, 30, tzinfo=UTC)
STATES = ("open", "approved", "scheduled", "completed", "declined", "cancelled")
ACTIONS = ("approve", "schedule", "decline", "cancel", "complete")
# API.md, written out here by hand so the test does not read the table it checks.
ALLOWED = {
    ("open", "approve"): "approved",
    ("open", "schedule"): "scheduled",
    ("approved", "schedule"): "scheduled",
    ("open", "decline"): "declined",
    ("approved", "decline"): "declined",
    ("open", "cancel"): "cancelled",
    ("approved", "cancel"): "cancelled",
    ("scheduled", "cancel"): "cancelled",
    ("open", "complete"): "completed",
    ("approved", "complete"): "completed",
    ("scheduled", "complete"): "completed",
}
TARGET = dict(zip(ACTIONS, ("approved", "scheduled", "declined", "cancelled", "completed"), strict=True))

pytestmark = pytest.mark.in_app_context  # conftest's clinic, clinician and patient are made in `ctx`


def audit_rows(action: str, target_id: object) -> list[AuditEvent]:
    query = sa.select(AuditEvent).where(AuditEvent.action == action, AuditEvent.target_id == str(target_id))
    return list(db.session.scalars(query))


def request_in(state: str, patient: Patient, clinician: User, factory: Factory) -> BoosterRequest:
    """A request brought to `state` through the services themselves."""
    request = boosters.raise_request(patient, "scan", None, None)
    if state in ("approved", "scheduled"):
        boosters.approve(request, clinician)
    if state == "scheduled":
        booking.schedule(request, clinician, BOOKED_FOR)
    if state == "completed":
        course.record_infusion(patient, kind="maintenance", status="given", by=clinician)
    if state == "declined":
        boosters.decline(request, clinician, "Doing well on review.")
    if state == "cancelled":
        boosters.cancel(request, clinician, "Patient moved away.")
    assert request.status == state
    return request


def act(action: str, request: BoosterRequest, clinician: User, patient: Patient) -> None:
    if action == "approve":
        boosters.approve(request, clinician, "Agreed on review.")
    elif action == "schedule":
        booking.schedule(request, clinician, BOOKED_FOR + timedelta(days=2))
    elif action == "decline":
        boosters.decline(request, clinician, "Symptoms settled.")
    elif action == "cancel":
        boosters.cancel(request, clinician, "Booked elsewhere.")
    else:
        given = Infusion(patient_id=patient.id, kind="booster", status="given", given_at=request.raised_at)
        db.session.add(given)
        db.session.flush()
        boosters.complete(request, given, clinician)


@pytest.mark.parametrize(("state", "action"), [(s, a) for s in STATES for a in ACTIONS])
def test_every_transition_is_allowed_or_refused_with_409(
    state: str, action: str, factory: Factory, clinician: User, patient: Patient
) -> None:
    request = request_in(state, patient, clinician, factory)
    if (state, action) in ALLOWED:
        act(action, request, clinician, patient)
        assert request.status == ALLOWED[(state, action)]
        return
    with pytest.raises(Conflict) as refused:
        act(action, request, clinician, patient)
    # The message names both states, and nothing changed.
    assert state in refused.value.detail and TARGET[action] in refused.value.detail
    assert refused.value.status == 409
    db.session.refresh(request)
    assert request.status == state


@pytest.mark.parametrize("action", ["approve", "schedule", "decline", "cancel"])
def test_a_decision_records_who_and_when_bumps_the_patient_and_is_audited(
    action: str, clock: FrozenClock, clinician: User, patient: Patient
) -> None:
    request = boosters.raise_request(patient, "scan", None, None)
    decided_at = clock.advance(hours=3)
    act(action, request, clinician, patient)
    assert request.decided_by_id == clinician.id
    assert request.decided_at == decided_at
    assert patient.changed_at == decided_at
    (row,) = audit_rows(f"booster.{action}", request.id)
    assert row.actor_id == clinician.id
    assert row.patient_id == patient.id and row.clinic_id == patient.clinic_id


@pytest.mark.parametrize("action", ["decline", "cancel"])
@pytest.mark.parametrize("reason", ["", "   "])
def test_decline_and_cancel_need_a_reason(action: str, reason: str, clinician: User, patient: Patient) -> None:
    request = boosters.raise_request(patient, "scan", None, None)
    decide = boosters.decline if action == "decline" else boosters.cancel
    with pytest.raises(Invalid) as refused:
        decide(request, clinician, reason)
    assert [p.field for p in refused.value.problems] == ["reason"]
    assert request.status == "open"


def test_scheduling_books_a_booster_infusion_and_texts_the_safety_instructions(
    clinician: User, patient: Patient, factory: Factory
) -> None:
    signal = factory.checkin(patient, total=17, days_ago=1)
    request = boosters.raise_request(patient, "scan", None, None, evidence_ids=[signal.id])
    result = booking.schedule(request, clinician, BOOKED_FOR)
    assert request.status == "scheduled"
    infusion = result.infusion
    assert (infusion.kind, infusion.status, infusion.scheduled_for) == ("booster", "scheduled", BOOKED_FOR)
    assert infusion.booster_request_id == request.id
    assert booster_queries.infusion_for(request) is infusion
    (sms,) = db.session.scalars(sa.select(OutboundMessage).where(OutboundMessage.patient_id == patient.id))
    assert sms is result.message
    assert (sms.to_phone, sms.purpose, sms.status) == (patient.phone, "booster_scheduled", "queued")
    body = sms.body
    assert "Tuesday, December 1 at 9:30 AM CST" in body  # the patient's zone, America/Chicago
    assert "ride home" in body
    assert "do not drive until after a full night's sleep" in body
    assert "Keep taking your prescribed medicines unless your clinic tells you otherwise" in body
    # No PHI: no drug, no score, no severity.
    assert not re.search(r"ketamine|esketamine|spravato|phq|severe|moderate|depress", body, re.IGNORECASE)
    assert not re.search(rf"\b{signal.total}\b", body)


def test_the_booking_text_uses_the_patients_own_time_zone(factory: Factory, clinic: Clinic, clinician: User) -> None:
    patient = factory.patient(clinic, timezone="America/New_York")
    request = boosters.raise_request(patient, "clinician", clinician, "Asked at the front desk.")
    message = booking.schedule(request, clinician, BOOKED_FOR).message
    assert message is not None
    assert "Tuesday, December 1 at 10:30 AM EST" in message.body


def test_no_text_when_the_patient_opted_out(factory: Factory, clinic: Clinic, clinician: User) -> None:
    patient = factory.patient(clinic, sms_opted_out=True)
    request = boosters.raise_request(patient, "scan", None, None)
    result = booking.schedule(request, clinician, BOOKED_FOR)
    assert result.message is None
    assert request.status == "scheduled"
    assert db.session.scalars(sa.select(OutboundMessage).where(OutboundMessage.patient_id == patient.id)).all() == []


def test_booster_template_is_free_of_phi() -> None:
    assert messages.ALL_TEMPLATES["booster_scheduled"] is messages.BOOSTER_SCHEDULED
    assert not re.search(r"ketamine|esketamine|spravato|\d", messages.BOOSTER_SCHEDULED, re.IGNORECASE)


@pytest.mark.parametrize(
    "when",
    [
        pytest.param(datetime(2026, 11, 20, 9, 0, tzinfo=UTC), id="past"),
        pytest.param(datetime(2026, 12, 1, 9, 0), id="naive"),
    ],
)
def test_schedule_refuses_a_past_or_zoneless_time(when: datetime, clinician: User, patient: Patient) -> None:
    request = boosters.raise_request(patient, "scan", None, None)
    with pytest.raises(Invalid) as refused:
        booking.schedule(request, clinician, when)
    assert [p.field for p in refused.value.problems] == ["scheduled_for"]
    assert request.status == "open"
    assert db.session.scalars(sa.select(Infusion).where(Infusion.patient_id == patient.id)).all() == []


def test_cancelling_a_scheduled_request_cancels_its_infusion(clinician: User, patient: Patient) -> None:
    request = boosters.raise_request(patient, "scan", None, None)
    infusion = booking.schedule(request, clinician, BOOKED_FOR).infusion
    boosters.cancel(request, clinician, "Patient is travelling.")
    assert (request.status, request.reason) == ("cancelled", "Patient is travelling.")
    assert infusion.status == "cancelled"
    (row,) = audit_rows("booster.cancel", request.id)
    assert row.detail == {"cancelled_infusions": [str(infusion.id)]}


def test_giving_the_booked_infusion_completes_the_request(
    clock: FrozenClock, clinician: User, patient: Patient
) -> None:
    request = boosters.raise_request(patient, "scan", None, None)
    infusion = booking.schedule(request, clinician, BOOKED_FOR).infusion
    clock.set(BOOKED_FOR + timedelta(hours=1))
    result = course.update_infusion(infusion, {"status": "given", "weight_kg": 70}, clinician)
    assert result.completed_request is request
    assert request.status == "completed"
    assert infusion.given_at == BOOKED_FOR + timedelta(hours=1)
    assert len(audit_rows("booster.complete", request.id)) == 1


@pytest.mark.parametrize("second", ["scan", "patient", "clinician"])
@pytest.mark.parametrize("first_state", ["open", "approved", "scheduled"])
def test_a_second_open_request_is_a_conflict(
    second: str, first_state: str, factory: Factory, clinician: User, patient: Patient
) -> None:
    request_in(first_state, patient, clinician, factory)
    by = {"scan": None, "patient": patient.user, "clinician": clinician}[second]
    with pytest.raises(Conflict):
        boosters.raise_request(patient, second, by, "I feel worse again.")
    assert len(booster_queries.requests_for_patient(patient)) == 1


@pytest.mark.parametrize("closed", ["completed", "declined", "cancelled"])
def test_a_closed_request_leaves_room_for_a_new_one(
    closed: str, factory: Factory, clinician: User, patient: Patient
) -> None:
    request_in(closed, patient, clinician, factory)
    fresh = boosters.raise_request(patient, "patient", patient.user, "Symptoms are back.")
    assert fresh.status == "open"


def test_a_race_past_the_check_is_caught_by_the_unique_index(monkeypatch: pytest.MonkeyPatch, patient: Patient) -> None:
    first = boosters.raise_request(patient, "scan", None, None)
    # As if a second request checked before the first was written: only the index stands in the way.
    monkeypatch.setattr(boosters, "open_request_for", lambda _patient_id: None)
    with pytest.raises(Conflict):
        boosters.raise_request(patient, "patient", patient.user, "Me too.")
    # The SAVEPOINT kept the transaction usable, with only the first request in it.
    assert [r.id for r in booster_queries.requests_for_patient(patient)] == [first.id]
    assert db.session.scalars(sa.select(Alert).where(Alert.patient_id == patient.id)).all() == []


def test_a_patient_raised_request_opens_an_attention_alert(patient: Patient) -> None:
    request = boosters.raise_request(patient, "patient", patient.user, "  Feeling low again.  ")
    assert (request.raised_by, request.raised_by_user_id) == ("patient", patient.user_id)
    assert request.patient_reason == "Feeling low again."
    (alert,) = db.session.scalars(sa.select(Alert).where(Alert.patient_id == patient.id))
    assert (alert.kind, alert.status, alert.booster_request_id) == ("attention", "open", request.id)
    assert len(audit_rows("booster.raise", request.id)) == 1


@pytest.mark.parametrize("raised_by", ["scan", "clinician"])
def test_scan_and_clinician_requests_open_no_alert(raised_by: str, clinician: User, patient: Patient) -> None:
    by = clinician if raised_by == "clinician" else None
    boosters.raise_request(patient, raised_by, by, "Seen in clinic." if by else None)
    assert db.session.scalars(sa.select(Alert).where(Alert.patient_id == patient.id)).all() == []


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"raised_by": "nurse"}, "raised_by"),
        ({"urgency": "soon"}, "urgency"),
        ({"raised_by": "patient", "reason": "  "}, "reason"),
        ({"raised_by": "patient", "reason": "x" * 501}, "reason"),
        ({"evidence_ids": ["not-an-id"]}, "evidence"),
        ({"evidence_ids": [uuid.uuid4()]}, "evidence"),
    ],
)
def test_raise_refuses_bad_values(kwargs: dict[str, object], field: str, patient: Patient) -> None:
    args: dict[str, object] = {"raised_by": "scan", "by": None, "reason": None, **kwargs}
    if args["raised_by"] == "patient":
        args["by"] = patient.user
    with pytest.raises(Invalid) as refused:
        boosters.raise_request(patient, **args)  # type: ignore[arg-type]
    assert [p.field for p in refused.value.problems] == [field]
    assert booster_queries.requests_for_patient(patient) == []


def test_evidence_must_be_the_patients_own(factory: Factory, clinic: Clinic, patient: Patient) -> None:
    stranger = factory.checkin(factory.patient(clinic), total=15)
    with pytest.raises(Invalid):
        boosters.raise_request(patient, "scan", None, None, evidence_ids=[stranger.id])


def test_add_evidence_is_idempotent_and_only_upgrades_urgency(
    factory: Factory, clinician: User, patient: Patient
) -> None:
    first, second, third = (factory.checkin(patient, total=t, days_ago=d) for t, d in ((12, 9), (13, 3), (21, 1)))
    request = boosters.raise_request(patient, "scan", None, None, evidence_ids=[first.id])
    assert boosters.add_evidence(request, [first.id, second.id]) == [second.id]
    assert boosters.add_evidence(request, [str(first.id), str(second.id)]) == []
    assert boosters.add_evidence(request, [third.id], urgency="urgent") == [third.id]
    assert request.urgency == "urgent"
    assert boosters.add_evidence(request, [third.id], urgency="routine") == []
    assert request.urgency == "urgent"  # never downgraded
    db.session.expire_all()
    assert {e.checkin_id for e in request.evidence} == {first.id, second.id, third.id}
    assert len(request.evidence) == 3
    boosters.decline(request, clinician, "Reviewed by phone.")
    with pytest.raises(Conflict):
        boosters.add_evidence(request, [third.id])


def test_the_clinic_list_is_scoped_ordered_urgent_then_oldest_and_audited(
    factory: Factory, clock: FrozenClock, clinic: Clinic, clinician: User
) -> None:
    patients = [factory.patient(clinic) for _ in range(4)]
    routine_old = boosters.raise_request(patients[0], "scan", None, None)
    clock.advance(hours=1)
    urgent_new = boosters.raise_request(patients[1], "clinician", clinician, "Worse.", urgency="urgent")
    clock.advance(hours=1)
    routine_new = boosters.raise_request(patients[2], "scan", None, None)
    clock.advance(hours=1)
    closed = boosters.raise_request(patients[3], "scan", None, None)
    boosters.decline(closed, clinician, "Fine on review.")
    elsewhere = factory.patient(factory.clinic())
    boosters.raise_request(elsewhere, "scan", None, None)

    everything = booster_queries.requests_for_clinic(clinician)
    assert [r.id for r in everything] == [urgent_new.id, routine_old.id, routine_new.id, closed.id]
    assert {r.clinic_id for r in everything} == {clinic.id}
    open_ones = booster_queries.requests_for_clinic(clinician, status=("open", "approved", "scheduled"))
    assert [r.id for r in open_ones] == [urgent_new.id, routine_old.id, routine_new.id]
    assert [r.id for r in booster_queries.requests_for_clinic(clinician, status="declined")] == [closed.id]
    assert [r.id for r in booster_queries.requests_for_clinic(clinician, patient_id=str(patients[2].id))] == [
        routine_new.id
    ]
    with pytest.raises(Invalid):
        booster_queries.requests_for_clinic(clinician, status="pending")
    listed = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "booster.list")).all()
    assert len(listed) == 4 and {row.actor_id for row in listed} == {clinician.id}


def test_staff_of_another_clinic_see_nothing_and_patients_decide_nothing(factory: Factory, patient: Patient) -> None:
    request = boosters.raise_request(patient, "scan", None, None)
    outsider = factory.user(factory.clinic())
    with pytest.raises(NotFound):
        boosters.approve(request, outsider)
    with pytest.raises(NotFound):
        booster_queries.get_request_for_staff(outsider, request.id)
    with pytest.raises(NotFound):
        booster_queries.get_request_for_staff(outsider, "garbage")
    with pytest.raises(Forbidden):
        boosters.decline(request, patient.user, "I changed my mind.")
    with pytest.raises(NotFound):
        boosters.raise_request(patient, "clinician", outsider, "Not my patient.")
    with pytest.raises(Forbidden):
        boosters.raise_request(patient, "clinician", patient.user, "I am my own clinician.")
    other_patient = factory.patient(factory.clinic())
    with pytest.raises(Forbidden):
        boosters.raise_request(patient, "patient", other_patient.user, "On their behalf.")
    assert request.status == "open"


def test_a_decision_on_a_stale_version_is_a_conflict(clinician: User, patient: Patient) -> None:
    request = boosters.raise_request(patient, "scan", None, None)
    # Another clinician's approval, written behind this session's back (same row, next version).
    table = BoosterRequest.__table__
    db.session.execute(
        sa.update(table)
        .where(table.c.id == request.id)
        .values(status="approved", version=request.version + 1, decided_by_id=clinician.id)
    )
    with pytest.raises(Conflict, match="Someone else decided this request first"):
        boosters.decline(request, clinician, "Not needed.")
    db.session.refresh(request)
    assert request.status == "approved"  # the first decision stands
    assert audit_rows("booster.decline", request.id) == []


@pytest.mark.postgres_only
def test_two_clinicians_deciding_at_once_one_wins_the_other_gets_409(app: Flask, clock: FrozenClock) -> None:
    """Real commits on two connections: both load the request, one approves and commits, the other declines."""
    tag = uuid.uuid4().hex[:8]
    with app.app_context():
        clinic = Clinic(name=f"Race {tag}", timezone="America/Chicago")
        db.session.add(clinic)
        db.session.flush()
        first = User(clinic_id=clinic.id, role="clinician", email=f"race-a-{tag}@example.org")
        second = User(clinic_id=clinic.id, role="clinician", email=f"race-b-{tag}@example.org")
        phone = f"+1773555{int(tag, 16) % 10000:04d}"
        owner = User(clinic_id=clinic.id, role="patient", phone=phone)
        db.session.add_all([first, second, owner])
        db.session.flush()
        patient = Patient(
            user_id=owner.id, clinic_id=clinic.id, display_name="Race", phone=phone, timezone="America/Chicago"
        )
        db.session.add(patient)
        db.session.flush()
        request = BoosterRequest(patient_id=patient.id, clinic_id=clinic.id, raised_by="scan")
        db.session.add(request)
        db.session.commit()
        ids = {"clinic": clinic.id, "first": first.id, "second": second.id, "request": request.id}
        ids |= {"patient": patient.id, "owner": owner.id}
    try:
        with app.app_context():  # clinician B's session, on its own connection
            loser_view = db.session.get(BoosterRequest, ids["request"])
            assert loser_view is not None and loser_view.status == "open"
            with app.app_context():  # clinician A's session, on another connection
                winner_view = db.session.get(BoosterRequest, ids["request"])
                winner = db.session.get(User, ids["first"])
                assert winner_view is not None and winner is not None
                boosters.approve(winner_view, winner, "Book it.")
                db.session.commit()
            loser = db.session.get(User, ids["second"])
            assert loser is not None
            with pytest.raises(Conflict, match="Someone else decided this request first"):
                boosters.decline(loser_view, loser, "Not needed.")
            db.session.rollback()
        with app.app_context():
            final = db.session.get(BoosterRequest, ids["request"])
            assert final is not None
            assert (final.status, final.decided_by_id, final.version) == ("approved", ids["first"], 2)
    finally:
        _delete_race_rows(app, ids)


def _delete_race_rows(app: Flask, ids: dict[str, uuid.UUID]) -> None:
    """Remove what the race test committed, children first."""
    with app.app_context():
        db.session.execute(sa.delete(AuditEvent).where(AuditEvent.clinic_id == ids["clinic"]))
        db.session.execute(sa.delete(BoosterRequest).where(BoosterRequest.clinic_id == ids["clinic"]))
        db.session.execute(sa.delete(PhaseChange).where(PhaseChange.patient_id == ids["patient"]))
        db.session.execute(sa.delete(Patient).where(Patient.clinic_id == ids["clinic"]))
        db.session.execute(sa.delete(User).where(User.clinic_id == ids["clinic"]))
        db.session.execute(sa.delete(Clinic).where(Clinic.id == ids["clinic"]))
        db.session.commit()


@pytest.mark.parametrize("state", STATES)
def test_the_actions_offered_are_the_decisions_the_state_allows(
    state: str, factory: Factory, clinician: User, patient: Patient
) -> None:
    """The pages draw what allowed_actions names; completing is no decision (an infusion given does it)."""
    request = request_in(state, patient, clinician, factory)
    decisions = tuple(action for action in ACTIONS if (state, action) in ALLOWED and action != "complete")
    assert boosters.allowed_actions(request) == decisions
