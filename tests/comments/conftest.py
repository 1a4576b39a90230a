"""A ready, shared clip with a goal: what comment tests start from."""

from __future__ import annotations

import pytest

from tests.studio import Studio


@pytest.fixture
def review(studio: Studio, media_samples):
    """A ready, shared 3-4 s clip with one goal in its partnership."""
    clip = studio.upload(media_samples["h264_aac.mp4"], visibility="shared").json["clip"]
    goal = (
        studio.client()
        .post(
            f"/api/v1/partnerships/{studio.pid}/goals",
            json={"title": "Wait time"},
            headers=studio.headers(),
        )
        .json["goal"]
    )
    studio.clip_id, studio.goal_id = clip["id"], goal["id"]
    return studio
