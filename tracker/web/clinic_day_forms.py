"""The forms of a clinic day: enrolling a patient, a check-in taken in clinic, a booster request raised by a
clinician, and the visit form that records, corrects, moves or cancels an infusion.

They parse; the services decide what is valid and say so field by field (clinic_forms.put_problems).
"""

from __future__ import annotations

import uuid
from typing import Any

from flask_wtf import FlaskForm
from wtforms import DateTimeLocalField, HiddenField, RadioField, SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional
from wtforms.widgets import EmailInput

from tracker.errors import FieldProblem
from tracker.instruments import Instrument
from tracker.models.patient import PHASES
from tracker.web.clinic_forms import LOCAL_FORMAT, PHASE_WORDS, InfusionForm, blank_to_none
from tracker.web.one_line import OneLineField


class EnrolForm(FlaskForm):
    """enrolment.enrol_patient's fields; the invitation text goes to the phone given here."""

    display_name = OneLineField(
        "Name as the clinic shows it", filters=[blank_to_none], description="For example Hayden P.; up to 120 letters."
    )
    phone = OneLineField(
        "Mobile number",
        filters=[blank_to_none],
        render_kw={"inputmode": "tel", "autocomplete": "off"},
        description="With its country code, such as +13125550123: the invitation is texted to it.",
    )
    email = OneLineField(
        "Email (optional)",
        widget=EmailInput(),
        filters=[blank_to_none],
        validators=[Optional(), Length(max=254)],
        render_kw={"autocomplete": "off", "autocapitalize": "none"},
    )
    timezone = OneLineField(
        "Patient's time zone", filters=[blank_to_none], description="A name such as America/Chicago."
    )
    phase = SelectField(
        "Phase", choices=[SelectChoice(p, w.capitalize()) for p, w in PHASE_WORDS.items()], default=PHASES[0]
    )


CLINIC_CHECKIN_NAMESPACE = uuid.UUID("5d2c7a1e-8b4f-4e61-9c3a-2f6b1d8e0a47")


def _answer(raw: object) -> int | None:
    """A radio's value as a number; anything else is left for the service to refuse."""
    try:
        return int(str(raw))
    except ValueError:
        return None


class ClinicCheckInBase(FlaskForm):
    """A check-in taken in clinic (checkins.submit, source "clinic") at the time it was taken."""

    # Blank is now, as the page says beside it; anything else must be a date and time (checkins.submit: not ahead).
    taken_at = DateTimeLocalField(
        "Taken at",
        format=LOCAL_FORMAT,
        validators=[Optional()],
        invalid_value_message="Enter a date and time such as 2026-03-01 09:30, or leave it blank for now.",
    )
    # One key per form shown: the same form sent twice (a double click, a retry) stores one check-in.
    key = HiddenField(default=lambda: str(uuid.uuid4()))

    instrument: Instrument

    def checkin_id(self, patient_id: uuid.UUID) -> uuid.UUID | None:
        try:
            token = uuid.UUID(str(self.key.data))
        except ValueError:
            return None  # no usable key: the check-in gets a random id
        return uuid.uuid5(CLINIC_CHECKIN_NAMESPACE, f"{patient_id}:{token}")

    def answers(self) -> list[Any]:
        """Each item's answer, None where none was chosen: the service names what is missing."""
        return [self[f"item{item.number}"].data for item in self.instrument.items]

    def questions(self) -> list[tuple[Any, Any]]:
        return [(item, self[f"item{item.number}"]) for item in self.instrument.items]


def clinic_checkin_form(instrument: Instrument) -> type[ClinicCheckInBase]:
    """The form for one instrument: a radio group per item, and its difficulty question when it has one."""
    attrs: dict[str, Any] = {"instrument": instrument}
    for item in instrument.items:
        attrs[f"item{item.number}"] = RadioField(
            f"{item.number}. {item.text}",
            choices=[SelectChoice(o.value, o.text) for o in instrument.options],
            coerce=_answer,
            validate_choice=False,
        )
    if instrument.difficulty_item is not None:
        attrs["difficulty"] = RadioField(
            f"{instrument.difficulty_item.text} (optional)",
            choices=[SelectChoice(o.value, o.text) for o in instrument.difficulty_options],
            coerce=_answer,
            validate_choice=False,
        )
    return type(f"ClinicCheckInForm_{instrument.name}", (ClinicCheckInBase,), attrs)


class RaiseBoosterForm(FlaskForm):
    """A clinician-raised booster request (boosters.raise_request): the reason is required there."""

    reason = TextAreaField("Why a booster now", filters=[blank_to_none])


class VisitForm(InfusionForm):
    """The whole visit: what was given and the observation after it; `reason` says why a record is corrected."""

    reason = TextAreaField("Why it is corrected", filters=[blank_to_none])


class RescheduleForm(FlaskForm):
    when = DateTimeLocalField("New date and time", format=LOCAL_FORMAT, validators=[Optional()])


class CancelInfusionForm(FlaskForm):
    reason = TextAreaField("Reason", filters=[blank_to_none])


def show_warnings(form: FlaskForm, warnings: list[FieldProblem], names: dict[str, str]) -> None:
    """Each unusual value's warning beside its field; the field macro draws `warning` under the input. Several
    on one field are all shown, joined, so that no check hides another."""
    shown: dict[str, list[str]] = {}
    for warning in warnings:
        name = names.get(warning.field, warning.field)
        if name in form:
            shown.setdefault(name, []).append(warning.message[:1].upper() + warning.message[1:])
    for name, messages in shown.items():
        form[name].warning = "; ".join(messages)
