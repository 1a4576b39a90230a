"""Two installations on one Redis (each with its own database, as docs/configuration.md
tells operators to set them up) never hear each other's live events, while two processes
of one installation (same DATABASE_URL: web and worker, or two web servers) do."""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from tests.conftest import app_config, fresh_database
from tests.studio import make_studio
from videocoach import create_app
from videocoach.live import LiveEvent, clip_topic

# Pub/sub ignores the database number: the same server is the same channels.
REDIS_A = "redis://127.0.0.1:6379/3"
REDIS_B = "redis://127.0.0.1:6379/4"


def subscribe_to(app: Flask, topic: str):
    return app.extensions["videocoach.live"].subscribe([topic])


def test_a_comment_reaches_its_own_installation_only(
    app, make_app, make_user, database_url: str, tmp_path: Path
) -> None:
    web = make_app(REDIS_URL=REDIS_A)
    studio = make_studio(web, make_user)
    clip_id = studio.add_clip_row()
    topic = clip_topic(clip_id)
    other_web_process = make_app(REDIS_URL=REDIS_A)
    backend = "postgresql" if database_url.startswith("postgresql") else "sqlite"
    with fresh_database(backend, tmp_path / "other.sqlite3") as other_database:
        other_installation = create_app(
            app_config(other_database, tmp_path / "other-data", REDIS_URL=REDIS_B)
        )
        # Ids are random, so another installation never shares a topic; listening to this
        # one's anyway shows that nothing of this installation reaches its relay at all.
        outsider = subscribe_to(other_installation, topic)
        insider = subscribe_to(other_web_process, topic)
        response = studio.client().post(
            f"/api/v1/clips/{clip_id}/comments",
            json={"body": "Lovely wait time here", "t_start": 2},
            headers=studio.headers(),
        )
        assert response.status_code == 201
        heard: LiveEvent | None = insider.get(5)
        assert heard is not None and heard.kind == "comment"
        assert heard.data["body"] == "Lovely wait time here"
        assert outsider.get(1) is None
        insider.close()
        outsider.close()
