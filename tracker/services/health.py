"""Readiness: the database answers and its schema is the one this code expects."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
from alembic.config import Config
from alembic.script import ScriptDirectory

from tracker import clock
from tracker.extensions import db
from tracker.services.heartbeat import is_stale, latest_beat

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Readiness:
    database: bool
    migrations_current: bool
    schema_revision: str | None
    expected_revision: str | None
    scheduler_beat_at: datetime | None = None
    scheduler_stale: bool = True

    @property
    def ready(self) -> bool:
        return self.database and self.migrations_current

    def as_dict(self) -> dict[str, object]:
        return {
            "status": "ready" if self.ready else "not ready",
            "database": "ok" if self.database else "unreachable",
            "migrations": "current" if self.migrations_current else "behind",
            "schema_revision": self.schema_revision,
            "expected_revision": self.expected_revision,
            # Reported, not required: the pages serve without the scheduler, but nobody is watching.
            "scheduler": "stale" if self.scheduler_stale else "ok",
            "scheduler_beat_at": self.scheduler_beat_at.isoformat() if self.scheduler_beat_at else None,
        }


def expected_revision(migrations_dir: Path = MIGRATIONS) -> str | None:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir))
    return ScriptDirectory.from_config(config).get_current_head()


def readiness() -> Readiness:
    expected = expected_revision()
    try:
        current = db.session.scalar(sa.text("SELECT version_num FROM alembic_version"))
    except sa.exc.SQLAlchemyError as error:
        # The kind of failure is enough: connection strings may hold credentials.
        log.warning("readiness check failed: %s", type(error).__name__)
        db.session.rollback()
        return Readiness(False, False, None, expected)
    beat_at = latest_beat(db.session)
    return Readiness(True, current == expected, current, expected, beat_at, is_stale(db.session, clock.now()))
