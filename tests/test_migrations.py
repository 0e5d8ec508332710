"""The migrations build the whole schema, and the models agree with them."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from conftest import make_test_app
from flask import Flask
from flask_migrate import downgrade, upgrade

from tracker.extensions import db
from tracker.models import Base
from tracker.services.health import expected_revision


def test_models_and_migrations_agree(app: Flask) -> None:
    """Autogenerate against the migrated test database finds no difference."""
    with app.app_context(), db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "render_as_batch": True})
        assert compare_metadata(context, Base.metadata) == []


def test_schema_is_at_the_head_revision(app: Flask) -> None:
    with app.app_context():
        current = db.session.scalar(sa.text("SELECT version_num FROM alembic_version"))
        db.session.rollback()
    assert current == expected_revision()


def test_upgrade_downgrade_upgrade_on_an_empty_sqlite_file(tmp_path) -> None:
    app = make_test_app(f"sqlite:///{tmp_path / 'fresh.sqlite3'}", tmp_path)
    with app.app_context():
        upgrade()
        assert "patient" in sa.inspect(db.engine).get_table_names()
        downgrade(revision="base")
        assert "patient" not in sa.inspect(db.engine).get_table_names()
        upgrade()
        assert set(Base.metadata.tables) <= set(sa.inspect(db.engine).get_table_names())
        db.engine.dispose()
