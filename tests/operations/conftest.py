"""Operator commands run through the real `videocoach` CLI (click's runner, in this
process, so each test runs on SQLite and on PostgreSQL) against the test database and the
same data directory (and storage) as the app the test fills."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from tests.conftest import app_config
from tests.helpers.tcp_proxy import TcpProxy
from videocoach.cli import main


@pytest.fixture
def cli(database_url: str, tmp_path: Path) -> Callable[..., Result]:
    """cli(*args, input=None, **settings): run `videocoach *args` with the test app's
    configuration (plus `settings`, e.g. VIDEOCOACH_STORAGE) and return click's result."""

    def run(*args: str, input: str | None = None, **settings: str) -> Result:
        env = app_config(database_url, tmp_path / "data", **settings)
        return CliRunner().invoke(main, list(args), env=env, input=input)

    return run


@pytest.fixture
def s3_proxy(s3_endpoint: str) -> Iterator[TcpProxy]:
    """The test S3 server (moto) behind a proxy the test can cut and restore."""
    port = int(s3_endpoint.rsplit(":", 1)[1])
    proxy = TcpProxy("127.0.0.1", port).start()
    yield proxy
    proxy.cut()
