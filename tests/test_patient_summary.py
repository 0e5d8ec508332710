"""Each patient's stored list figures: equal to a recomputation after every kind of change, rebuilt by the
migration and the operator's command alike; and the list, the API list and the queue at a fixed query count."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from conftest import TEST_NOW, AuthActions, make_test_app
from factories import Factory
from flask.testing import FlaskClient
from flask_migrate import downgrade, upgrade

from tracker import clock
from tracker.clock import FrozenClock
from tracker.extensions import db
from tracker.models import Alert, BoosterRequest, CheckIn, Clinic, Patient, PatientSummaryRow, User
from tracker.services.checkins import queries as checkin_queries
from tracker.services.checkins import submit as checkins
from tracker.services.clinic import attention, patient_list, summary
from tracker.services.course import queries as course_queries
from tracker.services.course import writes as course

Counter = Callable[[], Any]
FIGURES = ("latest_total", "latest_severity", "latest_at", "baseline_total", "reference_low")
PHQ9_OF = {  # answers for a total, item 9 at 0 unless said
    3: [1, 1, 1, 0, 0, 0, 0, 0, 0],
    6: [1, 1, 1, 1, 1, 1, 0, 0, 0],
    12: [2, 2, 2, 2, 1, 1, 1, 1, 0],
    16: [2, 2, 2, 2, 2, 2, 2, 2, 0],
    21: [3, 3, 3, 3, 3, 2, 2, 2, 0],
    24: [3, 3, 3, 3, 3, 3, 3, 2, 1],
}


def stored() -> dict[uuid.UUID, tuple[Any, ...]]:
    rows = db.session.execute(
        sa.select(PatientSummaryRow.patient_id, *(getattr(PatientSummaryRow, f) for f in FIGURES))
    )
    return {row[0]: tuple(row[1:]) for row in rows}


def recomputed(patients: list[Patient]) -> dict[uuid.UUID, tuple[Any, ...]]:
    """From scratch and by other roads: the latest PHQ-9 as the check-in queries order them (its stored
    severity), baseline and low as the patient's page computes them."""
    ids = [p.id for p in patients]
    latest = checkin_queries.latest_checkins(ids, "phq9")
    severity = dict(
        db.session.execute(sa.select(CheckIn.id, CheckIn.severity).where(CheckIn.patient_id.in_(ids))).all()
    )
    found = {}
    for patient in patients:
        row = latest.get(patient.id)
        outcome = course_queries.patient_outcome(patient)
        found[patient.id] = (
            row.total if row else None,
            severity[row.id] if row else None,
            row.taken_at if row else None,
            outcome.baseline,
            outcome.reference_low,
        )
    return found


def assert_current(patients: list[Patient]) -> None:
    db.session.flush()
    expected = recomputed(patients)
    kept = stored()
    # A patient nothing was ever recorded for may have no row yet: the list shows them with empty figures.
    empty = (None,) * len(FIGURES)
    assert {p.id: kept.get(p.id, empty) for p in patients} == expected


def check_in(patient: Patient, total: int, days_ago: float = 0, **kw: Any) -> None:
    taken_at = clock.now() - timedelta(days=days_ago) if days_ago else None
    checkins.submit(
        patient,
        kw.pop("instrument", "phq9"),
        kw.pop("answers", PHQ9_OF.get(total)),
        None,
        "app",
        taken_at=taken_at,
        **kw,
    )


def give(patient: Patient, by: User, kind: str, days_ago: float) -> Any:
    given_at = clock.now() - timedelta(days=days_ago)
    return course.record_infusion(patient, kind=kind, status="given", given_at=given_at, by=by).infusion


def test_the_stored_figures_equal_a_recomputation_after_every_kind_of_change(
    ctx: None, factory: Factory, clock: FrozenClock
) -> None:
    clinic = factory.clinic()
    doc = db.session.get(User, factory.user(clinic).id)
    assert doc is not None
    names = ("never", "screening", "course", "second course", "backdated", "gad7 only", "rescheduled")
    people = {
        name: db.session.get(Patient, factory.patient(clinic, display_name=name, phase="induction").id)
        for name in names
    }
    patients = [p for p in people.values() if p is not None]
    assert_current(patients)

    # Check-ins before any infusion: a latest score, no baseline yet (CLINICAL.md §4).
    for name in (*names[1:5], "rescheduled"):
        check_in(people[name], 21, days_ago=200)
        check_in(people[name], 16, days_ago=100)
    assert_current(patients)

    # An induction course: the baseline is the last PHQ-9 before it; later check-ins set the low (§5).
    for name in ("course", "second course", "backdated"):
        for day in (90, 88, 86):
            give(people[name], doc, "induction", day)
    assert_current(patients)
    for name in ("course", "second course", "backdated"):
        check_in(people[name], 6, days_ago=60)
        check_in(people[name], 12, days_ago=30)
    assert_current(patients)

    # A second induction series after a gap is a new course with its own baseline (§4).
    check_in(people["second course"], 24, days_ago=20)  # item 9 above 0: a safety alert too
    give(people["second course"], doc, "induction", 10)
    check_in(people["second course"], 3, days_ago=2)
    assert_current(patients)

    # A check-in entered in clinic for a day before the infusions: the baseline moves, the latest does not.
    taken = clock() - timedelta(days=90, hours=12)
    checkins.submit(people["backdated"], "phq9", PHQ9_OF[24], None, "clinic", taken_at=taken, entered_by=doc)
    assert_current(patients)

    # GAD-7 check-ins are on another scale: no PHQ-9 figure comes from them.
    check_in(people["gad7 only"], 0, instrument="gad7", answers=[2, 2, 2, 1, 1, 1, 1])
    assert_current(patients)

    # An infusion booked, then recorded as given, then its time corrected: each write keeps the figures.
    scheduled = course.record_infusion(
        people["rescheduled"],
        kind="induction",
        status="scheduled",
        scheduled_for=clock() + timedelta(days=1),
        by=doc,
    ).infusion
    assert_current(patients)
    clock.advance(days=2)
    course.update_infusion(scheduled, {"status": "given", "given_at": clock() - timedelta(days=1)}, doc)
    assert_current(patients)
    assert stored()[people["rescheduled"].id][3] == 16
    check_in(people["rescheduled"], 6)
    course.update_infusion(
        scheduled, {"given_at": clock() - timedelta(days=150)}, doc, reason="entered on the wrong day"
    )
    assert_current(patients)
    assert stored()[people["rescheduled"].id][3] == 21

    # Everything recomputed at once agrees too, and rebuilds what was lost.
    db.session.execute(sa.delete(PatientSummaryRow))
    assert summary.rebuild() == len(db.session.scalars(sa.select(Patient.id)).all())
    assert_current(patients)
    assert stored()[people["backdated"].id][3] == 24 and stored()[people["second course"].id][3] == 24


def test_the_migration_fills_the_figures_the_app_keeps(tmp_path: Path) -> None:
    app = make_test_app(f"sqlite:///{tmp_path / 'fill.sqlite3'}", tmp_path, CLOCK=FrozenClock(TEST_NOW))
    with app.app_context():
        upgrade()
        factory = Factory(app)
        clinic = factory.clinic()
        for n in range(4):
            patient = factory.patient(clinic)
            factory.checkin(patient, total=18, days_ago=80)
            if n % 2:
                factory.infusion(patient, "induction", given_at=TEST_NOW - timedelta(days=70 - n))
            factory.checkin(patient, total=5 + n, days_ago=40)
            factory.checkin(patient, total=9, days_ago=10 - n)
        factory.patient(clinic)  # nothing recorded yet
        db.session.commit()
        kept = stored()
        db.session.commit()
        assert len(kept) == 4
        downgrade(revision="0008_scan_indexes")
        upgrade()
        filled = stored()
        empty = (None,) * len(FIGURES)
        assert {k: v for k, v in filled.items() if v != empty} == kept and len(filled) == 5
        db.session.remove()
        db.engine.dispose()


def test_acknowledged_safety_alerts_count_as_open_until_resolved(ctx: None, factory: Factory) -> None:
    clinic = factory.clinic()
    staff = db.session.get(User, factory.user(clinic).id)
    assert staff is not None
    patient = factory.patient(clinic)
    now = clock.now()
    taken = {"acknowledged_by_id": staff.id, "acknowledged_at": now}
    for kind, cause, status, extra in [
        ("safety", "safety", "acknowledged", taken),  # CLINICAL.md §3: still open until resolved
        ("attention", "missed_checkin", "open", {}),
        ("attention", "missed_checkin", "acknowledged", taken),  # acknowledging is an attention alert's one step
        ("attention", "severe_symptoms", "resolved", {**taken, "resolved_by_id": staff.id, "resolved_at": now}),
    ]:
        row = Alert(
            patient_id=patient.id, clinic_id=clinic.id, kind=kind, cause=cause, reason="x", status=status, **extra
        )
        db.session.add(row)
    db.session.flush()
    [row], _ = patient_list.summaries(staff)
    assert row.open_alerts == 2 and row.needs_attention
    assert [r.patient.id for r in patient_list.summaries(staff, needs_attention=True)[0]] == [patient.id]
    assert patient_list.summaries(staff, needs_attention=False)[0] == []


def _population(factory: Factory, clinic: Clinic, count: int) -> None:
    """Patients of every kind: scored or not, in a course, with open alerts and requests."""
    for n in range(count):
        patient = factory.patient(clinic, display_name=f"Patient {n:03d}", phase=("induction", "as_needed")[n % 2])
        if n % 5:
            factory.checkin(patient, total=18, days_ago=40 + n % 7)
            factory.infusion(patient, "induction", given_at=TEST_NOW - timedelta(days=35))
            factory.checkin(patient, total=n % 20, days_ago=n % 9)
        if n % 3 == 0:
            kind = ("safety", "attention")[n % 2]
            db.session.add(
                Alert(
                    patient_id=patient.id,
                    clinic_id=clinic.id,
                    kind=kind,
                    cause=kind if kind == "safety" else "missed_checkin",
                    reason="x",
                    raised_at=TEST_NOW - timedelta(hours=n),
                    deadline=TEST_NOW,
                )
            )
        if n % 4 == 1:
            db.session.add(
                BoosterRequest(
                    patient_id=patient.id,
                    clinic_id=clinic.id,
                    raised_by="scan",
                    urgency=("urgent", "routine")[n % 2],
                    raised_at=TEST_NOW - timedelta(hours=n),
                )
            )
    db.session.flush()


LISTINGS = [
    {},
    {"sort": "latest_total", "descending": True},
    {"sort": "change"},
    {"sort": "days_since_last", "descending": True},
    {"needs_attention": True},
    {"needs_attention": False, "phase": "as_needed"},
    {"q": "patient 0"},
    {"offset": 20, "limit": 10},
]


def test_the_list_takes_as_many_queries_for_50_patients_as_for_5(
    ctx: None, factory: Factory, count_queries: Counter
) -> None:
    counts = {}
    for size in (5, 50):
        clinic = factory.clinic()
        staff = db.session.get(User, factory.user(clinic).id)
        assert staff is not None
        _population(factory, clinic, size)
        db.session.expire_all()  # loaded afresh, as in a request
        assert staff.role == "clinician"  # the staff member is loaded, as a request's login loads them
        for n, args in enumerate(LISTINGS):
            with count_queries() as counter:
                page, _ = patient_list.summaries(staff, **args)
                [(row.patient.display_name, row.patient.phase, row.latest_total) for row in page]
            counts[size, n] = counter.count
    assert {n: counts[5, n] for n in range(len(LISTINGS))} == {n: counts[50, n] for n in range(len(LISTINGS))}
    assert set(counts.values()) == {1}


def test_the_pages_and_the_api_list_take_as_many_queries_for_50_patients_as_for_5(
    client: FlaskClient, auth: AuthActions, factory: Factory, bearer: Callable[..., Any], count_queries: Counter
) -> None:
    paths = [
        "/clinic/patients",
        "/clinic/patients?sort=latest_total&order=desc&attention=yes",
        "/clinic/",
        "/api/v1/clinic/patients?limit=200",
        "/api/v1/clinic/patients?limit=200&sort=change&needs_attention=false",
    ]
    counts: dict[int, list[int]] = {}
    for size in (5, 50):
        clinic = factory.clinic()
        email = f"doc{size}@example.org"
        headers = bearer(factory.user(clinic, email=email))
        with factory.session():
            _population(factory, clinic, size)
        auth.login(email)
        counts[size] = []
        for path in paths:
            with count_queries() as counter:
                response = client.get(path, headers=headers if path.startswith("/api") else None)
            assert response.status_code == 200
            counts[size].append(counter.count)
        listed = client.get("/api/v1/clinic/patients?limit=200", headers=headers).get_json()["items"]
        assert len(listed) == size
        auth.logout()
    assert counts[5] == counts[50]


def test_the_queue_comes_a_page_at_a_time_in_one_order(
    client: FlaskClient, auth: AuthActions, factory: Factory, count_queries: Counter
) -> None:
    clinic = factory.clinic()
    with factory.session():
        _population(factory, clinic, 60)  # 20 alerts and 15 requests
    auth.login(factory.user(clinic, email="queue@example.org").email or "")
    with factory.session():
        staff = db.session.get(User, db.session.scalar(sa.select(User.id).where(User.email == "queue@example.org")))
        assert staff is not None
        whole = attention.queue_page(staff, TEST_NOW, per_page=100)
        first, second = attention.queue_page(staff, TEST_NOW), attention.queue_page(staff, TEST_NOW, page=2)
    assert len(whole.items) == 35 and not whole.more
    assert whole.counts == first.counts == {"safety": 10, "booster": 15, "attention": 10}
    assert len(first.items) == attention.PER_PAGE and first.more and len(second.items) == 10 and not second.more
    assert [i.target_id for i in first.items + second.items] == [i.target_id for i in whole.items]
    ranks = [(i.rank, not i.returned, i.raised_at) for i in whole.items]
    assert ranks == sorted(ranks)

    def shown(path: str) -> list[str]:
        response = client.get(path)
        assert response.status_code == 200
        return re.findall(r'data-target="([^"]+)"', response.get_data(as_text=True))

    html = client.get("/clinic/").get_data(as_text=True)
    assert "10 safety" in html and "15 booster" in html and 'rel="next" href="/clinic/?page=2"' in html
    assert shown("/clinic/") == [str(i.target_id) for i in first.items]
    with count_queries() as later:
        assert shown("/clinic/?page=2") == [str(i.target_id) for i in second.items]
    assert 'rel="prev"' in client.get("/clinic/?page=2").get_data(as_text=True)
    assert "No more items." in client.get("/clinic/?page=3").get_data(as_text=True)
    for bad in ("0", "-4", "abc", "99999999999999999999"):
        assert shown(f"/clinic/?page={bad}") == shown("/clinic/")
    assert later.count <= 12


def test_the_operator_rebuilds_every_patients_figures(
    app: Any, factory: Factory, fetch: Callable[..., list[Any]]
) -> None:
    clinic = factory.clinic()
    patients = [factory.patient(clinic) for _ in range(3)]
    for n, patient in enumerate(patients):
        factory.checkin(patient, total=10 + n, days_ago=n)
    bulk_loaded = CheckIn(
        patient_id=patients[0].id,
        instrument="phq9",
        answers=[3, 3, 3, 3, 3, 3, 3, 2, 0],
        total=23,
        severity="severe",
        item9_positive=False,
        taken_at=TEST_NOW,
        source="app",
    )
    with factory.session() as s:  # a row written around the services, as a bulk load would
        s.add(bulk_loaded)
        s.execute(sa.delete(PatientSummaryRow).where(PatientSummaryRow.patient_id == patients[1].id))
    result = app.test_cli_runner().invoke(args=["tracker", "rebuild-summaries"])
    assert result.exit_code == 0, result.output
    assert "Figures recomputed for" in result.output
    rows = {r.patient_id: r for r in fetch(sa.select(PatientSummaryRow))}
    assert (rows[patients[0].id].latest_total, rows[patients[0].id].latest_severity) == (23, "severe")
    assert rows[patients[1].id].latest_total == 11 and rows[patients[2].id].latest_total == 12
