"""The clinic's patient list: summaries, filters, sorting, scoping, and a query count that stays put."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from conftest import AuthActions
from factories import Factory
from flask.testing import FlaskClient

from tracker import clock
from tracker.extensions import db
from tracker.local_time import zone_of
from tracker.models import Alert, BoosterRequest, Clinic, User
from tracker.services.clinic.patient_list import summaries


def _staff(factory: Factory, clinic: Clinic) -> User:
    user = factory.user(clinic)
    found = db.session.get(User, user.id)
    assert found is not None
    return found


def test_summary_has_latest_baseline_change_alerts_and_request(ctx: None, factory: Factory) -> None:
    clinic = factory.clinic()
    staff = _staff(factory, clinic)
    p = factory.patient(clinic, display_name="Beth", phase="as_needed")
    now = clock.now()
    factory.checkin(p, total=22, taken_at=now - timedelta(days=40))
    factory.checkin(p, total=20, taken_at=now - timedelta(days=31))  # the baseline: last before induction
    factory.infusion(p, "induction", given_at=now - timedelta(days=30))
    factory.checkin(p, total=6, taken_at=now - timedelta(days=10))
    factory.checkin(p, total=13, taken_at=now - timedelta(days=3))
    db.session.add(Alert(patient_id=p.id, clinic_id=clinic.id, kind="attention", cause="missed_checkin", reason="x"))
    db.session.add(BoosterRequest(patient_id=p.id, clinic_id=clinic.id, raised_by="scan", urgency="urgent"))
    db.session.flush()

    [row], more = summaries(staff)
    assert not more
    assert (row.latest_total, row.latest_severity, row.baseline_total) == (13, "moderate", 20)
    assert row.change_from_baseline == -7
    assert row.days_since_last(now, zone_of(clinic.timezone)) == 3
    assert row.open_alerts == 1 and row.open_request_urgency == "urgent" and row.needs_attention


def test_no_check_ins_and_no_induction(ctx: None, factory: Factory) -> None:
    clinic = factory.clinic()
    factory.patient(clinic, phase="screening")
    [row], _ = summaries(_staff(factory, clinic))
    assert row.latest_total is None and row.baseline_total is None and row.change_from_baseline is None
    assert row.days_since_last(clock.now(), zone_of(clinic.timezone)) is None and not row.needs_attention


def test_filters_sorting_paging_and_scope(ctx: None, factory: Factory) -> None:
    clinic, other = factory.clinic(), factory.clinic()
    staff = _staff(factory, clinic)
    a = factory.patient(clinic, display_name="Ann", phase="induction", phone="+13125557001")
    b = factory.patient(clinic, display_name="Bob", phase="as_needed")
    c = factory.patient(clinic, display_name="Cy", phase="as_needed")
    factory.patient(other, display_name="Stranger")
    factory.checkin(a, total=3, days_ago=1)
    factory.checkin(b, total=15, days_ago=9)
    factory.checkin(c, total=8, days_ago=4)
    db.session.add(Alert(patient_id=c.id, clinic_id=clinic.id, kind="safety", cause="safety", reason="x"))
    db.session.flush()

    def names(**kw: Any) -> list[str]:
        return [s.patient.display_name for s in summaries(staff, **kw)[0]]

    assert names() == ["Ann", "Bob", "Cy"]
    assert names(phase="as_needed") == ["Bob", "Cy"]
    assert names(q="bo") == ["Bob"]
    assert names(q="555-7001") == ["Ann"]
    assert names(needs_attention=True) == ["Cy"]
    assert names(needs_attention=False) == ["Ann", "Bob"]
    assert names(sort="latest_total", descending=True) == ["Bob", "Cy", "Ann"]
    assert names(sort="days_since_last", descending=True) == ["Bob", "Cy", "Ann"]
    page, more = summaries(staff, limit=2)
    assert [s.patient.display_name for s in page] == ["Ann", "Bob"] and more
    page, more = summaries(staff, limit=2, offset=2)
    assert [s.patient.display_name for s in page] == ["Cy"] and not more


def test_query_count_does_not_grow_with_patients(
    ctx: None, factory: Factory, count_queries: Callable[..., Any]
) -> None:
    clinic = factory.clinic()
    staff = _staff(factory, clinic)
    for n in range(2):
        factory.checkin(factory.patient(clinic), total=n + 4)
    with count_queries() as few:
        summaries(staff)
    for n in range(6):
        factory.checkin(factory.patient(clinic), total=n + 4, days_ago=n)
    with count_queries() as many:
        assert len(summaries(staff)[0]) == 8
    assert few.count == many.count == 1


def test_search_treats_underscore_and_percent_as_letters(ctx: None, factory: Factory) -> None:
    clinic = factory.clinic()
    staff = _staff(factory, clinic)
    for name in ("Sage", "Sa%e", "S_ge Lee", "Sable"):
        factory.patient(clinic, display_name=name)

    def names(q: str) -> list[str]:
        return sorted(s.patient.display_name for s in summaries(staff, q=q)[0])

    assert names("S_ge") == ["S_ge Lee"]
    assert names("Sa%e") == ["Sa%e"]
    assert names("%") == ["Sa%e"]
    assert names("sa") == ["Sa%e", "Sable", "Sage"]


def test_a_search_too_long_to_run_lists_no_one(client: FlaskClient, auth: AuthActions, factory: Factory) -> None:
    clinic = factory.clinic()
    factory.patient(clinic, display_name="Ann")
    factory.user(clinic, email="doc@example.org")
    assert auth.login("doc@example.org").status_code == 302
    html = client.get("/clinic/patients?q=" + "a" * 101).get_data(as_text=True)
    assert 'id="q-error"' in html and "No patients match." in html and ">Ann</a>" not in html
    assert ">Ann</a>" in client.get("/clinic/patients?q=an").get_data(as_text=True)
