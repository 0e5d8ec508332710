"""Side effects around an infusion (CLINICAL.md §7): the pure checklist, the reports, the staff and patient API."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from factories import Factory
from flask.testing import FlaskClient

from tracker import side_effects as rules
from tracker.clock import FrozenClock
from tracker.errors import Invalid
from tracker.models import Alert, AuditEvent, Clinic, Patient, SideEffectReport

PROBLEM = "application/problem+json"
CHICAGO = ZoneInfo("America/Chicago")
NONE = dict.fromkeys(rules.ITEM_KEYS, "none")
Fetch = Callable[..., list[Any]]


# --- the pure rule ----------------------------------------------------------------------------------------


def test_the_seven_items_in_clinical_words() -> None:
    """CLINICAL.md §7: feeling strange or disconnected (dissociation), nausea or vomiting, headache, dizziness,
    drowsiness, anxiety, and pain or urgency passing urine; each none / mild / moderate / severe."""
    assert [item.words for item in rules.ITEMS] == [
        "Feeling strange or disconnected",
        "Nausea or vomiting",
        "Headache",
        "Dizziness",
        "Drowsiness",
        "Anxiety",
        "Pain or urgency passing urine",
    ]
    assert rules.LEVELS == ("none", "mild", "moderate", "severe")


@pytest.mark.parametrize(
    ("reply", "level"),
    [("0", 0), ("3", 3), (" 2. ", 2), ("２", 2), ("none", 0), ("Mild", 1), ("MODERATE!", 2), ("severe", 3), (1, 1)],
)
def test_a_level_is_a_number_or_its_word(reply: Any, level: int) -> None:
    assert rules.level_of(reply) == level


@pytest.mark.parametrize("reply", ["4", "-1", "very", "", "2 3", True, None, 7, "severely"])
def test_anything_else_is_no_level(reply: Any) -> None:
    assert rules.level_of(reply) is None


def test_every_item_must_be_answered_and_is_never_summed() -> None:
    levels = rules.checked({**NONE, "headache": "severe", "nausea": "mild"})
    assert levels == {**dict.fromkeys(rules.ITEM_KEYS, 0), "headache": 3, "nausea": 1}
    assert [item.key for item in rules.severe_items(levels)] == ["headache"]
    with pytest.raises(Invalid) as refused:
        rules.checked({"headache": "awful", "score": "mild"})
    fields = {problem.field for problem in refused.value.problems}
    assert fields == {*rules.ITEM_KEYS, "score"}
    assert not hasattr(rules, "total") and "total" not in SideEffectReport.__table__.c


@pytest.mark.parametrize(
    ("given_local", "reminder", "quiet", "asked_local"),
    [
        # The next morning at 09:00 without a reminder time of their own.
        (datetime(2026, 11, 20, 10, 0), None, (time(21), time(8)), datetime(2026, 11, 21, 9, 0)),
        # At their reminder time.
        (datetime(2026, 11, 20, 10, 0), time(11, 30), (time(21), time(8)), datetime(2026, 11, 21, 11, 30)),
        # Never in quiet hours: a 07:00 reminder waits for 08:00.
        (datetime(2026, 11, 20, 23, 30), time(7, 0), (time(21), time(8)), datetime(2026, 11, 21, 8, 0)),
        # Quiet hours until 10:00 push the 09:00 ask to 10:00.
        (datetime(2026, 11, 20, 10, 0), None, (time(22), time(10)), datetime(2026, 11, 21, 10, 0)),
    ],
)
def test_the_next_morning_in_the_patients_zone(
    given_local: datetime, reminder: time | None, quiet: tuple[time, time], asked_local: datetime
) -> None:
    given = given_local.replace(tzinfo=CHICAGO).astimezone(UTC)
    asked = rules.next_morning_ask(given, CHICAGO, reminder, *quiet)
    assert asked == asked_local.replace(tzinfo=CHICAGO).astimezone(UTC)
    assert rules.is_due(asked, asked) and not rules.is_due(asked, asked - timedelta(seconds=1))
    assert not rules.is_due(asked, asked + rules.ANSWER_WINDOW)


# --- staff: the discharge report --------------------------------------------------------------------------


@pytest.fixture
def staff(factory: Factory, clinic: Clinic, bearer: Callable[..., Any]) -> dict[str, str]:
    return bearer(factory.user(clinic))


@pytest.fixture
def mine(factory: Factory, patient: Patient, bearer: Callable[..., Any]) -> dict[str, str]:
    return bearer(patient)


def given_yesterday(factory: Factory, patient: Patient, clock: FrozenClock) -> Any:
    # TEST_NOW is 09:00 in Chicago: this infusion's next-morning check opens now.
    return factory.infusion(patient, given_at=clock.current - timedelta(hours=23))


def test_staff_record_side_effects_at_discharge(
    client: FlaskClient,
    staff: dict[str, str],
    factory: Factory,
    patient: Patient,
    clock: FrozenClock,
    fetch: Fetch,
) -> None:
    infusion = factory.infusion(patient, given_at=clock.current - timedelta(hours=2))
    url = f"/api/v1/clinic/infusions/{infusion.id}/side-effects"
    answered = client.post(url, json={**NONE, "dissociation": "moderate", "headache": "mild"}, headers=staff)

    assert answered.status_code == 201, answered.text
    body = answered.get_json()
    assert (body["timing"], body["source"], body["infusion_id"]) == ("discharge", "clinic", str(infusion.id))
    assert body["answers"] == {**NONE, "dissociation": "moderate", "headache": "mild"}
    assert "total" not in body
    assert fetch(sa.select(Alert)) == []  # nothing severe, no alert
    [listed] = client.get(url, headers=staff).get_json()["items"]
    assert listed["id"] == body["id"]
    actions = [e.action for e in fetch(sa.select(AuditEvent).order_by(AuditEvent.at))]
    assert "side_effects.create" in actions and "side_effects.read" in actions

    # One discharge report per infusion: a second is a clear 409, and the first stands.
    again = client.post(url, json={**NONE, "headache": "severe"}, headers=staff)
    assert again.status_code == 409 and again.mimetype == PROBLEM
    assert "already recorded" in again.get_json()["detail"]
    [report] = fetch(sa.select(SideEffectReport))
    assert report.headache == 1


def test_a_severe_item_opens_an_attention_alert(
    client: FlaskClient, staff: dict[str, str], factory: Factory, patient: Patient, clock: FrozenClock, fetch: Fetch
) -> None:
    """CLINICAL.md §7: any "severe" answer opens an attention alert."""
    infusion = factory.infusion(patient, given_at=clock.current - timedelta(hours=2))
    body = {**NONE, "nausea": "severe", "urinary": "severe"}
    assert (
        client.post(f"/api/v1/clinic/infusions/{infusion.id}/side-effects", json=body, headers=staff).status_code == 201
    )

    [alert] = fetch(sa.select(Alert))
    assert (alert.kind, alert.cause, alert.status) == ("attention", "severe_side_effect", "open")
    assert (
        alert.reason
        == "Side effect reported as severe at discharge: Nausea or vomiting, Pain or urgency passing urine."
    )


def test_bad_answers_name_the_field(
    client: FlaskClient, staff: dict[str, str], factory: Factory, patient: Patient, clock: FrozenClock, fetch: Fetch
) -> None:
    infusion = factory.infusion(patient, given_at=clock.current - timedelta(hours=2))
    url = f"/api/v1/clinic/infusions/{infusion.id}/side-effects"
    answered = client.post(url, json={**NONE, "headache": "awful", "dizziness": None}, headers=staff)

    assert answered.status_code == 422 and answered.mimetype == PROBLEM
    assert {e["field"] for e in answered.get_json()["errors"]} >= {"headache", "dizziness"}
    missing = client.post(url, json={"headache": "mild"}, headers=staff)
    assert missing.status_code == 422
    assert "anxiety" in {e["field"] for e in missing.get_json()["errors"]}
    assert fetch(sa.select(SideEffectReport)) == []


def test_only_a_given_infusion_of_ones_own_clinic(
    client: FlaskClient,
    staff: dict[str, str],
    factory: Factory,
    patient: Patient,
    bearer: Callable[..., Any],
) -> None:
    booked = factory.infusion(patient)
    assert (
        client.post(f"/api/v1/clinic/infusions/{booked.id}/side-effects", json=NONE, headers=staff).status_code == 409
    )
    stranger = bearer(factory.user(factory.clinic("Elsewhere")))
    given = factory.infusion(patient, given_at=datetime(2026, 11, 20, tzinfo=UTC))
    url = f"/api/v1/clinic/infusions/{given.id}/side-effects"
    assert client.post(url, json=NONE, headers=stranger).status_code == 404
    assert client.get(url, headers=stranger).status_code == 404


# --- the patient: the next-morning check ------------------------------------------------------------------


def test_the_patient_answers_the_next_morning_check_in_the_app(
    client: FlaskClient,
    mine: dict[str, str],
    factory: Factory,
    patient: Patient,
    clock: FrozenClock,
    fetch: Fetch,
) -> None:
    infusion = given_yesterday(factory, patient, clock)
    clock.advance(minutes=-1)
    assert client.get("/api/v1/me/side-effects", headers=mine).get_json()["due"] is False  # 08:59: not yet
    clock.advance(minutes=1)
    check = client.get("/api/v1/me/side-effects", headers=mine).get_json()
    assert check["due"] is True and check["infusion_id"] == str(infusion.id)
    assert [item["text"] for item in check["items"]] == [item.words for item in rules.ITEMS]
    assert check["levels"] == list(rules.LEVELS)

    answered = client.post("/api/v1/me/side-effects", json={**NONE, "drowsiness": "severe"}, headers=mine)

    assert answered.status_code == 201, answered.text
    assert (answered.get_json()["timing"], answered.get_json()["source"]) == ("next_morning", "app")
    [alert] = fetch(sa.select(Alert))
    assert alert.cause == "severe_side_effect" and "the morning after the visit: Drowsiness" in alert.reason
    # Answered: the check closes, and a second answer is a 409.
    assert client.get("/api/v1/me/side-effects", headers=mine).get_json()["due"] is False
    assert client.post("/api/v1/me/side-effects", json=NONE, headers=mine).status_code == 409


def test_the_check_closes_a_day_after_it_opens(
    client: FlaskClient, mine: dict[str, str], factory: Factory, patient: Patient, clock: FrozenClock
) -> None:
    given_yesterday(factory, patient, clock)
    clock.advance(hours=24)
    assert client.get("/api/v1/me/side-effects", headers=mine).get_json()["due"] is False
    assert client.post("/api/v1/me/side-effects", json=NONE, headers=mine).status_code == 409


def test_a_patient_cannot_use_the_staff_operation(
    client: FlaskClient,
    mine: dict[str, str],
    staff: dict[str, str],
    factory: Factory,
    patient: Patient,
    clock: FrozenClock,
) -> None:
    infusion = given_yesterday(factory, patient, clock)
    url = f"/api/v1/clinic/infusions/{infusion.id}/side-effects"
    assert client.post(url, json=NONE, headers=mine).status_code == 403
    assert client.get("/api/v1/me/side-effects", headers=staff).status_code == 403
