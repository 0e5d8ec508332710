"""The patient's own forms beyond the check-in: asking for a booster, and their reminders. Parsing only: the
services (boosters.requests, accounts.patients) decide what is valid, as they do for the API."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, TextAreaField, TimeField
from wtforms.validators import Optional

from tracker.web.clinic_forms import blank_to_none


class BoosterRequestForm(FlaskForm):
    reason = TextAreaField("What has changed, in your own words", filters=[blank_to_none])


class MyRemindersForm(FlaskForm):
    enabled = BooleanField("Text me a reminder when a check-in is due")
    # Optional: left empty with reminders off, the time stays as it is (the clinic's default until one is
    # chosen); with reminders on, the page asks for a time.
    local_time = TimeField("At what time (your time)", validators=[Optional()])
