"""The side-effect pages (CLINICAL.md §7): staff's discharge form on the infusion, the patient page's section, and
the patient's next-morning page, errors beside the items."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from conftest import AuthActions, csrf_token_from
from factories import Factory
from flask.testing import FlaskClient

from tracker import side_effects as rules
from tracker.clock import FrozenClock
from tracker.models import Alert, Clinic, Patient, SideEffectReport

Fetch = Callable[..., list[Any]]
NONE = dict.fromkeys(rules.ITEM_KEYS, "none")


def test_staff_record_at_discharge_and_see_it_on_the_patient_page(
    client: FlaskClient,
    auth: AuthActions,
    factory: Factory,
    clinic: Clinic,
    patient: Patient,
    clock: FrozenClock,
    fetch: Fetch,
) -> None:
    staff = factory.user(clinic)
    infusion = factory.infusion(patient, given_at=clock.current - timedelta(hours=2))
    auth.login(staff.email)
    url = f"/clinic/infusions/{infusion.id}/side-effects"
    page = client.get(url)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Feeling strange or disconnected" in html and "Pain or urgency passing urine" in html

    # One item left out: nothing saved, the message beside that item.
    partial = {k: v for k, v in NONE.items() if k != "anxiety"}
    refused = client.post(url, data={**partial, "csrf_token": csrf_token_from(html)})
    assert refused.status_code == 422
    refused_html = refused.get_data(as_text=True)
    assert 'id="anxiety-error">Please choose none, mild, moderate or severe.' in refused_html
    # The summary at the top, as on the clinic's other forms.
    summary = refused_html[refused_html.index('class="form-problems"') : refused_html.index('id="anxiety-error"')]
    assert "Nothing was saved." in summary and "Please correct the marked field." in summary
    assert fetch(sa.select(SideEffectReport)) == []

    saved = client.post(url, data={**NONE, "headache": "severe", "csrf_token": csrf_token_from(html)})
    assert saved.status_code == 303
    [report] = fetch(sa.select(SideEffectReport))
    assert (report.timing, report.source, report.reported_by_id, report.headache) == (
        "discharge",
        "clinic",
        staff.id,
        3,
    )
    [alert] = fetch(sa.select(Alert))
    assert alert.cause == "severe_side_effect"

    patient_page = client.get(f"/clinic/patients/{patient.id}").get_data(as_text=True)
    assert 'id="side-effects"' in patient_page and "Headache: <strong>severe</strong>" in patient_page
    again = client.post(url, data={**NONE, "csrf_token": csrf_token_from(html)})
    assert again.status_code == 409 and "already recorded" in again.get_data(as_text=True)


def test_the_patient_answers_on_the_web_page_linked_from_home(
    client: FlaskClient, auth: AuthActions, factory: Factory, patient: Patient, clock: FrozenClock, fetch: Fetch
) -> None:
    factory.infusion(patient, given_at=clock.current - timedelta(hours=23))
    auth.login(patient.phone)
    home = client.get("/me").get_data(as_text=True)
    assert 'href="/me/side-effects"' in home
    page = client.get("/me/side-effects").get_data(as_text=True)
    refused = client.post("/me/side-effects", data={"headache": "awful", "csrf_token": csrf_token_from(page)})
    assert refused.status_code == 422
    assert 'id="headache-error">Please choose one of these answers.' in refused.get_data(as_text=True)

    done = client.post("/me/side-effects", data={**NONE, "nausea": "mild", "csrf_token": csrf_token_from(page)})

    assert done.status_code == 303
    [report] = fetch(sa.select(SideEffectReport))
    assert (report.source, report.nausea) == ("web", 1)
    assert 'href="/me/side-effects"' not in client.get("/me").get_data(as_text=True)  # closed once answered
    assert "nothing to answer now" in client.get("/me/side-effects").get_data(as_text=True)
