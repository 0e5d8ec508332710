"""The clinic's forms. They parse; the services decide what is valid and say so field by field.

Each form has a prefix, so several can share the patient's page without their fields' ids colliding.
Date-times are typed in the clinic's time zone (a clinician books by the clinic's clock) and stored in UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
    TimeField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, NumberRange, Optional
from wtforms.widgets import SearchInput

from tracker import local_time
from tracker.errors import MAX_PAGE, FieldProblem
from tracker.models.alert import RISK_LEVELS
from tracker.models.infusion import INFUSION_KINDS
from tracker.models.patient import PHASES
from tracker.services.clinic.patient_list import SORTS
from tracker.vitals import BP_FIELDS, NUMBER_LIMITS, BloodPressure, blood_pressure
from tracker.vitals import checks as vital_checks_of
from tracker.web.one_line import OneLineField

LOCAL_FORMAT = "%Y-%m-%dT%H:%M"  # what <input type="datetime-local"> sends
PHASE_WORDS = {p: p.replace("_", " ") for p in PHASES}
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
NUMERIC = {"inputmode": "numeric"}
SORT_WORDS = {
    "name": "Name",
    "latest_total": "Latest PHQ-9",
    "change": "Change from baseline",
    "days_since_last": "Days since last check-in",
}


class NotALocalTime(ValueError):
    """A wall-clock time the zone skips (clocks going forward)."""


class OutOfRange(ValueError):
    """A date outside the years anything of ours can be (local_time.EARLIEST to LATEST)."""


def to_utc(local: datetime, zone: tzinfo) -> datetime:
    """A naive wall-clock time in `zone` as an aware UTC moment.

    A time the clocks skip is refused; a time they pass twice (clocks going back) is the first of the two.
    """
    if not local_time.EARLIEST.year <= local.year < local_time.LATEST.year:
        raise OutOfRange(local)  # also keeps the zone arithmetic below clear of the calendar's ends
    aware = local.replace(tzinfo=zone, fold=0)
    if aware.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != local:
        raise NotALocalTime(local)
    return aware.astimezone(UTC)


def to_local_input(moment: datetime, zone: tzinfo) -> datetime:
    """An aware moment as the naive wall-clock value a datetime-local field shows."""
    return moment.astimezone(zone).replace(tzinfo=None, second=0, microsecond=0)


def next_morning(now: datetime, zone: tzinfo, hour: int = 9) -> datetime:
    """A booking suggestion: 9:00 tomorrow, clinic time (the clinician changes it as needed)."""
    local = now.astimezone(zone) + timedelta(days=1)
    return local.replace(hour=hour, minute=0, second=0, microsecond=0, tzinfo=None)


def put_problems(form: FlaskForm, problems: list[FieldProblem], names: dict[str, str] | None = None) -> list[str]:
    """Each service problem beside its field (renamed through `names`); returns those that fit no field."""
    others = []
    for problem in problems:
        name = (names or {}).get(problem.field, problem.field)
        if name in form and name != "csrf_token":
            form[name].errors = [*form[name].errors, problem.message[:1].upper() + problem.message[1:]]
        else:
            others.append(f"{problem.field.replace('_', ' ')}: {problem.message}")
    return others


def correct_marked(form: FlaskForm) -> str:
    """The line above a refused form, counting the fields marked beside them."""
    marked = sum(1 for field in form if field.errors and field.short_name != "csrf_token")  # the token is unmarked
    if marked == 1:
        return "Please correct the marked field."
    return f"Please correct the {marked} marked fields." if marked else "Please correct the form."


def blank_to_none(value: Any) -> Any:
    return value.strip() or None if isinstance(value, str) else value


class AcknowledgeForm(FlaskForm):
    """CLINICAL.md §3: "I am on it": who, when, an optional note; a safety alert's escalation stops."""

    note = TextAreaField("Note (optional, e.g. called, no answer)", filters=[blank_to_none])


class ResolveForm(FlaskForm):
    """CLINICAL.md §3: the follow-up of a safety alert: the documented risk level, what was done, a note."""

    risk_level = RadioField(
        "Documented risk level",
        choices=[SelectChoice(level, level.capitalize()) for level in RISK_LEVELS],
        validate_choice=False,
    )
    action = TextAreaField("What was done (e.g. C-SSRS screen by phone, safety plan)", filters=[blank_to_none])
    note = TextAreaField("Note", filters=[blank_to_none])


class RequestDecisionForm(FlaskForm):
    """Every decision carries the version of the request the page showed."""

    version = HiddenField()

    def seen_version(self) -> int | None:
        try:
            return int(self.version.data)
        except (TypeError, ValueError):
            return None


class ApproveForm(RequestDecisionForm):
    note = TextAreaField("Note (optional)", filters=[blank_to_none])


class ScheduleForm(RequestDecisionForm):
    scheduled_for = DateTimeLocalField("Date and time", format=LOCAL_FORMAT, validators=[Optional()])


class DeclineForm(RequestDecisionForm):
    reason = TextAreaField("Reason", filters=[blank_to_none])


class CancelForm(RequestDecisionForm):
    reason = TextAreaField("Reason", filters=[blank_to_none])


class InfusionForm(FlaskForm):
    """An infusion given or booked (course.record_infusion). Numbers go to the service as typed."""

    kind = SelectField("Kind", choices=[SelectChoice(k, k.capitalize()) for k in INFUSION_KINDS], default="booster")
    status = RadioField(
        "Status",
        choices=[SelectChoice("given", "Given"), SelectChoice("scheduled", "Booked for later")],
        default="given",
        validate_choice=False,
    )
    when = DateTimeLocalField(
        "Date and time", format=LOCAL_FORMAT, validators=[Optional()], description="Given: blank means now."
    )
    dose_mg_per_kg = StringField(
        "Dose (mg/kg)", default="0.5", filters=[blank_to_none], render_kw={"inputmode": "decimal"}
    )
    weight_kg = StringField("Weight (kg)", filters=[blank_to_none], render_kw={"inputmode": "decimal"})
    duration_min = StringField(
        "Duration (min)", default="40", filters=[blank_to_none], render_kw={"inputmode": "numeric"}
    )
    # CLINICAL.md §7: before the dose, about 40 minutes in, before discharge; heart rate and SpO2 optional.
    bp_before = StringField("Blood pressure before", filters=[blank_to_none], render_kw={"placeholder": "120/80"})
    bp_during = StringField(
        "Blood pressure at about 40 min", filters=[blank_to_none], render_kw={"placeholder": "120/80"}
    )
    bp_after = StringField(
        "Blood pressure before discharge", filters=[blank_to_none], render_kw={"placeholder": "120/80"}
    )
    heart_rate_before = StringField("Heart rate before", filters=[blank_to_none], render_kw=NUMERIC)
    heart_rate_during = StringField("Heart rate at about 40 min", filters=[blank_to_none], render_kw=NUMERIC)
    heart_rate_after = StringField("Heart rate before discharge", filters=[blank_to_none], render_kw=NUMERIC)
    spo2_before = StringField("SpO2 before (%)", filters=[blank_to_none], render_kw=NUMERIC)
    spo2_during = StringField("SpO2 at about 40 min (%)", filters=[blank_to_none], render_kw=NUMERIC)
    spo2_after = StringField("SpO2 before discharge (%)", filters=[blank_to_none], render_kw=NUMERIC)
    observed_min = StringField("Observed for (min)", filters=[blank_to_none], render_kw={"inputmode": "numeric"})
    ride_home_confirmed = SelectField(
        "Ride home confirmed",
        choices=[SelectChoice("", "Not recorded"), SelectChoice("yes", "Yes"), SelectChoice("no", "No")],
        default="",
    )
    notes = TextAreaField("Clinical notes", filters=[blank_to_none])
    # The key of course.NeedsConfirmation: set once the page has asked about values outside the usual range.
    confirmed = HiddenField()

    # The service's field names for the problems it finds, where they differ from this form's.
    SERVICE_NAMES = {"scheduled_for": "when", "given_at": "when"}

    def whole(self, name: str) -> Any:
        """A whole number when it is one; otherwise what was typed, for the service to refuse in its words."""
        raw = self[name].data
        try:
            return int(raw) if raw is not None else None
        except ValueError:
            return raw

    def ride_home(self) -> bool | None:
        return {"yes": True, "no": False}.get(self.ride_home_confirmed.data or "")

    def visit_values(self) -> dict[str, Any]:
        """What was recorded of the visit, in course.record_infusion's and update_infusion's names."""
        return {
            "kind": self.kind.data,
            "dose_mg_per_kg": self.dose_mg_per_kg.data,
            "weight_kg": self.weight_kg.data,
            "duration_min": self.whole("duration_min"),
            **{name: self[name].data for name in BP_FIELDS},
            **{name: self.whole(name) for name in NUMBER_LIMITS},
            "observed_min": self.whole("observed_min"),
            "ride_home_confirmed": self.ride_home(),
            "notes": self.notes.data,
        }


def mark_cautions(form: InfusionForm, hold_at: BloodPressure) -> None:
    """CLINICAL.md §7: a reading at or above 140/90 shows its check beside it, in the hold-and-review wording
    at or above `hold_at` (the service asks for the confirmation); one that cannot be read is left for the
    service to refuse."""
    readings = {name: blood_pressure(name, form[name].data, []) for name in BP_FIELDS}
    for check in vital_checks_of(readings, hold_at):
        if not getattr(form[check.field], "warning", None):
            form[check.field].warning = check.message[:1].upper() + check.message[1:]


class PhaseForm(FlaskForm):
    phase = SelectField("Phase", choices=[SelectChoice(p, w.capitalize()) for p, w in PHASE_WORDS.items()])
    reason = TextAreaField("Reason", filters=[blank_to_none])


class ReminderForm(FlaskForm):
    enabled = BooleanField("Send check-in reminders")
    weekday = SelectField("Day", choices=[SelectChoice(str(i), day) for i, day in enumerate(WEEKDAYS)])
    local_time = TimeField("Time (the patient's)", validators=[Optional()])
    timezone = OneLineField("Patient's time zone", filters=[blank_to_none], validators=[Length(max=64)])


class PatientFilterForm(FlaskForm):
    """The patient list's search, filters and sort: a GET form (no CSRF: it changes nothing)."""

    class Meta:
        csrf = False

    q = OneLineField(
        "Name or phone", widget=SearchInput(), filters=[blank_to_none], validators=[Optional(), Length(max=100)]
    )
    phase = SelectField(
        "Phase",
        choices=[SelectChoice("", "Any phase")] + [SelectChoice(p, w.capitalize()) for p, w in PHASE_WORDS.items()],
    )
    attention = SelectField(
        "Show",
        choices=[
            SelectChoice("", "Everyone"),
            SelectChoice("yes", "Needs attention"),
            SelectChoice("no", "Nothing open"),
        ],
    )
    sort = SelectField("Sort by", choices=[SelectChoice(s, SORT_WORDS.get(s, s)) for s in SORTS], default="name")
    order = SelectField("Order", choices=[SelectChoice("asc", "Ascending"), SelectChoice("desc", "Descending")])
    page = IntegerField("Page", default=1, validators=[Optional(), NumberRange(min=1, max=MAX_PAGE)])
