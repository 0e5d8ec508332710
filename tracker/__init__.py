"""tracker: PHQ-9 check-ins between ketamine infusions, relapse flags and booster requests."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from flask import Flask

ROOT = Path(__file__).resolve().parent.parent


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the app from the environment; `config` overrides it (tests do)."""
    from tracker.config import load_config

    app = Flask(
        __name__,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
        instance_relative_config=True,
    )
    overrides = dict(config or {})
    environ = overrides.pop("ENVIRON", None)
    app.config.update(load_config(environ, app.instance_path))
    app.config.update(overrides)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)

    _init_extensions(app)
    _register_blueprints(app)
    _configure_logging(app)

    from tracker.cli import tracker_cli

    app.cli.add_command(tracker_cli)
    return app


def _init_extensions(app: Flask) -> None:
    from tracker import models  # noqa: F401  (registers every table before migrate sees the metadata)
    from tracker.db import configure_engine
    from tracker.extensions import csrf, db, limiter, login_manager, migrate

    db.init_app(app)
    with app.app_context():
        configure_engine(db.engine)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True, compare_type=True)
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)

    from tracker.web.auth import load_user

    login_manager.user_loader(load_user)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please log in to see that page."
    login_manager.session_protection = "strong"


def _register_blueprints(app: Flask) -> None:
    from tracker.web import register_web

    register_web(app)


def _configure_logging(app: Flask) -> None:
    if not app.debug and not app.testing:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
