"""The patient page's check-in list says the export has them all: it does, GAD-7 rows and all."""

from __future__ import annotations

import csv
import io

from conftest import AuthActions
from factories import Factory
from flask.testing import FlaskClient


def test_the_page_counts_what_the_export_holds(client: FlaskClient, auth: AuthActions, factory: Factory) -> None:
    clinic = factory.clinic()
    factory.user(clinic, email="doc@example.org")
    patient = factory.patient(clinic)
    for day in range(21):
        factory.checkin(patient, total=8, days_ago=60 - day)
    for day in (5, 33):
        factory.checkin(patient, answers=[1] * 7, instrument="gad7", days_ago=day)
    auth.login("doc@example.org")

    page = client.get(f"/clinic/patients/{patient.id}").get_data(as_text=True)
    assert "The latest 20 of 23; the export has them all." in page
    export = client.get(f"/exports/patients/{patient.id}/checkins.csv").get_data().decode("utf-8-sig")
    header, *rows = csv.reader(io.StringIO(export, newline=""))
    assert len(rows) == 23
    kinds = [row[header.index("instrument")] for row in rows]
    assert (kinds.count("PHQ-9"), kinds.count("GAD-7")) == (21, 2)
