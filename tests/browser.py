"""Browser tests' fixtures: the app served on a real port, and Debian's Chromium driven by Playwright.

`live_server` serves its own app and SQLite file (the per-test rollback of `app` cannot reach another
thread's connections), so tests seed it through `Factory(live_app)`, which commits. `page` opens a
fresh phone-sized browser context per test. Without a Chromium binary the tests are skipped, except
under CI=true, where that is a failure.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask_migrate import upgrade
from playwright.sync_api import Browser, ConsoleMessage, Page, Playwright, Response, ViewportSize, sync_playwright
from werkzeug.serving import BaseWSGIServer, make_server

from tracker import ROOT
from tracker.extensions import db, limiter

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PHONE = ViewportSize(width=360, height=740)
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"


@dataclass(frozen=True)
class LiveServer:
    app: Flask
    url: str  # http://127.0.0.1:<port>, no trailing slash


def chromium_path() -> str | None:
    """CHROMIUM_PATH if set, else the first Debian Chromium found."""
    configured = os.environ.get("CHROMIUM_PATH")
    if configured:
        return configured if Path(configured).is_file() else None
    return next((path for path in CHROMIUM_CANDIDATES if Path(path).is_file()), shutil.which("chromium"))


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def rows(live_server: LiveServer, statement: sa.Select[Any]) -> list[Any]:
    """What the live server's database holds now, detached so it reads after its app context ends."""
    with live_server.app.app_context():
        found = list(db.session.scalars(statement))
        db.session.expunge_all()
        return found


def fits(page: Page) -> None:
    """Nothing scrolls sideways, whatever the screen.

    Measured once the page and its stylesheets have loaded: a page can be found by its text before its CSS is
    applied, and an unstyled table is wider than any phone."""
    page.wait_for_load_state("load")
    size = page.viewport_size
    assert size is not None and page.evaluate("document.documentElement.scrollWidth") <= size["width"]


def size_of(page: Page) -> str:
    """The screen's name in a screenshot's: `phone` under 720 CSS pixels wide, else `desktop`."""
    size = page.viewport_size
    assert size is not None
    return "phone" if size["width"] < 720 else "desktop"


@pytest.fixture(scope="session")
def live_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """An app of its own on its own SQLite file, its schema built by the migrations."""
    from conftest import make_test_app  # conftest loads this plugin, so import it only once it is loaded

    folder = tmp_path_factory.mktemp("live")
    app = make_test_app(f"sqlite:///{folder / 'live.sqlite3'}", folder / "instance")
    with app.app_context():
        upgrade()
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture(autouse=True)
def _fresh_limits(request: pytest.FixtureRequest) -> None:
    """Each browser test starts with no logins counted: the served app lives for the whole run, and its
    limits would otherwise count every earlier test's logins from 127.0.0.1."""
    if "live_server" in request.fixturenames:
        app: Flask = request.getfixturevalue("live_app")
        with app.app_context():
            limiter.reset()


@pytest.fixture(scope="session")
def live_server(live_app: Flask) -> Iterator[LiveServer]:
    """`live_app` served by werkzeug on an ephemeral port of 127.0.0.1, in a daemon thread."""
    server: BaseWSGIServer = make_server("127.0.0.1", 0, live_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(live_app, f"http://127.0.0.1:{server.server_port}")
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def playwright_driver() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright_driver: Playwright) -> Iterator[Browser]:
    path = chromium_path()
    if path is None:
        reason = "no Chromium: install Debian's `chromium` package or set CHROMIUM_PATH"
        if _in_ci():
            pytest.fail(f"{reason} (CI=true: browser tests must run)", pytrace=False)
        pytest.skip(reason)
    launched = playwright_driver.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
    yield launched
    launched.close()


@pytest.fixture
def viewport() -> ViewportSize:
    """A phone's screen; override this fixture in a test module for another size."""
    return ViewportSize(**PHONE)


@pytest.fixture
def page(browser: Browser, viewport: ViewportSize) -> Iterator[Page]:
    """A fresh touch-screen context (no cookies) per test; console errors (CSP refusals among them) and failed
    subresources fail it."""
    context = browser.new_context(viewport=viewport, has_touch=True, is_mobile=True, device_scale_factor=1)
    tab = context.new_page()
    tab.set_default_timeout(10_000)
    errors: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        # A failed load is judged by on_response, which knows what was loaded.
        if message.type == "error" and "Failed to load resource" not in message.text:
            errors.append(message.text)

    def on_response(response: Response) -> None:
        # A page may answer 4xx on purpose (tests check those); its stylesheet or image may not.
        if response.status >= 400 and response.request.resource_type != "document":
            errors.append(f"{response.status} {response.url}")

    tab.on("console", on_console)
    tab.on("response", on_response)
    tab.on("pageerror", lambda error: errors.append(str(error)))
    yield tab
    context.close()
    assert not errors, f"the browser reported errors: {errors}"


@pytest.fixture
def screenshot() -> Callable[[Page, str], Path]:
    """`screenshot(page, name)` saves the whole page to test-artifacts/screenshots/<name>.png."""

    def save(tab: Page, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        tab.screenshot(path=str(path), full_page=True)
        return path

    return save
