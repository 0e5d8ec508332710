"""The demo (tracker/demo): a story told the same way for a seed, played through the services and jobs into a
clinic whose queue has one of everything, and nothing of it kept unless the caller's unit of work commits."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import UTC, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from conftest import TEST_NOW
from flask import Flask

from tracker.demo import build_demo, steps
from tracker.demo.story import LATEST, tell
from tracker.extensions import db
from tracker.models import Patient, User
from tracker.services.clinic import attention
from tracker.unit_of_work import transaction


def test_the_story_is_the_same_for_a_seed_and_another_for_another() -> None:
    assert tell(7, TEST_NOW) == tell(7, TEST_NOW)
    assert tell(7, TEST_NOW).steps != tell(8, TEST_NOW).steps


def test_the_story_happens_in_order_and_before_now() -> None:
    story = tell(7, TEST_NOW)
    moments = [step.at for step in story.steps]
    assert moments == sorted(moments)
    assert moments[-1] <= TEST_NOW - LATEST and min(moments) > story.start
    assert all(run <= TEST_NOW for run in story.reminder_runs)
    # Only app users check in when no reminder asked them to; the others need a reminder's link.
    web = {s.person for s in story.steps if isinstance(s, steps.CheckIn) and s.source == "web"}
    assert not any(story.people[n].uses_app for n in web)


class Stop(Exception):
    """Ends the unit of work the demo was built in, so it rolls back."""


def test_the_queue_has_one_of_each_kind_of_item_and_nothing_is_kept_without_a_commit(
    app: Flask, connection: sa.Connection, fetch: Callable[..., list[Any]]
) -> None:
    with app.app_context(), pytest.raises(Stop), transaction(db.session):
        shown = build_demo().showcase
        assert app.config["CLOCK"]() == TEST_NOW  # the app's clock is given back
        clinician = db.session.scalar(sa.select(User).where(User.email == "clinician@lakeside.example"))
        assert clinician is not None
        items = attention.queue(clinician, TEST_NOW)
        assert Counter(item.title for item in items) == {
            "Safety: item 9": 1,
            "Urgent booster request": 1,
            "Routine booster request": 1,
            "Missed check-ins": 1,
        }
        by_title = {item.title: item for item in items}
        assert by_title["Safety: item 9"].target_id == shown["safety_alert"]
        assert by_title["Urgent booster request"].target_id == shown["urgent_request"]
        assert by_title["Routine booster request"].target_id == shown["routine_request"]
        # CLINICAL.md §5: each request cites the check-ins that raised it.
        assert by_title["Routine booster request"].why.startswith("PHQ-9 14 → 17 over 8 days, low was 6")
        assert by_title["Urgent booster request"].why.startswith("PHQ-9 22 on Nov 20")
        assert [item.title for item in items][:2] == ["Safety: item 9", "Urgent booster request"]
        # The safety alert's page says what became of its text to the on-call contact, as the outbox has it.
        from tracker.services.clinic import oncall_text

        [oncall] = oncall_text.of_alerts([shown["safety_alert"]]).values()
        step = oncall_text.step(oncall, lambda phone: "the on-call contact", TEST_NOW, UTC)
        assert oncall.status in ("sent", "delivered") and "sent at" in step, step
        # CLINICAL.md §7: medicines to review (lorazepam, lamotrigine) and one not on the list (sertraline).
        from tracker.models import Alert, PatientMedicine
        from tracker.services.clinic import medicines

        taken = {m.name: m for m in db.session.scalars(sa.select(PatientMedicine))}
        assert set(taken) == {"Lorazepam", "Lamotrigine", "Sertraline"}
        flagged = {
            name: [r.review.words for r in medicines.to_review_for(db.session.get(Patient, m.patient_id))]
            for name, m in taken.items()
        }
        assert flagged == {
            "Lorazepam": ["lorazepam (benzodiazepines)"],
            "Lamotrigine": ["lamotrigine"],
            "Sertraline": [],
        }
        # The C-SSRS screener kept with the past safety alert's follow-up, its suggestion beside the level.
        [screened] = db.session.scalars(sa.select(Alert).where(Alert.screener.is_not(None)))
        assert (screened.status, screened.screener_suggested, screened.risk_level) == ("resolved", "high", "high")
        raise Stop
    assert fetch(sa.select(Patient)) == []


def test_the_outcomes_report_shows_the_kaplan_meier_curve_and_its_median_on_the_demo_data(
    app: Flask, connection: sa.Connection
) -> None:
    # CLINICAL.md §4: time to first booster as a Kaplan–Meier estimate, the median with its interval.
    from tracker.services.clinic import outcomes_report
    from tracker.web.charts import survival_chart

    with app.app_context(), pytest.raises(Stop), transaction(db.session):
        build_demo()
        clinician = db.session.scalar(sa.select(User).where(User.email == "clinician@lakeside.example"))
        assert clinician is not None
        km = outcomes_report.clinic_report(clinician).time_to_booster
        assert km.events >= 2 and km.median is not None
        assert km.events + km.censored == km.subjects
        chart = survival_chart(km.steps)
        assert chart.curve.startswith("M44 ") and chart.median_x is not None
        # CLINICAL.md §7: the clinic asks the GAD-7 monthly in maintenance; its figures are there, by baseline band.
        gad7 = outcomes_report.clinic_report(clinician).gad7
        assert gad7 is not None and gad7.evaluable >= 2 and gad7.responders >= 1
        assert sum(band.evaluable for band in gad7.bands) == gad7.evaluable
        assert clinician.clinic.instrument_schedule["maintenance"]["gad7"] == "monthly"
        raise Stop


def test_the_clinic_day_screens_have_something_true_on_them(app: Flask, connection: sa.Connection) -> None:
    """The calendar (booked visits, some not settled), the login's next visit, a booster request the patient raised,
    and an infusion corrected with its reason, kept in the audit log and shown on the patient's page."""
    from tracker.models import AuditEvent, BoosterRequest
    from tracker.services.clinic import calendar, patient_page
    from tracker.services.course import queries as course_queries

    with app.app_context(), pytest.raises(Stop), transaction(db.session):
        logins = build_demo()
        clinician = db.session.scalar(sa.select(User).where(User.email == "clinician@lakeside.example"))
        assert clinician is not None
        visits = [v for day in calendar.booked_visits(clinician, TEST_NOW) for v in day.visits]
        assert len(visits) >= 3
        assert any(v.unconfirmed for v in visits) and any(not v.unconfirmed for v in visits)

        phone = dict(logins.usernames)["patient"]
        login = db.session.scalar(sa.select(Patient).where(Patient.phone == phone))
        assert login is not None
        visit = course_queries.next_visit_for_patient(login)
        assert visit is not None and visit.scheduled_for is not None
        assert TEST_NOW < visit.scheduled_for < TEST_NOW + timedelta(days=14)

        asked = db.session.scalars(sa.select(BoosterRequest).where(BoosterRequest.raised_by == "patient")).all()
        assert asked and all(r.patient_reason for r in asked)

        [correction] = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "infusion.update")).all()
        assert correction.detail["before"] == {"observed_min": 120} and correction.detail["reason"]
        assert correction.patient_id is not None
        record = patient_page.read(clinician, correction.patient_id)
        [shown] = record.corrections[correction.target_id]
        assert shown.id == correction.id

        # CLINICAL.md §7: a discharge report and a next-morning report of one visit; the severe one's alert handled.
        from tracker.models import Alert, SideEffectReport

        discharge, morning = db.session.scalars(sa.select(SideEffectReport).order_by(SideEffectReport.timing)).all()
        assert discharge.infusion_id == morning.infusion_id
        assert (discharge.timing, morning.timing, morning.headache) == ("discharge", "next_morning", 3)
        [severe] = db.session.scalars(sa.select(Alert).where(Alert.cause == "severe_side_effect")).all()
        assert severe.patient_id == morning.patient_id and severe.status == "acknowledged" and severe.note
        raise Stop


def test_the_demo_names_its_staff_and_flags_a_high_risk_follow_up(app: Flask, connection: sa.Connection) -> None:
    """The clinician's pages name staff by name, and one patient's past follow-up documented a high risk."""
    from tracker.services.clinic import patient_page, print_summary

    with app.app_context(), pytest.raises(Stop), transaction(db.session):
        build_demo()
        clinician = db.session.scalar(sa.select(User).where(User.email == "clinician@lakeside.example"))
        assert clinician is not None and clinician.name == "Dr Sam Lee"
        queue = attention.queue_page(clinician, TEST_NOW)
        [flagged] = queue.flagged
        record = patient_page.read(clinician, flagged.patient_id)
        assert record.patient.high_risk_flagged_at is not None
        [resolved] = [a for a in record.handled_alerts if a.kind == "safety" and a.risk_level == "high"]
        assert record.person(resolved.resolved_by_id) == "Dr Sam Lee"
        # The printed summary carries the same follow-up: the screener asked on the call suggested high.
        printed = print_summary.summary_for_staff(clinician, flagged.patient_id)
        assert printed.last_follow_up is not None and printed.last_follow_up.id == resolved.id
        assert (printed.last_follow_up.risk_level, printed.last_follow_up.screener_suggested) == ("high", "high")
        raise Stop


def test_the_printed_logins_charts_show_gad7_with_its_skipped_month_under_the_induction_course(
    app: Flask, connection: sa.Connection
) -> None:
    """The patient page's charts (tracker/web/patient_charts.py): GAD-7 monthly on its own chart, a month missed
    drawn as a gap, and the six induction infusions laid out apart."""
    from datetime import timedelta

    from tracker.demo import gad7_steps
    from tracker.local_time import zone_of
    from tracker.services.clinic import patient_page
    from tracker.web.patient_charts import charts_of

    with app.app_context(), pytest.raises(Stop), transaction(db.session):
        logins = build_demo()
        clinician = db.session.scalar(sa.select(User).where(User.email == "clinician@lakeside.example"))
        login = db.session.scalar(sa.select(Patient).where(Patient.phone == dict(logins.usernames)["patient"]))
        assert clinician is not None and login is not None
        record = patient_page.read(clinician, login.id)
        shown = charts_of(record, TEST_NOW, zone_of(record.clinic.timezone), "all")
        assert shown.gad7 is not None and len(shown.gad7.points) == len(record.gad7) >= 10
        [skipped] = shown.gad7.gaps
        assert skipped.until - skipped.since > timedelta(weeks=6)
        assert shown.gad7.points[0].total == gad7_steps.TOTALS[0]
        induction = [g for g in shown.trajectory.infusions if g.kind == "induction"]
        assert len(induction) == 6 and all(g.mark_x is not None for g in induction)  # laid out apart
        assert "induction" in dict(shown.trajectory.legend)
        # CLINICAL.md §7: the login's blood pressure at each infusion, under the trajectory on its axis; the first
        # infusion was given at the hold-and-review level, confirmed, and the clinic's report counts the shares.
        from tracker.services.clinic import bp_outcomes
        from tracker.web import bp_chart

        pressure = bp_chart.bp_chart(bp_chart.visits_of(record.infusions), shown.axis, record.clinic.bp_hold_at)
        assert len(pressure.columns) >= 6 and pressure.columns[0].level == "hold"
        # The row reads as a hold, naming the clinic's level and who confirmed it, not as a caution.
        [held] = [i for i in record.infusions if i.bp_hold_confirmed]
        [hold] = record.infusion_holds(held)
        assert "182/98 about 40 minutes in: at or above the clinic's hold-and-review level 180/110" in hold
        assert f"; confirmed by {clinician.name} at " in hold
        assert not any("182/98" in check for check in record.infusion_checks(held))
        assert "caution" in {c.level for c in pressure.columns}
        glyphs = {g.id: g.mark_x or g.x for g in shown.trajectory.infusions}
        assert all(c.x == glyphs[c.id] for c in pressure.columns)
        figures = bp_outcomes.figures(clinician)
        assert figures.hold == 1 and figures.caution >= 1 and figures.measured >= figures.caution + figures.hold
        raise Stop
