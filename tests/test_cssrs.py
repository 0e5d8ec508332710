"""The C-SSRS screener at the safety follow-up (CLINICAL.md §7): the triage table, the skip logic, and resolving a
safety alert with it by the service, the API and the clinic's page."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from conftest import AuthActions, csrf_token_from
from factories import Factory
from flask.testing import FlaskClient
from hypothesis import given
from hypothesis import strategies as st
from test_clinic_pages import one, page, safety_alert, staff

from tracker import cssrs
from tracker.errors import Invalid
from tracker.models import Alert, Patient, User
from tracker.services.alerts import writes as alerts

Y, N, _ = True, False, None

# CLINICAL.md §7: "yes to 4, 5, or 6 within three months -> high; yes to 3 -> moderate; yes to 1 or 2 only -> low".
# (1, 2, 3, 4, 5, 6, 6 within 3 months) -> suggested level
TRIAGE = [
    ((N, N, _, _, _, N, _), "low"),  # every answer no: a negative screen
    ((Y, N, _, _, _, N, _), "low"),  # yes to 1 only
    ((N, Y, N, N, N, N, _), "low"),  # yes to 2 only
    ((Y, Y, N, N, N, N, _), "low"),  # yes to 1 and 2 only
    ((Y, Y, Y, N, N, N, _), "moderate"),  # yes to 3
    ((Y, Y, Y, Y, N, N, _), "high"),  # yes to 4
    ((Y, Y, N, Y, N, N, _), "high"),  # 4 without 3
    ((Y, Y, Y, Y, Y, N, _), "high"),  # yes to 5
    ((Y, Y, N, N, Y, N, _), "high"),  # 5 alone
    ((N, N, _, _, _, Y, Y), "high"),  # 6 within three months, no ideation
    ((Y, N, _, _, _, Y, Y), "high"),
    ((N, N, _, _, _, Y, N), "moderate"),  # 6 longer ago: the screener's moderate
    ((Y, Y, Y, N, N, Y, N), "moderate"),
    ((Y, Y, N, N, N, Y, N), "moderate"),
]


def answers(values: tuple[bool | None, ...]) -> cssrs.Answers:
    return cssrs.Answers(*values)  # type: ignore[arg-type]


@pytest.mark.parametrize(("values", "level"), TRIAGE)
def test_the_screener_suggests_the_level_of_its_triage(values: tuple[bool | None, ...], level: str) -> None:
    assert cssrs.suggested_level(answers(values)) == level


@pytest.mark.parametrize(("values", "level"), TRIAGE)
def test_answers_parse_back_as_given_and_keep_skipped_questions_unasked(
    values: tuple[bool | None, ...], level: str
) -> None:
    raw = {key: value for key, value in zip(cssrs.ALL_KEYS, values, strict=True) if value is not None}
    parsed, problems = cssrs.parse(raw)
    assert problems == [] and parsed == answers(values)
    assert cssrs.from_stored(parsed.as_dict()) == parsed
    if values[1] is False:  # no to 2: questions 3-5 were not asked, and are not stored as "no"
        assert (parsed.method, parsed.intent, parsed.plan) == (None, None, None)


def test_the_wording_is_the_screeners() -> None:
    texts = [text for _, text, _ in cssrs.QUESTIONS]
    assert texts[0] == "Have you wished you were dead or wished you could go to sleep and not wake up?"
    assert texts[1] == "Have you actually had any thoughts of killing yourself?"
    assert texts[4].endswith("Do you intend to carry out this plan?")
    assert (
        texts[5] == "Have you ever done anything, started to do anything, or prepared to do anything to end your life?"
    )
    assert cssrs.RECENT[1] == "Was this within the past three months?"


@pytest.mark.parametrize(
    ("raw", "fields"),
    [
        ({}, {"wish_dead", "thoughts", "behavior"}),
        ({"wish_dead": True, "thoughts": True, "behavior": False}, {"method", "intent", "plan"}),
        ({"wish_dead": True, "thoughts": True, "method": True, "intent": N, "behavior": False}, {"plan"}),
        ({"wish_dead": True, "thoughts": False, "method": False, "behavior": False}, {"method"}),
        ({"wish_dead": False, "thoughts": False, "behavior": True}, {"behavior_recent"}),
        ({"wish_dead": False, "thoughts": False, "behavior": False, "behavior_recent": True}, {"behavior_recent"}),
        ({"wish_dead": "maybe", "thoughts": False, "behavior": False}, {"wish_dead"}),
        ({"wish_dead": False, "thoughts": False, "behavior": False, "q7": True}, {"q7"}),
    ],
)
def test_the_skip_logic_and_shapes_are_checked_field_by_field(raw: dict[str, Any], fields: set[str]) -> None:
    parsed, problems = cssrs.parse(raw, field_prefix="screener.")
    assert parsed is None
    assert {p.field for p in problems} == {f"screener.{name}" for name in fields}


# The service


def _alert(factory: Factory) -> tuple[Patient, Alert, User]:
    clinic = factory.clinic()
    patient = factory.patient(clinic)
    return patient, safety_alert(factory, patient), factory.user(clinic, email="doc@example.org")


MODERATE = {"wish_dead": True, "thoughts": True, "method": True, "intent": False, "plan": False, "behavior": False}


def test_resolving_keeps_the_answers_and_the_suggestion_beside_the_clinicians_level(
    app: Any, factory: Factory, fetch: Callable[..., list[Any]]
) -> None:
    from tracker.extensions import db
    from tracker.unit_of_work import transaction

    _, alert, user = _alert(factory)
    with app.test_request_context(), transaction(db.session):
        row, by = db.session.get(Alert, alert.id), db.session.get(User, user.id)
        assert row is not None and by is not None
        with pytest.raises(Invalid) as refused:
            alerts.resolve(row, by, "high", screener=None)
        assert [p.field for p in refused.value.problems] == ["screener"]
        alerts.resolve(row, by, "high", "Called back", screener=MODERATE)
    stored = one(fetch, Alert, alert.id)
    assert (stored.status, stored.risk_level, stored.screener_suggested) == ("resolved", "high", "moderate")
    assert stored.screener == {**MODERATE, "behavior_recent": None}
    assert stored.screener_not_done is None


def test_an_attention_alert_takes_no_screener(app: Any, factory: Factory) -> None:
    from tracker.extensions import db

    clinic = factory.clinic()
    patient = factory.patient(clinic)
    user = factory.user(clinic)
    with app.test_request_context():
        row = alerts.open_attention_alert(db.session.get(Patient, patient.id), "Missed", cause="missed_checkin")
        with pytest.raises(Invalid) as refused:
            alerts.resolve(row, db.session.get(User, user.id), None, screener=MODERATE)
        assert [p.field for p in refused.value.problems] == ["screener"]
        db.session.rollback()


# The API


def test_the_api_resolves_with_the_screener_and_names_a_bad_answer(
    client: FlaskClient, factory: Factory, bearer: Callable[[Any], dict[str, str]]
) -> None:
    _, alert, user = _alert(factory)
    url = f"/api/v1/clinic/alerts/{alert.id}/resolve"
    headers = bearer(user)
    shape = client.post(url, json={"risk_level": "low", "screener": {**MODERATE, "plan": "no"}}, headers=headers)
    assert shape.status_code == 422 and shape.content_type.startswith("application/problem+json")
    assert [e["field"] for e in shape.get_json()["errors"]] == ["screener.plan"]
    skipped = {"wish_dead": False, "thoughts": False, "method": False, "behavior": False}
    logic = client.post(url, json={"risk_level": "low", "screener": skipped}, headers=headers)
    assert logic.status_code == 422 and [e["field"] for e in logic.get_json()["errors"]] == ["screener.method"]
    both = client.post(
        url, json={"risk_level": "low", "screener": MODERATE, "screener_not_done": "no answer"}, headers=headers
    )
    assert both.status_code == 422 and [e["field"] for e in both.get_json()["errors"]] == ["screener_not_done"]
    done = client.post(url, json={"risk_level": "moderate", "screener": MODERATE}, headers=headers)
    assert done.status_code == 200, done.get_data(as_text=True)
    body = done.get_json()
    assert (body["risk_level"], body["screener_suggested"], body["screener_not_done"]) == ("moderate", "moderate", None)
    assert body["screener"] == {**MODERATE, "behavior_recent": None}


def test_the_api_refuses_a_safety_follow_up_without_the_screener_or_why_it_was_not_asked(
    client: FlaskClient, factory: Factory, bearer: Callable[[Any], dict[str, str]], fetch: Callable[..., list[Any]]
) -> None:
    """CLINICAL.md §7: the same rule as the clinic's page: the answers, or the reason they were not asked."""
    _, alert, user = _alert(factory)
    url, headers = f"/api/v1/clinic/alerts/{alert.id}/resolve", bearer(user)
    bare = client.post(url, json={"risk_level": "low"}, headers=headers)
    assert bare.status_code == 422 and bare.content_type.startswith("application/problem+json")
    assert [e["field"] for e in bare.get_json()["errors"]] == ["screener"]
    assert one(fetch, Alert, alert.id).status == "open"
    done = client.post(
        url, json={"risk_level": "low", "screener_not_done": "Could not reach the patient"}, headers=headers
    )
    assert done.status_code == 200
    body = done.get_json()
    assert (body["screener"], body["screener_suggested"], body["screener_not_done"]) == (
        None,
        None,
        "Could not reach the patient",
    )


def test_an_answer_to_a_question_the_screener_skips_is_refused_never_dropped() -> None:
    """Skip logic of the screener: after no to 2, 3-5 are not asked; a yes given there is not kept as not asked."""
    raw = {"wish_dead": True, "thoughts": False, "method": True, "intent": True, "plan": True, "behavior": False}
    parsed, problems = cssrs.parse(raw, field_prefix="screener.")
    assert parsed is None
    assert [(p.field, p.message) for p in problems] == [
        (f"screener.{key}", cssrs.NOT_ASKED_AFTER_NO_TO_2) for key in ("method", "intent", "plan")
    ]
    assert cssrs.NOT_ASKED_AFTER_NO_TO_2 == (
        "You answered no to question 2, so questions 3 to 5 are not asked: change question 2 or leave them blank"
    )


# The clinic's page


def _post(client: FlaskClient, patient: Patient, alert: Alert, html: str | None = None, **fields: str) -> Any:
    prefix = f"resolve-{str(alert.id)[:8]}"
    html = html or page(client, f"/clinic/patients/{patient.id}")
    data = {f"{prefix}-csrf_token": csrf_token_from(html), **{f"{prefix}-{k}": v for k, v in fields.items()}}
    return client.post(f"/clinic/alerts/{alert.id}/resolve", data=data)


def _checked(html: str, name: str, value: str) -> bool:
    """Whether the page's radio button `name` is checked at `value`."""
    tags = re.findall(r"<input\b[^>]*>", html)
    return any(f'name="{name}"' in t and f'value="{value}"' in t and "checked" in t for t in tags)


def test_the_page_shows_the_suggestion_before_saving_then_keeps_what_the_clinician_chose(
    client: FlaskClient, auth: AuthActions, factory: Factory, fetch: Callable[..., list[Any]]
) -> None:
    clinic = factory.clinic()
    patient = factory.patient(clinic)
    alert = safety_alert(factory, patient)
    staff(factory, auth, clinic)
    html = page(client, f"/clinic/patients/{patient.id}")
    assert "Have you wished you were dead or wished you could go to sleep and not wake up?" in html

    nothing = _post(client, patient, alert, action="Called")
    assert nothing.status_code == 422
    assert "answer the screener&#39;s questions, or say why it was not asked" in nothing.get_data(as_text=True)

    # Yes to 2 asks 3, 4 and 5: left blank, each is marked.
    partial = _post(client, patient, alert, wish_dead="yes", thoughts="yes", behavior="no", risk_level="low")
    assert partial.status_code == 422
    assert re.search(
        r'id="resolve-[0-9a-f]{8}-method-error">Required after yes to question 2', partial.get_data(as_text=True)
    )

    # Yes to 1, 2 and 3; 6 is no. The answers to 4 and 5 are given too.
    given = {"wish_dead": "yes", "thoughts": "yes", "method": "yes", "intent": "no", "plan": "no", "behavior": "no"}
    first = _post(client, patient, alert, **given)
    text = first.get_data(as_text=True)
    assert first.status_code == 422 and "The screener suggests: moderate risk." in text and "Not saved yet" in text
    assert re.search(r'value="moderate"[^>]*checked|checked[^>]*value="moderate"', text)
    assert one(fetch, Alert, alert.id).status == "open"

    # The clinician chooses high instead, from their assessment.
    prefix = f"resolve-{str(alert.id)[:8]}"
    done = _post(client, patient, alert, **given, risk_level="high", seen_suggestion="moderate", action="Called")
    assert done.status_code == 303, done.get_data(as_text=True)[:3000]
    stored = one(fetch, Alert, alert.id)
    assert (stored.risk_level, stored.screener_suggested) == ("high", "moderate")
    assert stored.screener["method"] is True and stored.screener["behavior_recent"] is None

    shown = page(client, f"/clinic/patients/{patient.id}")
    assert "C-SSRS screener: suggested moderate, documented high" in shown
    assert "Have you been thinking about how you might do this?" in shown
    assert prefix not in shown  # the alert is handled: no form left for it


def test_after_no_to_question_2_the_page_refuses_answers_to_3_to_5_and_a_reason_stands_for_answers(
    client: FlaskClient, auth: AuthActions, factory: Factory, fetch: Callable[..., list[Any]]
) -> None:
    clinic = factory.clinic()
    patient = factory.patient(clinic)
    alert = safety_alert(factory, patient)
    staff(factory, auth, clinic)
    prefix = f"resolve-{str(alert.id)[:8]}"
    # Q1 yes, Q2 no, Q3-5 yes, Q6 no: refused beside the questions, not saved with 3-5 as "not asked".
    yeses = {"wish_dead": "yes", "thoughts": "no", "method": "yes", "intent": "yes", "plan": "yes", "behavior": "no"}
    refused = _post(client, patient, alert, **yeses, risk_level="low", action="Called the patient")
    text = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert one(fetch, Alert, alert.id).status == "open"
    for key in ("method", "intent", "plan"):
        assert re.search(
            rf'id="{prefix}-{key}-error">You answered no to question 2, so questions 3 to 5 are not asked: '
            "change question 2 or leave them blank",
            text,
        ), key
    # Nothing typed is lost: every answer, the level and the action are still on the page.
    for key, value in yeses.items():
        assert _checked(text, f"{prefix}-{key}", value), key
    assert _checked(text, f"{prefix}-risk_level", "low")
    assert "Called the patient" in text

    given = {"wish_dead": "yes", "thoughts": "no", "behavior": "no"}
    done = _post(client, patient, alert, **given, risk_level="low", seen_suggestion="low")
    assert done.status_code == 303
    stored = one(fetch, Alert, alert.id)
    assert stored.screener["method"] is None and stored.screener_suggested == "low"
    assert "Not asked" in page(client, f"/clinic/patients/{patient.id}")

    other = safety_alert(factory, patient)
    reason = _post(client, patient, other, risk_level="moderate", screener_not_done="Could not reach the patient")
    assert reason.status_code == 303
    kept = one(fetch, Alert, other.id)
    assert (kept.screener, kept.screener_not_done) == (None, "Could not reach the patient")
    assert "C-SSRS screener not asked: Could not reach the patient" in page(client, f"/clinic/patients/{patient.id}")


def test_the_screener_is_kept_from_another_clinics_staff(
    client: FlaskClient, factory: Factory, bearer: Callable[[Any], dict[str, str]], fetch: Callable[..., list[Any]]
) -> None:
    _, alert, _ = _alert(factory)
    outsider = factory.user(factory.clinic("Elsewhere"), email="out@example.org")
    answer = client.post(
        f"/api/v1/clinic/alerts/{alert.id}/resolve",
        json={"risk_level": "low", "screener": MODERATE},
        headers=bearer(outsider),
    )
    assert answer.status_code == 404
    assert one(fetch, Alert, alert.id).screener is None


LEVEL_ORDER = {"low": 0, "moderate": 1, "high": 2}


@given(st.lists(st.booleans(), min_size=7, max_size=7), st.integers(0, 6))
def test_a_further_yes_never_lowers_the_suggested_level(values: list[bool], flip: int) -> None:
    """The triage reads the answers as rising risk: turning any asked "no" into "yes" never suggests less."""

    def screened(raw: list[bool]) -> cssrs.Answers:
        asked = raw[1]
        return cssrs.Answers(
            raw[0],
            raw[1],
            raw[2] if asked else None,
            raw[3] if asked else None,
            raw[4] if asked else None,
            raw[5],
            raw[6] if raw[5] else None,
        )

    before = screened(values)
    after = screened([v or i == flip for i, v in enumerate(values)])
    assert LEVEL_ORDER[cssrs.suggested_level(after)] >= LEVEL_ORDER[cssrs.suggested_level(before)]
