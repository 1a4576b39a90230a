"""Alembic, driven from code: `videocoach db upgrade` and `serve` both call upgrade()."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from flask import Flask

from videocoach import transaction
from videocoach.app import resource_dir


def alembic_config(app: Flask) -> Config:
    config = Config()
    config.set_main_option("script_location", str(resource_dir("migrations")))
    # Alembic's ini interpolation treats % specially; URLs may contain %-escapes.
    url = app.extensions["videocoach.settings"].database_url.replace("%", "%%")
    config.set_main_option("sqlalchemy.url", url)
    return config


log = logging.getLogger(__name__)


def upgrade(app: Flask, revision: str = "head", *, quiet: bool = False) -> None:
    """Apply migrations up to `revision`. `quiet` (serve, at every start): one line when
    something was applied instead of Alembic's line per step, and none when nothing was."""
    config = alembic_config(app)
    with transaction.separate_transaction(app) as connection:
        config.attributes["connection"] = connection
        with _alembic_logging(logging.WARNING) if quiet else nullcontext():
            before = MigrationContext.configure(connection).get_current_revision()
            command.upgrade(config, revision)
            after = MigrationContext.configure(connection).get_current_revision()
    if quiet and after != before:
        log.info("database upgraded from %s to %s", before or "empty", after)


@contextmanager
def _alembic_logging(level: int) -> Iterator[None]:
    """Alembic's own lines only at `level` or above while the block runs."""
    logger = logging.getLogger("alembic")
    previous = logger.level
    logger.setLevel(level)
    try:
        yield
    finally:
        logger.setLevel(previous)
