"""Constraints that keep the data honest, enforced by the database itself."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from factories import Factory

from tracker import clock
from tracker.extensions import db
from tracker.models import Alert, BoosterRequest, CheckIn, Clinic, OutboundMessage, SmsConversation, User


def _fails(statement_or_obj: object) -> None:
    with pytest.raises(sa.exc.IntegrityError), db.session.begin_nested():
        db.session.add(statement_or_obj)
        db.session.flush()


def test_one_open_booster_request_per_patient(ctx: None, factory: Factory) -> None:
    patient = factory.patient()
    first = BoosterRequest(patient_id=patient.id, clinic_id=patient.clinic_id, raised_by="scan")
    db.session.add(first)
    db.session.flush()
    _fails(BoosterRequest(patient_id=patient.id, clinic_id=patient.clinic_id, raised_by="patient", status="approved"))
    first.status, first.reason = "declined", "Doing well on review."
    db.session.flush()
    db.session.add(BoosterRequest(patient_id=patient.id, clinic_id=patient.clinic_id, raised_by="patient"))
    db.session.flush()  # a closed request leaves room for a new one


def test_declined_request_needs_a_reason(ctx: None, factory: Factory) -> None:
    patient = factory.patient()
    _fails(BoosterRequest(patient_id=patient.id, clinic_id=patient.clinic_id, raised_by="scan", status="declined"))


def test_one_active_sms_conversation_per_patient(ctx: None, factory: Factory) -> None:
    patient = factory.patient()
    db.session.add(SmsConversation(patient_id=patient.id))
    db.session.flush()
    _fails(SmsConversation(patient_id=patient.id))


@pytest.mark.parametrize(
    "change",
    [{"total": 28}, {"total": -1}, {"severity": "awful"}, {"source": "fax"}, {"difficulty": 4}, {"diagnosis": "maybe"}],
)
def test_checkin_ranges(ctx: None, factory: Factory, change: dict[str, object]) -> None:
    patient = factory.patient()
    fields = {
        "patient_id": patient.id,
        "instrument": "phq9",
        "answers": [0] * 9,
        "total": 0,
        "severity": "none-minimal",
        "diagnosis": "none",
        "taken_at": clock.now(),
        "source": "app",
    }
    _fails(CheckIn(**{**fields, **change}))


@pytest.mark.parametrize("change", [{"signal_min_total": 0}, {"confirm_max_days": 3}, {"post_induction_phase": "x"}])
def test_clinic_thresholds_are_sane(ctx: None, change: dict[str, object]) -> None:
    _fails(Clinic(name="C", timezone="UTC", **change))


def test_users_need_a_way_to_log_in_and_unique_contacts(ctx: None, factory: Factory) -> None:
    clinic = factory.clinic()
    _fails(User(clinic_id=clinic.id, role="clinician"))
    factory.user(clinic, email="same@example.org")
    _fails(User(clinic_id=clinic.id, role="clinician", email="same@example.org"))
    _fails(User(clinic_id=clinic.id, role="superuser", email="x@example.org"))


def test_dedupe_keys_make_effects_happen_once(ctx: None, factory: Factory) -> None:
    patient = factory.patient()
    db.session.add(OutboundMessage(to_phone=patient.phone, body="hi", purpose="reminder", dedupe_key="r:1"))
    db.session.flush()
    _fails(OutboundMessage(to_phone=patient.phone, body="hi", purpose="reminder", dedupe_key="r:1"))
    alert = {"patient_id": patient.id, "clinic_id": patient.clinic_id, "kind": "attention", "cause": "missed_checkin"}
    db.session.add(Alert(**alert, reason="x", dedupe_key="m:1"))
    db.session.flush()
    _fails(Alert(**alert, reason="x", dedupe_key="m:1"))


def test_times_come_back_aware_and_in_utc(ctx: None, factory: Factory) -> None:
    patient = factory.patient()
    row = factory.checkin(patient, total=7, days_ago=2)
    db.session.expire_all()
    loaded = db.session.get(CheckIn, row.id)
    assert loaded is not None
    assert loaded.taken_at.utcoffset() == timedelta(0)
    assert loaded.taken_at == clock.now() - timedelta(days=2)


def test_database_errors_do_not_quote_the_row(ctx: None, factory: Factory) -> None:
    """An IntegrityError's text ends up in logs: it must not carry the phone number or the body."""
    patient = factory.patient()
    db.session.add(OutboundMessage(to_phone="+13125550999", body="secret words", purpose="x", dedupe_key="k:1"))
    db.session.flush()
    with pytest.raises(sa.exc.IntegrityError) as caught, db.session.begin_nested():
        db.session.add(OutboundMessage(to_phone="+13125550999", body="secret words", purpose="x", dedupe_key="k:1"))
        db.session.flush()
    assert "+13125550999" not in str(caught.value) and "secret words" not in str(caught.value)
    assert patient.phone not in str(caught.value)
