"""Media fixtures: tiny generated clips, made once per test run. No app, no database."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.media.samples import make_media_samples


@pytest.fixture(scope="session")
def media_samples(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return make_media_samples(tmp_path_factory.mktemp("media-samples"))
