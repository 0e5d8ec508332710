"""Alembic environment: the app's engine and metadata, batch mode for SQLite."""

import logging
from logging.config import fileConfig
from typing import Any

import sqlalchemy as sa
from alembic import context
from flask import current_app

from tracker.models.base import UTCDateTime

config = context.config
if config.config_file_name is not None:
    fileConfig(config.config_file_name, disable_existing_loggers=False)
logger = logging.getLogger("alembic.env")

target_db = current_app.extensions["migrate"].db


def render_item(type_: str, obj: Any, autogen_context: Any) -> str | bool:
    """Write our UTC column type as the plain type it stores, so migrations import nothing of ours."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def run_migrations_offline() -> None:
    context.configure(
        url=str(target_db.engine.url),
        target_metadata=target_db.metadata,
        literal_binds=True,
        render_item=render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    def process_revision_directives(context: Any, revision: Any, directives: Any) -> None:
        # An autogenerate that finds nothing writes no empty migration.
        if getattr(config.cmd_opts, "autogenerate", False) and directives[0].upgrade_ops.is_empty():
            directives[:] = []
            logger.info("No changes in schema detected.")

    conf_args = dict(current_app.extensions["migrate"].configure_args)
    conf_args.setdefault("process_revision_directives", process_revision_directives)
    connectable: sa.Engine = target_db.engine
    with connectable.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # A batch migration copies a table and drops the old one: with foreign keys on, the drop would
            # cascade to the rows that refer to it (alert_checkin to alert, ...). The pragma is set outside any
            # transaction (it is a no-op inside one); the keys are checked at the end and the connection not reused.
            connection.connection.dbapi_connection.execute("PRAGMA foreign_keys = OFF")  # type: ignore[union-attr]
        try:
            context.configure(
                connection=connection,
                target_metadata=target_db.metadata,
                render_item=render_item,
                **conf_args,
            )
            with context.begin_transaction():
                context.run_migrations()
                if sqlite and (broken := connection.exec_driver_sql("PRAGMA foreign_key_check").first()):
                    raise RuntimeError(f"a migration left a row of {broken[0]} whose parent is gone")
            if connection.in_transaction():
                connection.commit()
        finally:
            if sqlite:
                if connection.in_transaction():
                    connection.rollback()
                # Not back to the pool with its keys off: a fresh connection turns them on (tracker/db.py).
                connection.invalidate()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
