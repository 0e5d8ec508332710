"""Quiet hours of no length are refused on the API; the site's icon is served where browsers look for it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import time
from typing import Any

import sqlalchemy as sa
from factories import Factory
from flask.testing import FlaskClient

from tracker.models import Clinic


def test_quiet_hours_that_start_when_they_end_are_refused_naming_the_field(
    client: FlaskClient, factory: Factory, bearer: Callable[..., Any], fetch: Callable[..., list[Any]]
) -> None:
    clinic = factory.clinic()
    admin = bearer(factory.user(clinic, role="admin"))
    same = client.patch("/api/v1/clinic/settings", json={"quiet_start": "08:00", "quiet_end": "08:00"}, headers=admin)
    assert same.status_code == 422
    assert same.headers["Content-Type"].startswith("application/problem+json")
    [error] = same.get_json()["errors"]
    assert error["field"] == "quiet_end" and "different time from the start (08:00)" in error["message"]
    # Only the start moved onto the stored end (08:00 by default) is the same problem.
    onto = client.patch("/api/v1/clinic/settings", json={"quiet_start": "08:00"}, headers=admin)
    assert onto.status_code == 422 and [e["field"] for e in onto.get_json()["errors"]] == ["quiet_end"]
    [stored] = fetch(sa.select(Clinic).where(Clinic.id == clinic.id))
    assert (stored.quiet_start, stored.quiet_end) == (time(21, 0), time(8, 0))

    moved = client.patch("/api/v1/clinic/settings", json={"quiet_start": "22:00", "quiet_end": "07:00"}, headers=admin)
    assert moved.status_code == 200, moved.get_json()
    assert (moved.get_json()["quiet_start"], moved.get_json()["quiet_end"]) == ("22:00", "07:00")


def test_the_icon_is_served_and_every_page_links_it(client: FlaskClient) -> None:
    with client.get("/favicon.ico") as icon:
        assert icon.status_code == 200
        assert icon.mimetype == "image/x-icon"
        assert icon.data[:4] == b"\x00\x00\x01\x00"  # an ICO file's header
        assert "max-age" in (icon.headers.get("Cache-Control") or "")  # asked for once, not on every page
    login = client.get("/login").get_data(as_text=True)
    assert '<link rel="icon" href="/favicon.ico"' in login
