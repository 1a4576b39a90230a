"""Migrations build the whole schema from empty, and it matches the models exactly."""

from __future__ import annotations

import subprocess
import sys

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from tests.conftest import drop_postgres_schema, new_postgres_schema
from videocoach.models import Base


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.sqlite3'}"
        return
    schema, url = new_postgres_schema()
    yield url
    drop_postgres_schema(schema)


def test_db_upgrade_from_empty_matches_the_models(empty_database, tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "videocoach.cli", "db", "upgrade"],
        env={
            "PATH": "/usr/bin:/bin",
            "DATABASE_URL": empty_database,
            "VIDEOCOACH_DATA_DIR": str(tmp_path / "data"),
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
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
    env = {
        "PATH": "/usr/bin:/bin",
        "DATABASE_URL": empty_database,
        "VIDEOCOACH_DATA_DIR": str(tmp_path / "data"),
    }
    for _ in range(2):
        result = subprocess.run(
            [sys.executable, "-m", "videocoach.cli", "db", "upgrade"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
