"""Playing the demo's story: each step through the service a person's action goes through, at its moment.

The clock is the story's: set to each step's moment before it is played, with the scheduler's job runs
(tracker/demo/scheduler.py) played in between, so every row carries the time it happened at. Nothing here
writes a row itself; the services and jobs decide what each step leads to. Where the story expected
something of them (an open request to decide, a reminder's link to follow) and it is not there, the build
fails with DemoError rather than show a history the rules would not have made.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa

from tracker.clock import FrozenClock
from tracker.demo import medicines as demo_medicines
from tracker.demo import side_effects, steps
from tracker.demo.cast import DEMO_PASSWORD, Person
from tracker.demo.scheduler import DemoError, Scheduler
from tracker.demo.story import Story
from tracker.extensions import db
from tracker.infusions import InfusionFields
from tracker.instruments import PHQ9
from tracker.models import Alert, AuditEvent, BoosterRequest, Infusion, Patient, User
from tracker.relapse import ELIGIBLE_PHASES
from tracker.services.accounts import enrolment, patients
from tracker.services.accounts import users as accounts
from tracker.services.alerts import queries as alert_queries
from tracker.services.alerts import writes as alerts
from tracker.services.boosters import booking, queries, requests
from tracker.services.checkins import links
from tracker.services.checkins import submit as checkins
from tracker.services.course import queries as course_queries
from tracker.services.course import writes as course


@dataclass
class DemoLogins:
    password: str
    usernames: list[tuple[str, str]] = field(default_factory=list)
    # What the dashboard's tour opens first: "safety_alert", "urgent_request", "routine_request" -> their ids.
    showcase: dict[str, uuid.UUID] = field(default_factory=dict)


class Player:
    def __init__(self, story: Story, frozen: FrozenClock, seed: int) -> None:
        self.story, self.clock = story, frozen
        self.jobs = Scheduler(story, frozen, seed)
        self.patients: dict[int, Patient] = {}
        self.invitations: dict[int, str] = {}  # the invitation link each patient was texted
        self.booked: dict[tuple[int, datetime], Infusion] = {}
        self.safety_alerts: dict[int, Alert] = {}
        self.corrections: list[uuid.UUID] = []  # the audit rows of infusions corrected, kept (drop_audit_trail)
        self.holds: list[uuid.UUID] = []  # and of holds confirmed: the page names who confirmed and when

    def play(self) -> DemoLogins:
        story = self.story
        self.clock.set(story.start)
        plan = story.clinic
        self.clinic = accounts.create_clinic(plan.name, plan.timezone, **plan.settings())
        admin = accounts.create_staff(self.clinic, "admin", plan.admin_email, DEMO_PASSWORD)
        self.clinician = accounts.create_staff(self.clinic, "clinician", plan.clinician_email, DEMO_PASSWORD)
        admin.display_name, self.clinician.display_name = plan.admin_name, plan.clinician_name
        demo_medicines.set_up(admin, self.clinic)  # CLINICAL.md §7: the medicines to review before an infusion
        with self.jobs.watching():
            for step in story.steps:
                self.jobs.run_until(step.at)
                self.clock.set(step.at)
                self.perform(step)
                self.jobs.changed(step.at)
            self.jobs.run_until(story.end)
        self.clock.set(story.end)
        logins = DemoLogins(
            DEMO_PASSWORD,
            [("admin", admin.email or ""), ("clinician", self.clinician.email or ""), ("patient", self.login.phone)],
            self.showcase(),
        )
        self.drop_audit_trail()
        return logins

    @property
    def login(self) -> Person:
        return self.story.people[self.story.login]

    def perform(self, step: steps.Step) -> None:
        person = self.story.people[step.person]
        if isinstance(step, steps.Enrol):
            enrolled = enrolment.enrol_patient(self.clinician, person.name, person.phone, self.clinic.timezone)
            self.patients[step.person] = enrolled.patient
            self.invitations[step.person] = enrolled.invitation_url
            return
        patient = self.patients[step.person]
        match step:
            case steps.AcceptInvitation():
                enrolment.activate(self.invitations[step.person].rsplit("/", 1)[-1], DEMO_PASSWORD)
            case steps.ChooseReminders(weekday=weekday, local_time=local_time):
                patients.update_settings(
                    patient, reminder_weekday=weekday, reminder_local_time=local_time, by=patient.user
                )
            case steps.CheckIn():
                self.check_in(patient, step)
            case steps.MovePhase(to_phase=to_phase, reason=reason):
                course.change_phase(patient, to_phase, self.clinician, reason)
            case steps.Infuse(kind=kind, vitals=vitals):
                given = course.record_infusion(
                    patient,
                    kind=kind,
                    status="given",
                    by=self.clinician,
                    hold_confirmed=vitals.hold_confirmed,
                    **_fields(vitals),
                ).infusion
                if vitals.hold_confirmed:
                    self.keep_hold(given, "infusion.record")
            case steps.Book(kind=kind, visit=visit, ride_home_confirmed=ride_home):
                booked = course.record_infusion(
                    patient,
                    kind=kind,
                    status="scheduled",
                    scheduled_for=visit,
                    by=self.clinician,
                    ride_home_confirmed=ride_home,
                )
                self.booked[(step.person, visit)] = booked.infusion
            case steps.GiveBooked(vitals=vitals):
                infusion = self.booked.pop((step.person, step.at))
                course.update_infusion(
                    infusion,
                    {"status": "given", **_fields(vitals)},
                    self.clinician,
                    hold_confirmed=vitals.hold_confirmed,
                )
                if vitals.hold_confirmed:
                    self.keep_hold(infusion, "infusion.update")
            case steps.AcknowledgeSafety(note=note, risk_level=risk_level, screener=screener):
                # CLINICAL.md §3, in two steps: "I am on it", then the follow-up with its risk level and the
                # C-SSRS screener's answers (CLINICAL.md §7).
                alert = self.safety_alerts.pop(step.person)
                if alert.status == "open":
                    alerts.acknowledge(alert, self.clinician)
                alerts.resolve(alert, self.clinician, risk_level, note, screener=dict(screener) or None)
            case steps.CorrectInfusion(changes=changes, reason=reason):
                self.correct(patient, dict(changes), reason)
            case steps.AskForBooster(reason=reason):
                requests.raise_request(patient, "patient", patient.user, reason)
            case steps.Decide():
                self.decide(patient, step)
            case _ if side_effects.perform(step, patient, self.clinician):
                pass  # CLINICAL.md §7: at discharge, the next morning, the call back
            case _ if demo_medicines.perform(step, patient, self.clinician):
                pass  # CLINICAL.md §7: other medicines, entered at enrolment
            case _:
                raise DemoError(f"no way to play {type(step).__name__}")

    def check_in(self, patient: Patient, step: steps.CheckIn) -> None:
        answers = list(step.answers)
        if step.source == "web":
            # The patient taps the one-time link in the reminder they were just sent.
            token = self.jobs.network.link_for(patient.phone)
            if token is None:
                raise DemoError(f"{patient.display_name} has no reminder to check in from at {step.at:%Y-%m-%d %H:%M}")
            link, _ = links.find(token)
            links.claim(link)
            result = checkins.submit(patient, step.instrument, answers, step.difficulty, "web")
            links.record(link, result.checkin)
        else:
            staff = self.clinician if step.source == "clinic" else None
            result = checkins.submit(patient, step.instrument, answers, step.difficulty, step.source, entered_by=staff)
        if result.alert is not None:
            self.safety_alerts[step.person] = result.alert
        # CLINICAL.md §5: a relapse signal needs this PHQ-9 total, and the rule applies only past induction.
        signal = step.instrument == PHQ9.name and result.checkin.total >= self.story.clinic.thresholds.signal_min_total
        if patient.phase in ELIGIBLE_PHASES and signal:
            self.jobs.judge_soon(patient.id, step.at)

    def decide(self, patient: Patient, step: steps.Decide) -> None:
        """The clinician works the queue item: the request's alert acknowledged, then the decision."""
        request = queries.open_request_for(patient.id)
        if request is None:
            raise DemoError(f"no open booster request for {patient.display_name} to decide at {step.at:%Y-%m-%d}")
        waiting = db.session.scalars(
            alert_queries.alerts_query(self.clinician, "open", "attention").where(
                Alert.booster_request_id == request.id
            )
        ).all()
        for alert in waiting:
            alerts.acknowledge(alert, self.clinician, step.text)
        if step.action == "approve":
            requests.approve(request, self.clinician, step.text)
        elif step.action == "decline":
            requests.decline(request, self.clinician, step.text)
        else:
            assert step.visit is not None  # the story books every scheduled booster
            booked = booking.schedule(request, self.clinician, step.visit)
            self.booked[(step.person, step.visit)] = booked.infusion

    def correct(self, patient: Patient, changes: dict[str, int], reason: str) -> None:
        given = next((i for i in course_queries.infusions_of(patient) if i.status == "given"), None)
        if given is None:
            raise DemoError(f"{patient.display_name} has no infusion given to correct")
        course.update_infusion(given, changes, self.clinician, reason)
        kept = db.session.scalar(
            sa.select(AuditEvent.id)
            .where(AuditEvent.action == "infusion.update", AuditEvent.target_id == str(given.id))
            .order_by(AuditEvent.at.desc())
            .limit(1)
        )
        assert kept is not None  # update_infusion audits every change
        self.corrections.append(kept)

    def keep_hold(self, infusion: Infusion, action: str) -> None:
        kept = db.session.scalar(
            sa.select(AuditEvent.id)
            .where(AuditEvent.action == action, AuditEvent.target_id == str(infusion.id))
            .order_by(AuditEvent.at.desc())
            .limit(1)
        )
        assert kept is not None  # the course service audits every infusion recorded or changed
        self.holds.append(kept)

    def showcase(self) -> dict[str, uuid.UUID]:
        """The ids the dashboard's tour opens, checked to be what the story meant them to be."""
        shown = self.story.showcase
        safety = db.session.scalar(
            sa.select(Alert).where(
                Alert.patient_id == self.patients[shown["safety_alert"]].id,
                Alert.kind == "safety",
                Alert.status == "open",
            )
        )
        found: dict[str, Alert | BoosterRequest | None] = {"safety_alert": safety}
        for name, urgency in (("urgent_request", "urgent"), ("routine_request", "routine")):
            request = queries.open_request_for(self.patients[shown[name]].id)
            found[name] = request if request is not None and request.urgency == urgency else None
        if missing := [name for name, row in found.items() if row is None]:
            raise DemoError(f"the story's end did not give the dashboard its {', '.join(missing)}")
        return {name: row.id for name, row in found.items() if row is not None}

    def drop_audit_trail(self) -> None:
        """The audit log is of what people did; the demo's history was played, not done (see build_demo).

        Corrections of a given infusion stay: the audit log is where their reason and the values they replaced are
        kept (the patient's page shows them from there), so without them a corrected infusion would not say so;
        so do the confirmations of a hold blood pressure (the page names who confirmed it, and when).
        """
        staff = sa.select(User.id).where(User.clinic_id == self.clinic.id)
        played = sa.or_(AuditEvent.clinic_id == self.clinic.id, AuditEvent.actor_id.in_(staff))
        correction = sa.and_(AuditEvent.action == "infusion.update", AuditEvent.id.in_(self.corrections))
        hold = AuditEvent.id.in_(self.holds)
        db.session.execute(sa.delete(AuditEvent).where(played, sa.not_(sa.or_(correction, hold))))


def _fields(vitals: steps.Vitals) -> InfusionFields:
    return {
        "weight_kg": vitals.weight_kg,
        "bp_before": vitals.bp_before,
        "bp_during": vitals.bp_during,
        "bp_after": vitals.bp_after,
        "heart_rate_before": vitals.heart_rate[0] if vitals.heart_rate else None,
        "heart_rate_during": vitals.heart_rate[1] if vitals.heart_rate else None,
        "heart_rate_after": vitals.heart_rate[2] if vitals.heart_rate else None,
        "spo2_before": vitals.spo2[0] if vitals.spo2 else None,
        "spo2_during": vitals.spo2[1] if vitals.spo2 else None,
        "spo2_after": vitals.spo2[2] if vitals.spo2 else None,
        "observed_min": vitals.observed_min,
        "ride_home_confirmed": vitals.ride_home_confirmed,
        "notes": vitals.notes,
    }


def play(story: Story, frozen: FrozenClock, seed: int) -> DemoLogins:
    return Player(story, frozen, seed).play()
