"""The admin's settings page: relapse thresholds, contacts and reminder defaults, each explained and checked."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import time
from typing import Any

import pytest
import sqlalchemy as sa
from conftest import AuthActions, csrf_token_from
from factories import Factory
from flask.testing import FlaskClient
from markupsafe import escape

from tracker.clock import FrozenClock
from tracker.models import AuditEvent, Clinic, Patient

# What the page sends back unchanged for a clinic with the model's defaults.
DEFAULTS = {
    "name": "North Clinic",
    "timezone": "America/Chicago",
    "signal_min_total": "10",
    "signal_min_rise": "5",
    "confirm_min_days": "5",
    "confirm_max_days": "15",
    "urgent_min_total": "20",
    "induction_infusion_count": "6",
    "post_induction_phase": "as_needed",
    "phone": "",
    "oncall_phone": "",
    "backup_phone": "",
    "safety_ack_minutes": "30",
    "reminder_weekday": "0",
    "reminder_local_time": "10:00",
    "quiet_start": "21:00",
    "quiet_end": "08:00",
    "missed_checkin_grace_days": "2",
    "missed_checkin_alert_days": "21",
    "bp_hold_systolic": "180",  # CLINICAL.md §7: the default hold-and-review blood pressure
    "bp_hold_diastolic": "110",
    # The crisis resources (CLINICAL.md §3) as the page shows them for a US clinic: the built-in ones.
    "country": "US",
    "line1_name": "988 Suicide & Crisis Lifeline",
    "line1_phone": "988",
    "line1_reach": "both",
    "line1_keyword": "",
    **{
        f"line{n}_{part}": "call" if part == "reach" else ""
        for n in (2, 3)
        for part in ("name", "phone", "reach", "keyword")
    },
    "emergency_numbers": "911",
}


@pytest.fixture
def clinic(factory: Factory) -> Clinic:
    clinic = factory.clinic("North Clinic")
    factory.user(clinic, role="admin", email="admin@example.org")
    return clinic


def _save(client: FlaskClient, **changes: str) -> Any:
    token = csrf_token_from(client.get("/admin/settings").get_data(as_text=True))
    return client.post("/admin/settings", data={**DEFAULTS, **changes, "csrf_token": token})


def _clinic(fetch: Callable[..., list[Any]], clinic: Clinic) -> Clinic:
    [row] = fetch(sa.select(Clinic).where(Clinic.id == clinic.id))
    return row


def test_the_page_shows_every_setting_with_its_explanation(
    client: FlaskClient, auth: AuthActions, clinic: Clinic
) -> None:
    auth.login("admin@example.org")
    html = client.get("/admin/settings").get_data(as_text=True)
    for name, value in DEFAULTS.items():
        assert f'name="{name}"' in html
        if value and name not in ("post_induction_phase", "reminder_weekday"):
            assert f'value="{escape(value)}"' in html
    # The one-line explanations of the thresholds, tied to their inputs.
    assert "only at this PHQ-9 total or above (caseness: 10)" in html
    assert 'id="signal_min_total-hint"' in html and 'aria-describedby="signal_min_total-hint"' in html
    assert "SUSTAIN-1: 5 to 15" in html
    for heading in ("Relapse thresholds", "On-call and backup contacts", "Reminder defaults"):
        assert heading in html
    assert "style=" not in html and "<script" not in html


def test_saving_changes_only_what_changed_and_audits_it(
    client: FlaskClient,
    auth: AuthActions,
    clinic: Clinic,
    factory: Factory,
    fetch: Callable[..., list[Any]],
    clock: FrozenClock,
) -> None:
    patient = factory.patient(clinic)
    [before] = fetch(sa.select(Patient.changed_at).where(Patient.id == patient.id))
    clock.advance(hours=1)
    auth.login("admin@example.org")
    response = _save(
        client,
        signal_min_total="12",
        confirm_max_days="20",
        oncall_phone="(312) 555-0142",
        reminder_local_time="09:30",
        reminder_weekday="3",
    )
    assert response.status_code == 302
    saved = _clinic(fetch, clinic)
    assert (saved.signal_min_total, saved.confirm_max_days, saved.oncall_phone) == (12, 20, "+13125550142")
    assert (saved.reminder_local_time, saved.reminder_weekday, saved.signal_min_rise) == (time(9, 30), 3, 5)
    [event] = fetch(sa.select(AuditEvent).where(AuditEvent.action == "settings.change"))
    assert event.detail["after"] == {
        "signal_min_total": 12,
        "confirm_max_days": 20,
        "oncall_phone": "+13125550142",
        "reminder_local_time": "09:30",
        "reminder_weekday": 3,
    }
    assert event.detail["before"]["signal_min_total"] == 10
    # New thresholds: every patient is scanned again (services/clinic_settings.py).
    [after] = fetch(sa.select(Patient.changed_at).where(Patient.id == patient.id))
    assert after == clock.current != before
    assert "Saved: " in client.get("/admin/settings").get_data(as_text=True)


def test_sending_the_page_back_unchanged_changes_nothing(
    client: FlaskClient, auth: AuthActions, clinic: Clinic, fetch: Callable[..., list[Any]]
) -> None:
    auth.login("admin@example.org")
    unchanged = _save(client)
    assert unchanged.status_code == 302 and unchanged.headers["Location"].endswith("/admin/settings#save")
    # Said beside the Save button, where the page lands (templates/clinic/_landed.html).
    assert 'data-landed="save">Nothing changed.</p>' in client.get("/admin/settings").get_data(as_text=True)
    assert fetch(sa.select(AuditEvent).where(AuditEvent.action == "settings.change")) == []


def test_clearing_a_contact_removes_it(
    client: FlaskClient, auth: AuthActions, factory: Factory, fetch: Callable[..., list[Any]]
) -> None:
    clinic = factory.clinic("North Clinic", backup_phone="+13125550143")
    factory.user(clinic, role="admin", email="admin@example.org")
    auth.login("admin@example.org")
    assert 'value="+13125550143"' in client.get("/admin/settings").get_data(as_text=True)
    assert _save(client, backup_phone="").status_code == 302
    assert _clinic(fetch, clinic).backup_phone is None


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"signal_min_total": "28"}, "signal_min_total", "Use a whole number from 1 to 27."),
        # Issue 11 point 5: in words a clinician reads, no internal field names (CLINICAL.md §5: min < max).
        (
            {"confirm_min_days": "10", "confirm_max_days": "8"},
            "confirm_max_days",
            "Must be more days than the confirming check-in&#39;s shortest gap (10).",
        ),
        ({"oncall_phone": "call me"}, "oncall_phone", "Use a phone number such as +13125550123."),
        ({"timezone": "Mars/Olympus"}, "timezone", "Use a time zone name such as America/Chicago."),
        ({"urgent_min_total": "lots"}, "urgent_min_total", "Use a whole number from 1 to 27."),
        ({"urgent_min_total": ""}, "urgent_min_total", "Enter a whole number from 1 to 27."),
        ({"quiet_start": "25:00"}, "quiet_start", "Use a time of day on the 24-hour clock, such as 09:30 or 21:00."),
        (
            {"quiet_start": "08:00", "quiet_end": "08:00"},
            "quiet_end",
            "Must be a different time from the start (08:00): quiet hours need a length.",
        ),
        # One end moved onto the other, stored one.
        ({"quiet_end": "21:00"}, "quiet_end", "Must be a different time from the start (21:00)"),
    ],
)
def test_a_bad_value_is_explained_beside_its_field_and_nothing_is_saved(
    client: FlaskClient,
    auth: AuthActions,
    clinic: Clinic,
    fetch: Callable[..., list[Any]],
    changes: dict[str, str],
    field: str,
    message: str,
) -> None:
    auth.login("admin@example.org")
    response = _save(client, signal_min_rise="7", **changes)  # a good change alongside: kept back too
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert f'<p class="error" id="{field}-error">{message}' in html
    assert f'href="#{field}"' in html  # the summary at the top links to the field
    assert 'aria-invalid="true"' in html
    assert _clinic(fetch, clinic).signal_min_rise == 5
    assert fetch(sa.select(AuditEvent).where(AuditEvent.action == "settings.change")) == []


@pytest.mark.parametrize("role", ["clinician", "patient"])
def test_only_the_admin_may_see_or_change_settings(
    client: FlaskClient, auth: AuthActions, clinic: Clinic, factory: Factory, role: str
) -> None:
    if role == "patient":
        factory.patient(clinic, phone="+13125550188")
        username = "+13125550188"
    else:
        username = factory.user(clinic, role=role).email or ""
    auth.login(username)
    assert client.get("/admin/settings").status_code == 403
    assert client.post("/admin/settings", data=DEFAULTS).status_code in (400, 403)


def test_every_problem_on_the_form_is_shown_at_once_in_words(
    client: FlaskClient, auth: AuthActions, clinic: Clinic, factory: Factory
) -> None:
    # Issue 11 point 5: one the form refuses (not a number), one the service refuses alone (a bad phone), and
    # two only the checks together find (CLINICAL.md §5; API.md: a clinic taking patients needs an on-call phone).
    factory.patient(clinic)
    auth.login("admin@example.org")
    response = _save(
        client, signal_min_rise="lots", backup_phone="call me", confirm_min_days="15", confirm_max_days="15"
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    for field in ("signal_min_rise", "backup_phone", "confirm_max_days", "oncall_phone"):
        assert f'<p class="error" id="{field}-error">' in html, field
    assert "needs an on-call phone" in html
    summary = html[html.index("error-summary") : html.index("</ul>", html.index("error-summary"))]
    words = re.sub(r"<[^>]+>", " ", summary)  # what the admin reads, without the links' targets
    assert "_" not in words.replace("error-summary", "")


def test_a_bad_value_does_not_hide_the_crisis_resources_the_patients_would_lose(
    client: FlaskClient, auth: AuthActions, clinic: Clinic, factory: Factory, fetch: Callable[..., list[Any]]
) -> None:
    # CLINICAL.md §3: moving a clinic with patients to a country with no built-in lines, lines emptied, is refused;
    # a bad threshold sent alongside is named too, not instead.
    factory.patient(clinic)
    auth.login("admin@example.org")
    response = _save(
        client,
        oncall_phone="+13125550100",
        signal_min_total="40",
        country="FR",
        line1_name="",
        line1_phone="",
        emergency_numbers="",
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert '<p class="error" id="signal_min_total-error">Use a whole number from 1 to 27.' in html
    assert '<p class="error" id="country-error">The clinic has patients, and no crisis resources are built in' in html
    assert "enter at least one crisis line and the emergency number too." in html
    assert _clinic(fetch, clinic).country == "US"
