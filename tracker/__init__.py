"""tracker: PHQ-9 check-ins between ketamine infusions, relapse flags and booster requests."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from flask import Flask
from flask.typing import ResponseReturnValue

ROOT = Path(__file__).resolve().parent.parent


class TrackerApp(Flask):
    """Flask, with each request's one commit made after its view returns (tracker/unit_of_work.py).

    Inside dispatch, so a commit that fails (a unique key taken meanwhile, a busy database) reaches
    the same error handlers as the view's own errors instead of becoming a bare 500.
    """

    def dispatch_request(self) -> ResponseReturnValue:
        from tracker.extensions import db
        from tracker.unit_of_work import finish_request

        response = self.make_response(super().dispatch_request())
        finish_request(db.session, response.status_code)
        return response


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the app from the environment; `config` overrides it (tests do)."""
    from tracker.config import load_config

    app = TrackerApp(
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

    hops = int(app.config.get("TRUSTED_PROXY_HOPS") or 0)
    if hops:
        from werkzeug.middleware.proxy_fix import ProxyFix

        # Behind the README's TLS proxy: the client's own address and scheme, from the hops trusted to tell.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]
    _init_extensions(app)
    _register_blueprints(app)
    _record_audit_origin(app)
    from tracker.request_guard import init_request_guard

    init_request_guard(app)
    _configure_logging(app)

    from tracker.cli import tracker_cli

    app.cli.add_command(tracker_cli)
    _maybe_start_scheduler(app)
    return app


def _maybe_start_scheduler(app: Flask) -> None:
    """`make run` alone: the jobs run in a thread of the dev server, started once, with or without the
    reloader (tracker/jobs/in_process.py)."""
    from tracker.jobs.in_process import maybe_start

    maybe_start(app)


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
    from tracker.api import init_api
    from tracker.sms.webhooks import bp as sms_bp
    from tracker.web import register_web

    register_web(app)
    init_api(app)
    app.register_blueprint(sms_bp)  # Twilio's webhooks and the dev outbox page


def _record_audit_origin(app: Flask) -> None:
    """Hand the audit trail the request's address and user agent; services never read the request."""
    from flask import g, request

    from tracker.services.audit import trail

    @app.before_request
    def remember_origin() -> None:
        g.audit_origin = trail.set_origin(request.remote_addr, request.user_agent.string)

    @app.teardown_request
    def forget_origin(_error: BaseException | None) -> None:
        token = g.pop("audit_origin", None)
        if token is not None:
            trail.clear_origin(token)


class HideLinkSecrets(logging.Filter):
    """A request line names its path, and a one-time link's path is its secret: the access logs get what the
    link was instead (texts.for_staff), so a log reader cannot reset a password or open an invitation."""

    def filter(self, record: logging.LogRecord) -> bool:
        from tracker.services.messaging.texts import for_staff

        message = record.getMessage()
        hidden = for_staff(message)
        if hidden != message:
            record.msg, record.args = hidden, None
        return True


# The loggers that write request lines: werkzeug's server (development) and gunicorn's access log.
ACCESS_LOGGERS = ("werkzeug", "gunicorn.access")


def _configure_logging(app: Flask) -> None:
    for name in ACCESS_LOGGERS:
        access = logging.getLogger(name)
        if not any(isinstance(f, HideLinkSecrets) for f in access.filters):
            access.addFilter(HideLinkSecrets())
    if not app.debug and not app.testing:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
