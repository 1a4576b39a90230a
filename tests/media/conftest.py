from __future__ import annotations

from pathlib import Path

import pytest

from tests.media.face_footage import make_face_footage


@pytest.fixture(scope="session")
def face_footage(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """5 s of 720p15, the astronaut's face from 40 to 400 px high (see face_footage.py)."""
    return make_face_footage(tmp_path_factory.mktemp("faces") / "footage.mp4")
