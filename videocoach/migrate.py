"""Alembic, driven from code: `videocoach db upgrade` and `serve` both call upgrade()."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
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


def upgrade(app: Flask, revision: str = "head") -> None:
    config = alembic_config(app)
    with transaction.separate_transaction(app) as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def revision(app: Flask, message: str) -> None:
    """Autogenerate a new migration from the models (for developers)."""
    config = alembic_config(app)
    with transaction.separate_transaction(app) as connection:
        config.attributes["connection"] = connection
        command.revision(config, message=message, autogenerate=True)
