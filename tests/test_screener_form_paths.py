"""The safety follow-up's screener form sent as a browser sends it (CLINICAL.md §7): every answer can be taken back
without JavaScript, a level below the server's suggestion needs its reason beside the note, and the page lands on
the suggestion."""

from __future__ import annotations

import re
from collections.abc import Callable
from html.parser import HTMLParser
from typing import Any

import pytest
import sqlalchemy as sa
from conftest import TEST_NOW, AuthActions
from factories import Factory
from flask.testing import FlaskClient
from test_clinic_pages import one, page, safety_alert, staff

from tracker import cssrs
from tracker.errors import Invalid
from tracker.extensions import db
from tracker.models import Alert, AuditEvent, Patient, User
from tracker.services.alerts import risk_flag
from tracker.unit_of_work import transaction

Fetch = Callable[..., list[Any]]


class _Form(HTMLParser):
    """What a browser would send for the form whose action starts with `action`: its hidden inputs, checked radios
    and textareas, each as the page left it."""

    def __init__(self, action: str) -> None:
        super().__init__()
        self.action, self.inside, self.textarea = action, False, None
        self.target: str | None = None
        self.values: dict[str, str] = {}
        self.radios: dict[str, list[str]] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and a.get("action", "").startswith(self.action):
            self.inside, self.target = True, a["action"]
        elif self.inside and tag == "input" and a.get("type") == "radio":
            self.radios.setdefault(a["name"], []).append(a["value"])
            if "checked" in a:
                self.values[a["name"]] = a["value"]
        elif self.inside and tag == "input":
            self.values[a["name"]] = a.get("value", "")
        elif self.inside and tag == "textarea":
            self.textarea = a["name"]
            self.values[a["name"]] = ""

    def handle_data(self, data: str) -> None:
        if self.textarea is not None:
            self.values[self.textarea] += data.lstrip("\n") if not self.values[self.textarea] else data

    def handle_endtag(self, tag: str) -> None:
        if tag == "textarea":
            self.textarea = None
        elif tag == "form":
            self.inside = False


def _send(client: FlaskClient, html: str, alert: Alert, **changes: str) -> tuple[int, str, str]:
    """Mark `changes` (field -> value, as a click or typing would) on the page's resolve form and submit it:
    the status, the page and the URL the form was sent to. A radio value the page does not offer fails here."""
    form = _Form(f"/clinic/alerts/{alert.id}/resolve")
    form.feed(html)
    assert form.target is not None, "no resolve form on the page"
    prefix = f"resolve-{str(alert.id)[:8]}-"
    data = dict(form.values)
    for key, value in changes.items():
        name = prefix + key
        if name in form.radios:
            assert value in form.radios[name], f"{key}: the page offers {form.radios[name]}, not {value!r}"
        data[name] = value
    response = client.post(form.target, data=data)
    return response.status_code, response.get_data(as_text=True), form.target


def _open(client: FlaskClient, auth: AuthActions, factory: Factory) -> tuple[Alert, str]:
    clinic = factory.clinic()
    patient = factory.patient(clinic)
    alert = safety_alert(factory, patient)
    staff(factory, auth, clinic)
    return alert, page(client, f"/clinic/patients/{patient.id}")


def test_an_answer_can_be_taken_back_when_the_screener_was_not_asked(
    client: FlaskClient, auth: AuthActions, factory: Factory, fetch: Fetch
) -> None:
    alert, html = _open(client, auth, factory)
    status, html, _ = _send(
        client, html, alert, wish_dead="yes", screener_not_done="patient hung up", risk_level="moderate"
    )
    assert status == 422 and "give the answers or why it was not asked, not both" in html.lower()
    assert "patient hung up" in html  # what was typed is kept

    status, html, _ = _send(client, html, alert, wish_dead="")  # "Not answered", typed text unchanged
    assert status == 303, html[:3000]
    stored = one(fetch, Alert, alert.id)
    assert (stored.screener, stored.screener_not_done, stored.risk_level) == (None, "patient hung up", "moderate")


def test_answers_to_3_to_5_can_be_taken_back_after_no_to_question_2(
    client: FlaskClient, auth: AuthActions, factory: Factory, fetch: Fetch
) -> None:
    alert, html = _open(client, auth, factory)
    given = {"wish_dead": "yes", "thoughts": "no", "method": "yes", "intent": "no", "plan": "yes", "behavior": "no"}
    status, html, _ = _send(client, html, alert, **given, action="Called the patient")
    assert status == 422 and cssrs.NOT_ASKED_AFTER_NO_TO_2 in html
    assert "Called the patient" in html

    status, html, _ = _send(client, html, alert, method="", intent="", plan="")
    assert status == 422 and "The screener suggests: low risk." in html  # the answers now stand
    status, html, _ = _send(client, html, alert)  # the level preset to the suggestion, confirmed
    assert status == 303, html[:3000]
    stored = one(fetch, Alert, alert.id)
    assert stored.screener["method"] is None and stored.risk_level == "low" and stored.action == "Called the patient"


def test_lowering_the_suggested_level_on_the_page_needs_a_reason_beside_the_note(
    client: FlaskClient, auth: AuthActions, factory: Factory, fetch: Fetch
) -> None:
    alert, html = _open(client, auth, factory)
    prefix = f"resolve-{str(alert.id)[:8]}"
    high = {"wish_dead": "yes", "thoughts": "yes", "method": "yes", "intent": "yes", "plan": "no", "behavior": "no"}
    status, html, _ = _send(client, html, alert, **high)
    assert status == 422 and "The screener suggests: high risk." in html

    # The clinician changes the preset "high" to "low" and resolves without a note.
    status, html, _ = _send(client, html, alert, risk_level="low")
    assert status == 422
    assert re.search(rf'id="{prefix}-note-error">[^<]*suggests high risk: say why you document low', html, re.I)
    assert one(fetch, Alert, alert.id).status == "open"

    status, html, _ = _send(client, html, alert, note="Seen in person today; plan with family")
    assert status == 303, html[:3000]
    stored = one(fetch, Alert, alert.id)
    assert (stored.risk_level, stored.screener_suggested) == ("low", "high")


def test_the_page_with_the_suggestion_lands_on_it(client: FlaskClient, auth: AuthActions, factory: Factory) -> None:
    alert, html = _open(client, auth, factory)
    given = {"wish_dead": "yes", "thoughts": "no", "behavior": "no", "action": "Called"}
    status, html, target = _send(client, html, alert, **given)
    assert status == 422 and "The screener suggests: low risk." in html
    anchor = target.split("#", 1)[1]
    assert re.search(rf'<div class="confirm-box"[^>]*id="{anchor}"', html), html[:3000]


def test_clearing_the_high_risk_flag_takes_a_reason_kept_in_the_audit_log(
    app: Any, factory: Factory, fetch: Fetch
) -> None:
    clinic = factory.clinic()
    patient = factory.patient(clinic)
    user = factory.user(clinic, email="doc@example.org")
    with factory.session() as s:
        s.get(Patient, patient.id).high_risk_flagged_at = TEST_NOW  # type: ignore[union-attr]
    with app.test_request_context(), transaction(db.session):
        by = db.session.get(User, user.id)
        assert by is not None
        for reason, message in (("  ", "required: say why"), ("x" * 301, "at most 300 characters")):
            with pytest.raises(Invalid) as refused:
                risk_flag.clear(by, patient.id, reason)
            [problem] = refused.value.problems
            assert problem.field == "reason" and problem.message.startswith(message)
        risk_flag.clear(by, patient.id, "  Seen in clinic\n today ")
    [event] = fetch(sa.select(AuditEvent).where(AuditEvent.action == "patient.high_risk_clear"))
    assert event.detail["reason"] == "Seen in clinic today"
    assert one(fetch, Patient, patient.id).high_risk_flagged_at is None
