"""Alerts: attention alerts opened once, acknowledgement and resolution (risk level for safety), the clinic's list."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from factories import Factory

from tracker.clock import FrozenClock
from tracker.errors import Conflict, Forbidden, Invalid, NotFound
from tracker.extensions import db
from tracker.models import Alert, AuditEvent, Clinic, Patient, User
from tracker.services.alerts import queries as alert_queries
from tracker.services.alerts import writes as alerts
from tracker.services.boosters import requests as boosters
from tracker.services.checkins import submit as checkins

pytestmark = pytest.mark.in_app_context  # conftest's clinic, clinician and patient are made in `ctx`


def safety_alert(patient: Patient) -> Alert:
    """A real safety alert: a check-in with item 9 above 0, through the check-in service."""
    result = checkins.submit(patient, "phq9", [1, 1, 1, 1, 1, 1, 1, 1, 1], None, "app")
    assert result.alert is not None
    return result.alert


def alerts_of(patient: Patient) -> list[Alert]:
    return list(db.session.scalars(sa.select(Alert).where(Alert.patient_id == patient.id)))


def test_an_attention_alert_opens_for_the_patients_clinic(clock: FrozenClock, patient: Patient) -> None:
    request = boosters.raise_request(patient, "scan", None, None)
    alert = alerts.open_attention_alert(
        patient, "  No check-in for 3 weeks.  ", cause="missed_checkin", booster_request=request
    )
    assert (alert.kind, alert.status, alert.reason) == ("attention", "open", "No check-in for 3 weeks.")
    assert (alert.clinic_id, alert.booster_request_id, alert.raised_at) == (patient.clinic_id, request.id, clock())
    assert alert.deadline is None  # only safety alerts escalate
    assert alerts_of(patient) == [alert]


def test_the_same_dedupe_key_opens_one_alert(clock: FrozenClock, patient: Patient) -> None:
    first = alerts.open_attention_alert(
        patient, "Missed check-ins", cause="missed_checkin", dedupe_key=f"missed:{patient.id}:1"
    )
    clock.advance(hours=6)
    again = alerts.open_attention_alert(
        patient, "Missed check-ins", cause="missed_checkin", dedupe_key=f"missed:{patient.id}:1"
    )
    other = alerts.open_attention_alert(
        patient, "Missed check-ins", cause="missed_checkin", dedupe_key=f"missed:{patient.id}:2"
    )
    assert again is first and other is not first
    assert len(alerts_of(patient)) == 2


def test_losing_the_race_to_the_dedupe_key_returns_the_winner(
    monkeypatch: pytest.MonkeyPatch, patient: Patient
) -> None:
    winner = alerts.open_attention_alert(
        patient, "Non-response after induction", cause="booster_raised", dedupe_key="nonresponse:1"
    )
    real_lookup = alerts._by_dedupe_key
    calls: list[str] = []

    def late_lookup(key: str) -> Alert | None:
        # The first look (before inserting) misses, as if the winner had not committed yet.
        calls.append(key)
        return None if len(calls) == 1 else real_lookup(key)

    monkeypatch.setattr(alerts, "_by_dedupe_key", late_lookup)
    loser = alerts.open_attention_alert(
        patient, "Non-response after induction", cause="booster_raised", dedupe_key="nonresponse:1"
    )
    assert loser is winner and len(calls) == 2
    assert alerts_of(patient) == [winner]  # the SAVEPOINT left the transaction usable


@pytest.mark.parametrize("reason", ["", "   "])
def test_an_attention_alert_needs_a_reason(reason: str, patient: Patient) -> None:
    with pytest.raises(Invalid) as refused:
        alerts.open_attention_alert(patient, reason, cause="missed_checkin")
    assert [p.field for p in refused.value.problems] == ["reason"]


@pytest.mark.parametrize("cause", ["safety", "nonresponse"])
def test_an_attention_alert_names_one_of_the_attention_causes(cause: str, patient: Patient) -> None:
    with pytest.raises(ValueError, match="not a cause of an attention alert"):
        alerts.open_attention_alert(patient, "Something to look at.", cause=cause)
    assert alerts_of(patient) == []


def test_a_long_reason_is_shortened_to_fit(patient: Patient) -> None:
    alert = alerts.open_attention_alert(patient, "Undelivered: " + "x" * 400, cause="sms_undelivered")
    assert len(alert.reason) == 300 and alert.reason.endswith("…")
    db.session.expire(alert)
    assert len(alert.reason) == 300  # as stored


def test_a_safety_alert_is_acknowledged_without_a_risk_level(clinician: User, patient: Patient) -> None:
    """CLINICAL.md §3: acknowledging ("I am on it") needs no risk level; resolving records it."""
    alert = safety_alert(patient)
    alerts.acknowledge(alert, clinician, "Called, no answer.")
    assert (alert.status, alert.risk_level, alert.note) == ("acknowledged", None, "Called, no answer.")


@pytest.mark.parametrize(("risk_level", "ok"), [(None, False), ("extreme", False), ("", False), ("low", True)])
def test_a_safety_alert_is_resolved_with_the_documented_risk_level(
    risk_level: str | None, ok: bool, clinician: User, patient: Patient
) -> None:
    alert = safety_alert(patient)
    alerts.acknowledge(alert, clinician)
    if ok:
        alerts.resolve(
            alert, clinician, risk_level, "C-SSRS screen by phone", "Safety plan made.", screener_not_done="Seen in ED"
        )
        assert (alert.status, alert.risk_level, alert.resolved_by_id) == ("resolved", risk_level, clinician.id)
        return
    with pytest.raises(Invalid) as refused:
        alerts.resolve(alert, clinician, risk_level, "Called the patient.", screener_not_done="Seen in ED")
    assert [p.field for p in refused.value.problems] == ["risk_level"]
    db.session.refresh(alert)
    assert alert.status == "acknowledged" and alert.resolved_by_id is None


@pytest.mark.parametrize("risk_level", ["low", "moderate", "high"])
def test_acknowledging_keeps_who_when_the_note_and_the_risk_level(
    risk_level: str, clock: FrozenClock, clinician: User, patient: Patient
) -> None:
    alert = safety_alert(patient)
    moment = clock.advance(minutes=12)
    alerts.acknowledge(alert, clinician, "  C-SSRS screen done by phone.  ", risk_level)
    db.session.expire(alert)
    assert (alert.status, alert.acknowledged_by_id, alert.acknowledged_at) == ("acknowledged", clinician.id, moment)
    assert (alert.note, alert.risk_level) == ("C-SSRS screen done by phone.", risk_level)
    query = sa.select(AuditEvent).where(AuditEvent.action == "alert.acknowledge")
    (event,) = db.session.scalars(query)
    assert (event.actor_id, event.patient_id, event.target_id) == (clinician.id, patient.id, str(alert.id))
    assert event.detail == {"kind": "safety", "risk_level": risk_level}


@pytest.mark.parametrize(("risk_level", "ok"), [(None, True), ("moderate", True), ("severe", False)])
def test_an_attention_alert_may_carry_a_risk_level(
    risk_level: str | None, ok: bool, clinician: User, patient: Patient
) -> None:
    alert = alerts.open_attention_alert(patient, "The patient asked for a booster infusion.", cause="patient_request")
    if not ok:
        with pytest.raises(Invalid):
            alerts.acknowledge(alert, clinician, None, risk_level)
        return
    alerts.acknowledge(alert, clinician, None, risk_level)
    assert (alert.status, alert.risk_level, alert.note) == ("acknowledged", risk_level, None)


def test_acknowledging_twice_is_a_conflict(factory: Factory, clinic: Clinic, patient: Patient) -> None:
    alert = safety_alert(patient)
    first, second = factory.user(clinic), factory.user(clinic)
    alerts.acknowledge(alert, first, "Seen.", "low")
    with pytest.raises(Conflict):
        alerts.acknowledge(alert, second, "Seen too.", "high")
    assert (alert.acknowledged_by_id, alert.risk_level) == (first.id, "low")


def test_an_acknowledgement_written_meanwhile_wins(factory: Factory, clinic: Clinic, patient: Patient) -> None:
    alert = safety_alert(patient)
    first, second = factory.user(clinic), factory.user(clinic)
    # Another clinician's acknowledgement, committed behind this session's back.
    table = Alert.__table__
    db.session.execute(
        sa.update(table)
        .where(table.c.id == alert.id)
        .values(status="acknowledged", acknowledged_by_id=first.id, acknowledged_at=alert.raised_at, risk_level="low")
    )
    assert alert.status == "open"  # this session's copy is stale
    with pytest.raises(Conflict):
        alerts.acknowledge(alert, second, None, "high")
    db.session.refresh(alert)
    assert (alert.acknowledged_by_id, alert.risk_level) == (first.id, "low")


def test_only_staff_of_the_clinic_acknowledge(factory: Factory, patient: Patient) -> None:
    alert = safety_alert(patient)
    outsider = factory.user(factory.clinic())
    with pytest.raises(NotFound):
        alerts.acknowledge(alert, outsider, None, "low")
    with pytest.raises(NotFound):
        alert_queries.get_alert_for_staff(outsider, alert.id)
    with pytest.raises(Forbidden):
        alerts.acknowledge(alert, patient.user, None, "low")
    assert alert.status == "open"


def test_the_clinic_list_is_scoped_ordered_and_audited(
    factory: Factory, clock: FrozenClock, clinic: Clinic, clinician: User
) -> None:
    first, second = factory.patient(clinic), factory.patient(clinic)
    old_attention = alerts.open_attention_alert(first, "Missed check-ins", cause="missed_checkin")
    clock.advance(hours=1)
    done_early = alerts.open_attention_alert(second, "Non-response", cause="booster_raised")
    clock.advance(hours=1)
    safety = safety_alert(second)
    clock.advance(hours=1)
    done_late = alerts.open_attention_alert(first, "Asked for a booster", cause="patient_request")
    alerts.acknowledge(done_early, clinician, None, None)
    alerts.acknowledge(done_late, clinician, None, None)
    safety_alert(factory.patient(factory.clinic()))  # another clinic's

    # Open first (safety first, then the longest waiting), then acknowledged (newest first).
    listed = alert_queries.alerts_for_clinic(clinician)
    assert [a.id for a in listed] == [safety.id, old_attention.id, done_late.id, done_early.id]
    assert [a.id for a in alert_queries.alerts_for_clinic(clinician, status="open")] == [safety.id, old_attention.id]
    assert [a.id for a in alert_queries.alerts_for_clinic(clinician, status="acknowledged")] == [
        done_late.id,
        done_early.id,
    ]
    assert alert_queries.get_alert_for_staff(clinician, str(safety.id)) is safety
    with pytest.raises(Invalid):
        alert_queries.alerts_for_clinic(clinician, status="closed")
    with pytest.raises(Forbidden):
        alert_queries.alerts_for_clinic(first.user)
    listed_events = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "alert.list")).all()
    assert len(listed_events) == 3 and {e.actor_id for e in listed_events} == {clinician.id}


def test_the_query_pages_by_kind_too(clinician: User, patient: Patient) -> None:
    safety_alert(patient)
    alerts.open_attention_alert(patient, "Missed check-ins", cause="missed_checkin")
    query = alert_queries.alerts_query(clinician, kind="attention")
    assert [a.kind for a in db.session.scalars(query)] == ["attention"]
    assert db.session.scalars(alert_queries.alerts_query(clinician, status="open").limit(1)).one().kind == "safety"
