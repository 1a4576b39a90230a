"""Migrations build the whole schema from empty, and it matches the models exactly."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from tests.conftest import fresh_database
from videocoach.models import Base


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request, tmp_path):
    with fresh_database(request.param, tmp_path / "empty.sqlite3") as url:
        yield url


def db_upgrade(database_url: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """`videocoach db upgrade` as an operator runs it: a bare environment naming the database."""
    return subprocess.run(
        [sys.executable, "-m", "videocoach.cli", "db", "upgrade"],
        env={
            "PATH": "/usr/bin:/bin",
            "DATABASE_URL": database_url,
            "VIDEOCOACH_DATA_DIR": str(tmp_path / "data"),
        },
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_db_upgrade_from_empty_matches_the_models(empty_database, tmp_path):
    result = db_upgrade(empty_database, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Database is up to date." in result.stdout

    engine = sa.create_engine(empty_database)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
        tables = set(sa.inspect(connection).get_table_names())
    engine.dispose()
    assert differences == []
    assert {"users", "partnerships", "memberships", "invitations", "goals", "clips"} <= tables


def test_upgrade_twice_is_harmless(empty_database, tmp_path):
    for _ in range(2):
        result = db_upgrade(empty_database, tmp_path)
        assert result.returncode == 0, result.stderr
