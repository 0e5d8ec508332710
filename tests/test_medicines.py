"""Other medicines (CLINICAL.md §7): the clinic's list to review before an infusion matched on words, each
patient's list kept by staff through the service, the clinic's pages, the API, and the FHIR bundle."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from conftest import TEST_NOW, AuthActions, csrf_token_from
from factories import Factory
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import given
from hypothesis import strategies as st
from test_clinic_pages import page, staff

from tracker import medicine_review
from tracker.errors import Invalid, NotFound
from tracker.extensions import db
from tracker.medicine_review import Entry
from tracker.models import AuditEvent, Clinic, Patient, PatientMedicine, User
from tracker.services.clinic import fhir_export, medicines
from tracker.unit_of_work import transaction

Fetch = Callable[..., list[Any]]
BENZODIAZEPINES = Entry("benzodiazepines", ("alprazolam", "clonazepam", "diazepam", "lorazepam"))
LIST = (BENZODIAZEPINES, Entry("lamotrigine"), Entry("valproic acid"))
STORED = [entry.as_dict() for entry in LIST]
TODAY = TEST_NOW.date()  # noon UTC: the same date in Chicago


# The rule (pure)


@pytest.mark.parametrize(
    ("medicine", "shown"),
    [
        ("lorazepam", "lorazepam (benzodiazepines)"),  # CLINICAL.md §7's example
        ("Lorazepam 1 mg ODT", "lorazepam (benzodiazepines)"),  # case and the words around it
        ("LORAZEPAM", "lorazepam (benzodiazepines)"),
        ("clonazepam (Klonopin)", "clonazepam (benzodiazepines)"),
        ("Benzodiazepines", "benzodiazepines"),  # the class named itself
        ("lamotrigine ER 200mg", "lamotrigine"),
        ("Lamotrigine-XR", "lamotrigine"),  # a hyphen separates words
        ("valproic  acid", "valproic acid"),  # a name of two words, in order
        ("oxazepam", None),  # whole words only: "diazepam" is not inside it
        ("sertraline", None),
        ("acid reflux tablets", None),  # one word of two is not a match
        ("", None),
    ],
)
def test_a_medicine_matches_the_list_on_whole_words_whatever_the_case(medicine: str, shown: str | None) -> None:
    found = medicine_review.match(medicine, LIST)
    assert (found.words if found else None) == shown


@given(st.sampled_from(["lorazepam", "Lamotrigine", "clonazepam", "sertraline", "oxazepam"]), st.text(max_size=12))
def test_matching_ignores_case_and_what_stands_around_the_name(name: str, around: str) -> None:
    """A name matches as itself whatever its case, and still matches with any words around it."""
    plain = medicine_review.match(name, LIST)
    assert medicine_review.match(name.upper(), LIST) == plain
    if plain is not None:
        assert medicine_review.match(f"{around} {name}, {around}", LIST) is not None


def test_the_admins_lines_make_the_list_and_say_which_line_is_wrong() -> None:
    text = "benzodiazepines: alprazolam, clonazepam,, diazepam, lorazepam\n\n  lamotrigine \nvalproic acid"
    entries, problems = medicine_review.parse_lines(text)
    assert problems == [] and entries == LIST
    assert (
        medicines.review_text(entries).splitlines()[0] == "benzodiazepines: alprazolam, clonazepam, diazepam, lorazepam"
    )
    _, problems = medicine_review.parse_lines("lamotrigine\n: alprazolam\n" + "x" * 101)
    assert [p.message for p in problems] == [
        "line 2: a name is needed before the colon",
        "line 3: each name at most 100 characters",
    ]
    assert medicine_review.from_stored(STORED) == LIST and medicine_review.from_stored(None) == ()


@pytest.mark.parametrize(
    ("text", "entries"),
    [
        ("alprazolam, naltrexone", (Entry("alprazolam"), Entry("naltrexone"))),  # commas separate names
        ("lamotrigine,", (Entry("lamotrigine"),)),
        ("valproic acid, lithium", (Entry("valproic acid"), Entry("lithium"))),
        ("benzodiazepines: alprazolam, clonazepam", (Entry("benzodiazepines", ("alprazolam", "clonazepam")),)),
        ("MAOIs : phenelzine", (Entry("MAOIs", ("phenelzine",)),)),
    ],
)
def test_each_line_is_read_as_the_page_says(text: str, entries: tuple[Entry, ...]) -> None:
    assert medicine_review.parse_lines(text) == (entries, [])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("lamotrigine\nbenzodiazepines:", "line 2: name the members of benzodiazepines after the colon"),
        ("benzodiazepines: ,", "line 1: name the members of benzodiazepines after the colon"),
        ("opioids: tramadol: codeine", "line 1: one colon at most, after a class's name"),
        ("lithium, opioids: tramadol", "line 1: a class is one name before the colon"),
        ("lithium, ???", "line 1: each name needs a letter or digit"),
        ("opioids: tramadol, --", "line 1: each name needs a letter or digit"),
    ],
)
def test_a_line_the_list_cannot_read_is_refused_naming_it(text: str, message: str) -> None:
    _, problems = medicine_review.parse_lines(text)
    assert [p.field for p in problems] == ["review_medicines"]
    assert problems[0].message.startswith(message)


# The service


def _setup(factory: Factory, **clinic_settings: Any) -> tuple[Clinic, Patient, User]:
    clinic = factory.clinic(review_medicines=STORED, **clinic_settings)
    return clinic, factory.patient(clinic), factory.user(clinic, email="doc@example.org")


def _in_app(app: Flask, work: Callable[[], Any]) -> Any:
    with app.test_request_context(), transaction(db.session):
        return work()


def test_staff_add_end_and_remove_medicines_each_in_the_audit_log(app: Flask, factory: Factory, fetch: Fetch) -> None:
    _, patient, user = _setup(factory)

    def work() -> None:
        by, who = db.session.get(User, user.id), db.session.get(Patient, patient.id)
        assert by is not None and who is not None
        lorazepam = medicines.add(by, who, "  Lorazepam ", "1 mg at night", TODAY - timedelta(days=90))
        sertraline = medicines.add(by, who, "Sertraline", "100 mg")
        old = medicines.add(by, who, "Lamotrigine", None, TODAY - timedelta(days=400), TODAY - timedelta(days=30))
        typo = medicines.add(by, who, "Lorazepan")
        listed = medicines.list_for_staff(by, who.id)
        assert [r.medicine.name for r in listed.current] == ["Lorazepam", "Lorazepan", "Sertraline"]
        assert [r.medicine.name for r in listed.past] == ["Lamotrigine"]  # ended: not to review
        assert [(r.medicine.name, r.review.words) for r in listed.to_review] == [
            ("Lorazepam", "lorazepam (benzodiazepines)")
        ]
        medicines.end(by, lorazepam, who)
        assert lorazepam.until == TODAY and not lorazepam.is_current(TODAY)
        medicines.remove(by, typo, who)
        assert {m.id for m in db.session.scalars(sa.select(PatientMedicine))} == {lorazepam.id, sertraline.id, old.id}
        assert medicines.to_review_for(who) == ()

    _in_app(app, work)
    actions = [e.action for e in fetch(sa.select(AuditEvent).order_by(AuditEvent.at, AuditEvent.id))]
    assert actions.count("medicine.add") == 4 and actions.count("medicine.list") == 1
    assert "medicine.update" in actions and "medicine.remove" in actions
    [removed] = fetch(sa.select(AuditEvent).where(AuditEvent.action == "medicine.remove"))
    assert removed.detail["name"] == "Lorazepan" and removed.patient_id == patient.id


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"name": "   "}, ("name", "required")),
        ({"name": "Lorazepam\n1 mg"}, ("name", None)),
        ({"name": "x" * 101}, ("name", "at most 100 characters")),
        ({"name": "Lorazepam", "dose": "y" * 101}, ("dose", "at most 100 characters")),
        ({"name": "Lorazepam", "since": TODAY, "until": TODAY - timedelta(days=1)}, ("until", None)),
        ({"name": "Lorazepam", "since": date(1800, 1, 1)}, ("since", "a date from 1900 to 2100")),
    ],
)
def test_a_bad_medicine_is_refused_naming_the_field(
    app: Flask, factory: Factory, fields: dict[str, Any], problem: tuple[str, str | None]
) -> None:
    _, patient, user = _setup(factory)
    with app.test_request_context(), pytest.raises(Invalid) as refused:
        medicines.add(db.session.get(User, user.id), db.session.get(Patient, patient.id), **fields)  # type: ignore[arg-type]
    [found] = refused.value.problems
    assert found.field == problem[0] and (problem[1] is None or found.message == problem[1])


def test_another_clinics_medicine_is_not_found(app: Flask, factory: Factory) -> None:
    _, patient, user = _setup(factory)
    outsider = factory.user(factory.clinic("Elsewhere"), email="out@example.org")

    def work() -> None:
        medicine = medicines.add(db.session.get(User, user.id), db.session.get(Patient, patient.id), "Lorazepam")
        with pytest.raises(NotFound):
            medicines.get_for_staff(db.session.get(User, outsider.id), medicine.id)  # type: ignore[arg-type]

    _in_app(app, work)


# The clinic's pages


def _form(client: FlaskClient, patient: Patient, action: str, prefix: str, **fields: str) -> Any:
    html = page(client, f"/clinic/patients/{patient.id}")
    data = {f"{prefix}-csrf_token": csrf_token_from(html), **{f"{prefix}-{k}": v for k, v in fields.items()}}
    return client.post(action, data=data)


def test_the_patient_page_adds_ends_and_removes_and_marks_one_to_review(
    client: FlaskClient, auth: AuthActions, factory: Factory, fetch: Fetch
) -> None:
    clinic, patient, _ = _setup(factory)
    staff(factory, auth, clinic, email="nurse@example.org")
    html = page(client, f"/clinic/patients/{patient.id}")
    assert "No medicines recorded." in html and "Review before the infusion" not in html

    refused = _form(client, patient, f"/clinic/patients/{patient.id}/medicines", "medicine", name="", dose="1 mg")
    assert refused.status_code == 422
    assert re.search(r'id="medicine-name-error">Required', refused.get_data(as_text=True))

    added = _form(
        client, patient, f"/clinic/patients/{patient.id}/medicines", "medicine", name="Lorazepam", dose="1 mg"
    )
    assert added.status_code == 303 and added.headers["Location"].endswith("#medicines")
    assert "Lorazepam added to the medicines." in page(client, added.headers["Location"])
    _form(
        client, patient, f"/clinic/patients/{patient.id}/medicines", "medicine", name="Sertraline", since="2026-01-05"
    )
    html = page(client, f"/clinic/patients/{patient.id}")
    # CLINICAL.md §7: on the page and in the record-infusion form, a review; never advice to change it.
    notices = re.findall(r'<div class="review-notice".*?</div>', html, re.S)
    assert len(notices) == 2 and all("Lorazepam 1 mg" in n and "lorazepam (benzodiazepines)" in n for n in notices)
    assert "Sertraline" not in "".join(notices) and "Jan 5, 2026" in html
    assert not re.search(r"\b(stop|reduce|taper|hold)\b", "".join(notices), re.I)

    [lorazepam] = fetch(sa.select(PatientMedicine).where(PatientMedicine.name == "Lorazepam"))
    ended = _form(client, patient, f"/clinic/medicines/{lorazepam.id}/end", f"med-end-{str(lorazepam.id)[:8]}")
    assert ended.status_code == 303
    html = page(client, f"/clinic/patients/{patient.id}")
    assert "Review before the infusion" not in html and "Lorazepam ended." in html

    [sertraline] = fetch(sa.select(PatientMedicine).where(PatientMedicine.name == "Sertraline"))
    gone = _form(client, patient, f"/clinic/medicines/{sertraline.id}/remove", f"med-remove-{str(sertraline.id)[:8]}")
    assert gone.status_code == 303
    assert [m.name for m in fetch(sa.select(PatientMedicine))] == ["Lorazepam"]


def test_the_visit_form_asks_to_review_a_listed_medicine(
    client: FlaskClient, auth: AuthActions, factory: Factory
) -> None:
    clinic, patient, _ = _setup(factory)
    staff(factory, auth, clinic, email="nurse@example.org")
    booked = factory.infusion(patient, kind="booster", scheduled_for=TEST_NOW + timedelta(hours=2))
    with factory.session() as s:
        s.add(PatientMedicine(patient_id=patient.id, clinic_id=clinic.id, name="Lamotrigine", dose="200 mg"))
    html = page(client, f"/clinic/infusions/{booked.id}/given")
    assert (
        "Review before the infusion:" in html
        and 'Lamotrigine 200 mg <span class="hint">(on the clinic\'s list: lamotrigine)' in html
    )


def test_the_admin_edits_the_list_in_the_clinics_settings(
    client: FlaskClient, auth: AuthActions, factory: Factory, fetch: Fetch
) -> None:
    clinic = factory.clinic()
    staff(factory, auth, clinic, email="boss@example.org").role  # noqa: B018
    with factory.session() as s:
        row = s.get(User, s.scalar(sa.select(User.id).where(User.email == "boss@example.org")))
        assert row is not None
        row.role = "admin"
    assert 'href="/admin/settings/medicines"' in page(client, "/admin/settings")
    html = page(client, "/admin/settings/medicines")
    token = csrf_token_from(html)
    bad = client.post("/admin/settings/medicines", data={"csrf_token": token, "review_medicines": ": lorazepam"})
    assert bad.status_code == 422 and "Line 1: a name is needed before the colon" in bad.get_data(as_text=True)
    # The format is shown above the box; a class with no members is refused beside it, naming the line.
    assert "A class: its name, a colon, then its members separated by commas" in html
    assert html.index("A class: its name, a colon") < html.index("<textarea")
    empty = client.post(
        "/admin/settings/medicines", data={"csrf_token": token, "review_medicines": "lithium\nbenzodiazepines:"}
    )
    assert re.search(
        r'id="review_medicines-error">Line 2: name the members of benzodiazepines after the colon',
        empty.get_data(as_text=True),
    )
    text = "benzodiazepines: alprazolam, clonazepam, diazepam, lorazepam\nlamotrigine"
    saved = client.post("/admin/settings/medicines", data={"csrf_token": token, "review_medicines": text})
    assert saved.status_code == 302
    [stored] = fetch(sa.select(Clinic).where(Clinic.id == clinic.id))
    assert medicine_review.from_stored(stored.review_medicines) == LIST[:2]
    assert "Saved: 2 entries to review." in page(client, "/admin/settings/medicines")


# The API


def test_the_api_lists_adds_changes_and_removes_medicines(
    client: FlaskClient, factory: Factory, bearer: Callable[[Any], dict[str, str]], fetch: Fetch
) -> None:
    _, patient, user = _setup(factory)
    headers = bearer(user)
    url = f"/api/v1/clinic/patients/{patient.id}/medicines"
    bad = client.post(url, json={"name": "Lorazepam", "since": "2026-02-30"}, headers=headers)
    assert bad.status_code == 422 and [e["field"] for e in bad.get_json()["errors"]] == ["since"]
    line = client.post(url, json={"name": "Loraz\nepam"}, headers=headers)
    assert line.status_code == 422 and [e["field"] for e in line.get_json()["errors"]] == ["name"]
    order = client.post(url, json={"name": "Lorazepam", "since": "2026-03-01", "until": "2026-01-01"}, headers=headers)
    assert order.status_code == 422 and [e["field"] for e in order.get_json()["errors"]] == ["until"]

    made = client.post(url, json={"name": "Lorazepam", "dose": "1 mg"}, headers=headers)
    assert made.status_code == 201, made.get_data(as_text=True)
    body = made.get_json()
    assert (body["current"], body["review_before_infusion"], body["review_match"]) == (
        True,
        True,
        "lorazepam (benzodiazepines)",
    )
    listed = client.get(url, headers=headers).get_json()["items"]
    assert [m["name"] for m in listed] == ["Lorazepam"]

    medicine = f"/api/v1/clinic/medicines/{body['id']}"
    changed = client.patch(medicine, json={"until": TODAY.isoformat()}, headers=headers)
    assert changed.status_code == 200
    assert (changed.get_json()["current"], changed.get_json()["review_before_infusion"]) == (False, False)
    assert changed.get_json()["dose"] == "1 mg"  # left out: unchanged
    assert client.patch(medicine, json={"name": ""}, headers=headers).status_code == 422
    assert client.delete(medicine, headers=headers).status_code == 204
    assert client.get(url, headers=headers).get_json()["items"] == []
    assert fetch(sa.select(AuditEvent).where(AuditEvent.action == "medicine.list"))


# FHIR


def test_the_fhir_bundle_holds_each_medicine_as_a_medication_statement(app: Flask, factory: Factory) -> None:
    clinic, patient, user = _setup(factory)
    with factory.session() as s:
        s.add(PatientMedicine(patient_id=patient.id, clinic_id=clinic.id, name="Lorazepam", dose="1 mg", since=TODAY))
        s.add(PatientMedicine(patient_id=patient.id, clinic_id=clinic.id, name="Lithium", until=TODAY))
    with app.test_request_context():
        bundle = fhir_export.bundle_for_staff(db.session.get(User, user.id), patient.id).bundle  # type: ignore[arg-type]
        db.session.rollback()
    statements = {
        e["resource"]["medicationCodeableConcept"]["text"]: e["resource"]
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "MedicationStatement"
    }
    assert statements["Lorazepam"]["status"] == "active"
    assert statements["Lorazepam"]["dosage"] == [{"text": "1 mg"}]
    assert statements["Lorazepam"]["effectivePeriod"] == {"start": TODAY.isoformat()}
    assert statements["Lithium"]["status"] == "completed"
    assert statements["Lithium"]["subject"]["reference"] == f"urn:uuid:{patient.id}"


def test_a_name_typed_twice_in_any_case_is_one_entry() -> None:
    text = "lamotrigine\nLAMOTRIGINE, lithium\nbenzodiazepines: alprazolam, Alprazolam\nBenzodiazepines: diazepam"
    entries, problems = medicine_review.parse_lines(text)
    assert problems == []
    assert entries == (
        Entry("lamotrigine"),
        Entry("lithium"),
        Entry("benzodiazepines", ("alprazolam", "diazepam")),
    )


def test_a_semicolon_is_refused_naming_the_line() -> None:
    entries, problems = medicine_review.parse_lines("lithium\nmao inhibitors: Parnate ; Nardil")
    assert [p.message.split(":")[0] for p in problems] == ["line 2"]
    assert 'separate names by commas, not ";"' in problems[0].message and entries == (Entry("lithium"),)


def test_the_same_current_medicine_twice_is_refused_beside_the_name(app: Flask, factory: Factory) -> None:
    _, patient, user = _setup(factory)

    def work() -> None:
        by, who = db.session.get(User, user.id), db.session.get(Patient, patient.id)
        assert by is not None and who is not None
        first = medicines.add(by, who, "Lorazepam", "1 mg")
        with pytest.raises(Invalid) as refused:
            medicines.add(by, who, " lorazepam ", "2 mg")
        assert [(p.field, p.message) for p in refused.value.problems] == [
            ("name", "lorazepam is already on the current medicines")
        ]
        other = medicines.add(by, who, "Sertraline")
        with pytest.raises(Invalid):
            medicines.update(by, other, who, name="LORAZEPAM")
        medicines.update(by, first, who, dose="2 mg")  # its own name is no clash
        # Taken before and ended: entered again as history, or restarted once the current one ends.
        medicines.add(by, who, "Lorazepam", None, TODAY - timedelta(days=400), TODAY - timedelta(days=300))
        medicines.end(by, first, who)
        medicines.add(by, who, "Lorazepam", "0.5 mg")

    _in_app(app, work)


def test_the_api_and_the_page_refuse_a_current_medicine_twice(
    client: FlaskClient, auth: AuthActions, factory: Factory, bearer: Callable[[Any], dict[str, str]]
) -> None:
    _, patient, user = _setup(factory)
    url = f"/api/v1/clinic/patients/{patient.id}/medicines"
    assert client.post(url, json={"name": "Lorazepam"}, headers=bearer(user)).status_code == 201
    again = client.post(url, json={"name": "LORAZEPAM"}, headers=bearer(user))
    assert again.status_code == 422 and [e["field"] for e in again.get_json()["errors"]] == ["name"]
    assert auth.login("doc@example.org").status_code == 302
    response = _form(client, patient, f"/clinic/patients/{patient.id}/medicines", "medicine", name="lorazepam")
    assert response.status_code == 422
    assert "already on the current medicines" in response.get_data(as_text=True)
