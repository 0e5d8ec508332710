"""Readiness: the database answers and its schema is the one this code expects."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from alembic.config import Config
from alembic.script import ScriptDirectory

from tracker import ROOT
from tracker.extensions import db

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Readiness:
    database: bool
    migrations_current: bool
    schema_revision: str | None
    expected_revision: str | None

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
        }


def expected_revision(migrations_dir: Path = ROOT / "migrations") -> str | None:
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
    return Readiness(True, current == expected, current, expected)
