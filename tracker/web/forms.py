"""The web forms; Flask-WTF adds the CSRF token to each."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import DateField, IntegerField, PasswordField, SelectField, TimeField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, EqualTo, InputRequired, Length, Optional
from wtforms.widgets import EmailInput

from tracker import safety
from tracker.countries import country_names
from tracker.services.clinic import settings as clinic_settings
from tracker.web.one_line import OneLineField
from tracker.web.schedule_form import schedule_fields


class LoginForm(FlaskForm):
    username = OneLineField(
        "Email or mobile number",
        validators=[DataRequired("Enter your email or mobile number."), Length(max=254)],
        render_kw={"autocomplete": "username", "autocapitalize": "none"},
    )
    password = PasswordField(
        "Password",
        validators=[DataRequired("Enter your password."), Length(max=200)],
        render_kw={"autocomplete": "current-password"},
    )


class SetPasswordForm(FlaskForm):
    password = PasswordField(
        "Choose a password",
        validators=[DataRequired("Choose a password."), Length(max=200)],
        render_kw={"autocomplete": "new-password"},
        description="At least 10 characters. A short sentence is easy to remember.",
    )
    confirm = PasswordField(
        "Type it again",
        validators=[DataRequired("Type the password again."), EqualTo("password", "The two passwords differ.")],
        render_kw={"autocomplete": "new-password"},
    )


class ResetRequestForm(FlaskForm):
    """Asking for a password reset: only the username, as at login."""

    username = OneLineField(
        "Email or mobile number",
        validators=[DataRequired("Enter your email or mobile number."), Length(max=254)],
        render_kw={"autocomplete": "username", "autocapitalize": "none"},
    )


class ChangePasswordForm(FlaskForm):
    current = PasswordField(
        "Current password",
        validators=[DataRequired("Enter your current password."), Length(max=200)],
        render_kw={"autocomplete": "current-password"},
    )
    password = PasswordField(
        "New password",
        validators=[DataRequired("Choose a new password."), Length(max=200)],
        render_kw={"autocomplete": "new-password"},
        description="At least 10 characters. Your other devices are logged out.",
    )
    confirm = PasswordField(
        "Type it again",
        validators=[DataRequired("Type the new password again."), EqualTo("password", "The two passwords differ.")],
        render_kw={"autocomplete": "new-password"},
    )


class LogoutForm(FlaskForm):
    """Logging out is a POST with a token, so another site cannot log a clinician out."""


class ConfirmForm(FlaskForm):
    """A button that changes something: only its CSRF token."""


class InviteStaffForm(FlaskForm):
    """A staff account without a password: its holder sets one through a one-time link."""

    email = OneLineField(
        "Email",
        widget=EmailInput(),
        validators=[DataRequired("Enter an email address."), Length(max=254)],
        render_kw={"autocomplete": "off", "autocapitalize": "none"},
    )
    role = SelectField(
        "Role", choices=[SelectChoice("clinician", "Clinician"), SelectChoice("admin", "Admin")], default="clinician"
    )
    display_name = OneLineField(
        "Name colleagues will see",
        validators=[Length(max=120)],
        description="Such as Dr Sam Lee. Left empty, the part of the email before the @.",
        render_kw={"autocomplete": "off"},
    )


class StaffNameForm(FlaskForm):
    """The admin renames a staff member; empty goes back to their email's local part."""

    display_name = OneLineField("Name", validators=[Length(max=120)], render_kw={"autocomplete": "off"})


def _whole(label: str, setting: str, description: str | None = None) -> IntegerField:
    """A whole-number clinic setting; its range comes from the service, which also checks it."""
    low, high = clinic_settings.RANGES[setting]
    return IntegerField(
        label,
        validators=[InputRequired(f"Enter a whole number from {low} to {high}.")],
        # The service's words for a number out of range, for one that is not a number at all.
        invalid_value_message=f"Use a whole number from {low} to {high}.",
        description=description or clinic_settings.EXPLANATIONS[setting],
        render_kw={"min": low, "max": high, "inputmode": "numeric"},
    )


def _clock_time(label: str, description: str) -> TimeField:
    return TimeField(
        label,
        validators=[InputRequired("Enter a time such as 09:30.")],
        invalid_value_message="Use a time of day on the 24-hour clock, such as 09:30 or 21:00.",
        description=description,
    )


def _phone(label: str, description: str) -> OneLineField:
    return OneLineField(
        label, validators=[Length(max=30)], description=description, render_kw={"autocomplete": "off", "type": "tel"}
    )


WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


class ClinicSettingsForm(FlaskForm):
    """Every clinic setting of services/clinic_settings.py; the service validates, this form only parses."""

    name = OneLineField("Clinic name", validators=[DataRequired("Enter the clinic's name."), Length(max=200)])
    timezone = OneLineField(
        "Time zone",
        validators=[DataRequired("Enter a time zone name such as America/Chicago."), Length(max=64)],
        description="A name such as America/Chicago: reminder times and quiet hours are in this zone.",
    )
    signal_min_total = _whole("Signal: lowest total", "signal_min_total")
    signal_min_rise = _whole("Signal: lowest rise", "signal_min_rise")
    confirm_min_days = _whole("Confirming check-in: at least (days)", "confirm_min_days")
    confirm_max_days = _whole("Confirming check-in: at most (days)", "confirm_max_days")
    urgent_min_total = _whole("Urgent: lowest total", "urgent_min_total")
    induction_infusion_count = _whole("Induction infusions", "induction_infusion_count")
    post_induction_phase = SelectField(
        "After induction",
        choices=[SelectChoice("as_needed", "As needed"), SelectChoice("maintenance", "Scheduled maintenance")],
        description=clinic_settings.EXPLANATIONS["post_induction_phase"],
    )
    phone = _phone("Clinic phone", "Told to patients who text HELP. Leave empty for none.")
    oncall_phone = _phone(
        "On-call phone",
        "Texted at once, day or night, when a patient answers item 9 above 0 and when a booster request is urgent.",
    )
    backup_phone = _phone(
        "Backup phone", "Texted when a safety alert is not acknowledged in time (and when there is no on-call phone)."
    )
    safety_ack_minutes = _whole("Minutes to acknowledge a safety alert", "safety_ack_minutes")
    reminder_weekday = SelectField(
        "Reminder day",
        choices=[SelectChoice(str(number), day) for number, day in enumerate(WEEKDAYS)],
        description="The day of the week patients are reminded to check in, unless they chose another.",
    )
    reminder_local_time = _clock_time(
        "Reminder time", "The time of day of the reminder, in the clinic's time zone, unless a patient chose another."
    )
    quiet_start = _clock_time("Quiet hours start", "No reminder or nudge is sent from this time…")
    quiet_end = _clock_time("Quiet hours end", "…until this time. Safety and urgent texts to staff are always sent.")
    missed_checkin_grace_days = _whole("Days before a nudge", "missed_checkin_grace_days")
    missed_checkin_alert_days = _whole("Days before an attention alert", "missed_checkin_alert_days")
    bp_hold_systolic = _whole("Hold and review: systolic (mmHg)", "bp_hold_systolic")
    bp_hold_diastolic = _whole("Hold and review: diastolic (mmHg)", "bp_hold_diastolic")
    # CLINICAL.md §3: the crisis resources; the crisis lines' own fields are added below the class.
    country = SelectField(
        "Country",
        choices=[SelectChoice("", "Not set")]
        + [SelectChoice(code, f"{name} ({code})") for code, name in country_names().items()],
        description="Picks the crisis lines a patient is given (built in for US, CA, GB, IE, AU and NZ).",
    )
    emergency_numbers = OneLineField(
        "Emergency number",
        validators=[Length(max=60)],
        description="As it is dialled, such as 999; where there are two, such as 112 or 999, enter both.",
        render_kw={"autocomplete": "off", "inputmode": "tel"},
    )


# How a crisis line is reached, as the settings form asks it: (choice, words, takes calls, takes texts).
LINE_REACH = (("call", "Call", True, False), ("text", "Text", False, True), ("both", "Call or text", True, True))


def _crisis_line_fields(number: int) -> dict[str, object]:
    """One crisis line's fields on the settings form: its name, number, how it is reached, the word to text."""
    return {
        f"line{number}_name": OneLineField(f"Line {number}: name", validators=[Length(max=200)]),
        f"line{number}_phone": OneLineField(
            f"Line {number}: number",
            validators=[Length(max=40)],
            description="As it is dialled in the country, such as 116 123.",
            render_kw={"autocomplete": "off", "inputmode": "tel"},
        ),
        f"line{number}_reach": SelectField(
            f"Line {number}: takes", choices=[SelectChoice(value, words) for value, words, *_ in LINE_REACH]
        ),
        f"line{number}_keyword": OneLineField(
            f"Line {number}: word to text",
            validators=[Length(max=40)],
            description="Only for a line that asks for one, such as SHOUT. Leave empty for none.",
            render_kw={"autocomplete": "off", "autocapitalize": "characters"},
        ),
    }


CRISIS_LINE_NUMBERS = tuple(range(1, safety.MAX_LINES + 1))
for _number in CRISIS_LINE_NUMBERS:
    for _name, _field in _crisis_line_fields(_number).items():
        setattr(ClinicSettingsForm, _name, _field)

# CLINICAL.md §7: which instruments each phase asks and how often, a select per phase and instrument.
SCHEDULE_FIELDS = schedule_fields()
for _name, _field in SCHEDULE_FIELDS.items():
    setattr(ClinicSettingsForm, _name, _field)


class AuditFilterForm(FlaskForm):
    """The audit log's filters, sent in the query string (a GET form: nothing to protect with a token)."""

    class Meta:
        csrf = False

    # The choices (the clinic's own actions, patients and staff) are set by the view; "" is "any".
    action = SelectField("Action", choices=[], default="")
    patient = SelectField("Patient", choices=[], default="")
    staff = SelectField("Staff member", choices=[], default="")
    date_from = DateField("From", validators=[Optional()])
    date_to = DateField("To (inclusive)", validators=[Optional()])
