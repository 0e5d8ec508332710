"""Vital signs around the infusion through the services (CLINICAL.md §7): the readings stored, a hold asked to be
confirmed before an infusion is recorded as given, the FHIR Observations, the outcomes report's shares and the
patient page's blood pressure chart on the PHQ-9's time axis."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from conftest import TEST_NOW
from factories import Factory
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.observation import Observation

from tracker.errors import Invalid
from tracker.extensions import db
from tracker.local_time import zone_of
from tracker.models import AuditEvent, Clinic, Infusion, Patient, User
from tracker.services.clinic import bp_outcomes, fhir_export, patient_page
from tracker.services.course import writes as course
from tracker.vitals import CAUTION, HOLD, BloodPressure
from tracker.web import bp_chart, patient_charts
from tracker.web.time_axis import axis_for

pytestmark = pytest.mark.in_app_context

GIVEN: dict[str, Any] = {"kind": "maintenance", "status": "given", "weight_kg": 70, "observed_min": 120}


def infusions_of(patient: Patient) -> list[Infusion]:
    return list(db.session.scalars(sa.select(Infusion).where(Infusion.patient_id == patient.id)))


def test_readings_at_three_moments_are_stored(clinician: User, patient: Patient) -> None:
    saved = course.record_infusion(
        patient,
        by=clinician,
        bp_before="128/82",
        bp_during=(146, 90),
        bp_after={"systolic": 134, "diastolic": 84},
        heart_rate_before=72,
        heart_rate_during=88,
        spo2_during=97,
        **GIVEN,
    ).infusion
    assert saved.readings == {
        "bp_before": BloodPressure(128, 82),
        "bp_during": BloodPressure(146, 90),
        "bp_after": BloodPressure(134, 84),
    }
    assert (saved.heart_rate_before, saved.heart_rate_during, saved.heart_rate_after) == (72, 88, None)
    assert (saved.spo2_before, saved.spo2_during) == (None, 97)
    # CLINICAL.md §7: the caution is carried beside the value; no hold, so nothing was asked.
    assert [(c.field, c.level) for c in saved.vital_checks] == [("bp_during", CAUTION)]
    assert saved.bp_hold_confirmed is False


def test_implausible_readings_are_refused_each_naming_its_field(clinician: User, patient: Patient) -> None:
    with pytest.raises(Invalid) as refused:
        course.record_infusion(patient, by=clinician, bp_during="300/80", heart_rate_after=400, spo2_before=30, **GIVEN)
    assert {p.field for p in refused.value.problems} == {"bp_during", "heart_rate_after", "spo2_before"}
    assert infusions_of(patient) == []


def test_a_hold_is_stored_only_once_confirmed(clinician: User, patient: Patient) -> None:
    # The web's way: asked, then the key of what was asked saves exactly those values.
    with pytest.raises(course.NeedsConfirmation) as asked:
        course.record_infusion(patient, by=clinician, confirmed="", bp_before="180/100", **GIVEN)
    assert [w.field for w in asked.value.warnings] == ["bp_before"]
    assert "hold-and-review level 180/110" in asked.value.warnings[0].message
    assert infusions_of(patient) == []
    with pytest.raises(course.NeedsConfirmation):  # another reading than the one confirmed is asked about again
        course.record_infusion(patient, by=clinician, confirmed=asked.value.key, bp_before="190/100", **GIVEN)
    saved = course.record_infusion(patient, by=clinician, confirmed=asked.value.key, bp_before="180/100", **GIVEN)
    assert saved.infusion.bp_hold_confirmed is True
    [check] = saved.infusion.vital_checks  # the reading at the hold level reads as a hold, not a caution
    assert (check.field, check.level) == ("bp_before", HOLD)
    assert (
        check.message
        == "blood pressure 180/100 before the dose: at or above the clinic's hold-and-review level 180/110"
    )
    # The API's way: unusual values are saved with warnings, but a hold still needs its own confirmation.
    earlier = {**GIVEN, "given_at": TEST_NOW - timedelta(days=2)}  # another day: a second the same day is asked
    with pytest.raises(course.NeedsConfirmation) as api:
        course.record_infusion(patient, by=clinician, bp_after="150/112", **earlier)
    assert [p.field for p in api.value.problems] == ["bp_after"]
    held = course.record_infusion(patient, by=clinician, bp_after="150/112", hold_confirmed=True, **earlier)
    assert held.infusion.bp_hold_confirmed is True
    record = db.session.scalars(
        sa.select(AuditEvent).where(
            AuditEvent.target_id == str(held.infusion.id), AuditEvent.action == "infusion.record"
        )
    ).one()
    assert record.detail["warnings"] == ["bp_after"]


def test_the_clinics_hold_threshold_decides(factory: Factory, clinic: Clinic, clinician: User) -> None:
    clinic.bp_hold_systolic, clinic.bp_hold_diastolic = 160, 100
    patient = factory.patient(clinic)
    with pytest.raises(course.NeedsConfirmation):
        course.record_infusion(patient, by=clinician, bp_before="160/80", **GIVEN)
    assert (
        course.record_infusion(patient, by=clinician, bp_before="159/99", **GIVEN).infusion.bp_hold_confirmed is False
    )


def test_a_booked_infusion_is_not_held_until_it_is_given(factory: Factory, patient: Patient, clinician: User) -> None:
    booked = course.record_infusion(
        patient, kind="booster", status="scheduled", scheduled_for=TEST_NOW + timedelta(hours=2), by=clinician
    ).infusion
    with pytest.raises(course.NeedsConfirmation) as asked:
        course.update_infusion(booked, {"status": "given", "bp_during": "184/96"}, clinician, confirmed="")
    assert booked.status == "scheduled" and [w.field for w in asked.value.warnings] == ["bp_during"]
    course.update_infusion(booked, {"status": "given", "bp_during": "184/96"}, clinician, confirmed=asked.value.key)
    assert (booked.status, booked.bp_hold_confirmed) == ("given", True)
    # A correction that leaves the readings as they were asks nothing; one that lowers them ends the hold.
    course.update_infusion(booked, {"notes": "Reviewed."}, clinician, confirmed="")
    course.update_infusion(booked, {"bp_during": "148/92"}, clinician, reason="Misread the cuff.", confirmed="")
    assert booked.bp_hold_confirmed is False


def test_the_fhir_bundle_has_an_observation_per_reading(factory: Factory, clinic: Clinic, clinician: User) -> None:
    patient = factory.patient(clinic)
    course.record_infusion(
        patient,
        by=clinician,
        given_at=TEST_NOW - timedelta(days=3),
        bp_before="142/88",
        bp_during="182/98",
        heart_rate_before=70,
        spo2_after=98,
        hold_confirmed=True,
        **GIVEN,
    )
    bundle = fhir_export.patient_bundle(patient)
    Bundle.model_validate(bundle)
    vitals = [
        e["resource"]
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "Observation"
        and e["resource"]["category"][0]["coding"][0]["code"] == "vital-signs"
    ]
    for resource in vitals:
        Observation.model_validate(resource)  # raises when invalid
    by_code = {(o["code"]["coding"][0]["code"], o.get("note", [{}])[0].get("text")): o for o in vitals}
    before = by_code[("85354-9", None)]
    assert before["effectiveDateTime"].startswith("2026-11-") and "note" not in before
    assert [
        (c["code"]["coding"][0]["code"], c["valueQuantity"]["value"], c["valueQuantity"]["code"])
        for c in before["component"]
    ] == [("8480-6", 142, "mm[Hg]"), ("8462-4", 88, "mm[Hg]")]
    assert "140/90" in before["interpretation"][0]["text"]
    during = by_code[("85354-9", "Taken about 40 minutes in.")]
    assert during["effectivePeriod"]["start"] == before["effectiveDateTime"]
    assert "hold-and-review" in during["interpretation"][0]["text"]
    rate = by_code[("8867-4", None)]["valueQuantity"]
    assert (rate["value"], rate["system"], rate["code"]) == (70, "http://unitsofmeasure.org", "/min")
    spo2 = by_code[("59408-5", "Taken before discharge.")]
    assert [c["code"] for c in spo2["code"]["coding"]] == ["59408-5", "2708-6"]
    assert (spo2["valueQuantity"]["value"], spo2["valueQuantity"]["code"]) == (98, "%")
    assert len(vitals) == 4
    # Ids follow the reading: a second export names them the same.
    again = fhir_export.patient_bundle(patient)
    assert {e["resource"]["id"] for e in again["entry"]} >= {o["id"] for o in vitals}
    assert len({o["id"] for o in vitals}) == len(vitals)


def test_the_outcomes_report_counts_caution_and_hold_shares(factory: Factory, clinic: Clinic) -> None:
    staff = factory.user(clinic)
    patient = factory.patient(clinic)
    at = TEST_NOW - timedelta(days=5)
    factory.infusion(patient, given_at=at, bp_before_systolic=120, bp_before_diastolic=80)
    factory.infusion(
        patient,
        given_at=at,
        bp_before_systolic=120,
        bp_before_diastolic=80,
        bp_after_systolic=141,
        bp_after_diastolic=85,
    )
    factory.infusion(patient, given_at=at, bp_during_systolic=185, bp_during_diastolic=95, bp_hold_confirmed=True)
    factory.infusion(patient, given_at=at)  # no reading: not in the shares
    factory.infusion(
        patient, scheduled_for=TEST_NOW + timedelta(days=1), bp_before_systolic=190, bp_before_diastolic=100
    )  # booked: not given
    elsewhere = factory.patient(factory.clinic("Elsewhere"))
    factory.infusion(elsewhere, given_at=at, bp_before_systolic=190, bp_before_diastolic=100)
    figures = bp_outcomes.figures(staff)
    assert (figures.given, figures.measured, figures.caution, figures.hold) == (4, 3, 1, 1)
    assert (figures.percent(figures.caution), figures.percent(figures.hold)) == (33, 33)


def test_the_blood_pressure_chart_shares_the_trajectorys_time_axis(
    factory: Factory, clinic: Clinic, clinician: User
) -> None:
    patient = factory.patient(clinic)
    factory.checkin(patient, total=18, taken_at=TEST_NOW - timedelta(days=40))
    first = factory.infusion(
        patient,
        given_at=TEST_NOW - timedelta(days=30),
        bp_before_systolic=128,
        bp_before_diastolic=82,
        bp_during_systolic=150,
        bp_during_diastolic=92,
    )
    second = factory.infusion(
        patient,
        given_at=TEST_NOW - timedelta(days=10),
        bp_before_systolic=124,
        bp_before_diastolic=80,
        bp_during_systolic=186,
        bp_during_diastolic=100,
        bp_hold_confirmed=True,
    )
    factory.infusion(patient, given_at=TEST_NOW - timedelta(days=2))  # no readings: no column
    record = patient_page.read(clinician, patient.id)
    visits = bp_chart.visits_of(record.infusions)
    views = patient_charts.charts_of(record, TEST_NOW, zone_of(clinic.timezone), also=bp_chart.moments(visits))
    chart = bp_chart.bp_chart(visits, views.axis, clinic.bp_hold_at)
    assert [c.id for c in chart.columns] == [str(first.id), str(second.id)]
    glyph_x = {g.id: (g.mark_x or g.x) for g in views.trajectory.infusions}
    for column in chart.columns:
        assert column.x == glyph_x[column.id]  # the same day at the same x as on the PHQ-9 chart
    assert [c.level for c in chart.columns] == [CAUTION, HOLD]
    assert chart.columns[1].whisker == (bp_chart.y_of(186), bp_chart.y_of(80))
    assert chart.systolic_line.startswith(f"M{chart.columns[0].x},{bp_chart.y_of(128)}")
    assert {r.name: r.value for r in chart.rules} == {
        "caution-systolic": 140,
        "caution-diastolic": 90,
        "hold-systolic": 180,
        "hold-diastolic": 110,
    }
    assert chart.x_ticks == views.axis.ticks


def test_the_axis_spans_the_readings_alone_when_nothing_else_is_drawn() -> None:
    at = TEST_NOW - timedelta(days=300)
    visit = bp_chart.BpIn("x", at, {"bp_before": BloodPressure(130, 85)})
    axis = axis_for(bp_chart.moments([visit]), now=TEST_NOW, range_key="all")
    chart = bp_chart.bp_chart([visit], axis, BloodPressure(180, 110))
    assert chart.columns[0].x >= chart.left and chart.columns[0].level == ""
    assert chart.systolic_line == ""  # a single visit draws no line
