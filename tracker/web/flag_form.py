"""The form that clears a patient's high-risk flag (services/alerts/risk_flag.py): the clinician says why."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import TextAreaField

from tracker.web.clinic_forms import blank_to_none

PREFIX = "flag"


class ClearFlagForm(FlaskForm):
    """Required by the service, not here, so a blank reason is refused beside the field like any other."""

    reason = TextAreaField(
        "Why has the high risk passed?",
        filters=[blank_to_none],
        description="E.g. seen in clinic today, safety plan in place. Kept in the audit log.",
        render_kw={"rows": 2},
    )
