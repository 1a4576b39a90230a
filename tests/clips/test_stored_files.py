"""What a ready clip keeps in storage is exactly files.READY_FILES, on local files and on S3:
no second copy of the video (the fast path's quick remux goes once the web rendition is
recorded), every object owned by a ClipAsset row, and docs/configuration.md lists the same
names. Try again and requeue still bring such a clip to ready."""

from __future__ import annotations

import re
import secrets
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.conftest import BUCKET
from tests.media.samples import make_captioned_samples
from tests.studio import Studio, make_studio
from videocoach import db
from videocoach.clips import files
from videocoach.clips.models import Clip, ClipAsset
from videocoach.db import utcnow
from videocoach.media.probe import can_remux_for_web, probe
from videocoach.operations.requeue import requeue
from workers import pipeline

DOCS = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"


@pytest.fixture(scope="module")
def phone_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """H.264 + AAC with a text subtitle track: the fast path, and every kind of file."""
    sample = make_captioned_samples(tmp_path_factory.mktemp("captioned"))["captioned.mp4"]
    assert can_remux_for_web(probe(sample))  # else it would not show the quick remux
    return sample


@pytest.fixture(params=["local", "s3"])
def any_studio(request: pytest.FixtureRequest, make_app, make_user) -> Studio:
    settings = {"VIDEOCOACH_TASKS_EAGER": "1"}
    if request.param == "s3":
        settings["VIDEOCOACH_STORAGE"] = f"s3://{BUCKET}/ready-{secrets.token_hex(4)}"
        settings["S3_ENDPOINT_URL"] = request.getfixturevalue("s3_endpoint")
    return make_studio(make_app(**settings), make_user)


def stored_names(studio: Studio, clip_id: str) -> list[str]:
    """The names of the clip's objects, from the storage's own listing."""
    prefix = files.clip_prefix(clip_id)
    return sorted(item.key.removeprefix(prefix) for item in studio.storage().list_objects(prefix))


def recorded_names(studio: Studio, clip_id: str) -> list[str]:
    with studio.app.app_context():
        return sorted(
            db.session.scalars(select(ClipAsset.name).where(ClipAsset.clip_id == clip_id))
        )


def assert_stores_exactly_the_ready_files(studio: Studio, clip_id: str) -> None:
    names = stored_names(studio, clip_id)
    unexpected = [name for name in names if not any(f.matches(name) for f in files.READY_FILES)]
    assert unexpected == []
    missing = [f.pattern for f in files.READY_FILES if not any(f.matches(n) for n in names)]
    assert missing == []  # the sample has captions, so even the optional kind is there
    assert recorded_names(studio, clip_id) == names  # no row points at a deleted object


def test_a_ready_phone_clip_stores_exactly_the_ready_files(any_studio, phone_clip):
    studio = any_studio
    clip_id = studio.upload(phone_clip, visibility="shared").json["clip"]["id"]
    clip = studio.clip(clip_id, "coach")
    assert clip["status"] == "ready", clip["error"]
    assert files.PLAYABLE not in stored_names(studio, clip_id)
    assert_stores_exactly_the_ready_files(studio, clip_id)
    video = studio.get(clip["media"]["video"], "coach")
    assert video.status_code in (200, 302)  # local files, or a presigned S3 redirect


def test_ready_files_match_their_names_and_nothing_else():
    assert files.ReadyFile("storyboard/NNN.jpg", always=True).matches("storyboard/007.jpg")
    assert not files.ReadyFile("storyboard/NNN.jpg", always=True).matches("storyboard/7.jpg")
    captions = files.ReadyFile("captions/<track>-<language>.vtt", always=False)
    assert captions.matches(files.caption_name(1, "pt-BR"))
    assert captions.matches(files.caption_name(0, None))
    assert not captions.matches("captions/x-eng.vtt")
    assert not any(f.matches(files.PLAYABLE) for f in files.READY_FILES)


def documented_objects() -> str:
    text = DOCS.read_text(encoding="utf-8")
    section = text.split("## What a clip stores", 1)
    assert len(section) == 2, "docs/configuration.md has no section 'What a clip stores'"
    return section[1].split("\n## ", 1)[0]


def test_the_configuration_docs_list_every_object_a_clip_stores():
    section = documented_objects()
    listed = re.findall(r"^\| `([^`]+)` \|", section, flags=re.MULTILINE)
    assert sorted(listed) == sorted([f.pattern for f in files.READY_FILES] + [files.PLAYABLE])


def test_try_again_after_a_failed_transcode_ends_with_only_the_ready_files(
    app, make_user, phone_clip
):
    """The quick remux plays while the clip is failed; the retry replaces it with the web
    rendition and removes it."""
    studio = make_studio(app, make_user)  # jobs wait: this test runs them
    clip_id = studio.upload(phone_clip).json["clip"]["id"]
    media_root = app.extensions["videocoach.settings"].data_dir / "media"
    obstruction = media_root / files.key(clip_id, files.WEB)  # the storage refuses web.mp4
    obstruction.mkdir(parents=True)
    (obstruction / "in-the-way").write_text("x")
    with app.app_context():
        assert pipeline.process_clip(clip_id)
    clip = studio.clip(clip_id)
    assert clip["status"] == "failed", clip
    assert files.PLAYABLE in stored_names(studio, clip_id)
    assert studio.get(clip["media"]["video"]).status_code == 200  # the quick remux

    (obstruction / "in-the-way").unlink()
    obstruction.rmdir()
    retry = studio.client().post(f"/api/v1/clips/{clip_id}/retry", headers=studio.headers())
    assert retry.status_code == 202
    with app.app_context():
        assert pipeline.process_clip(clip_id)
    assert studio.clip(clip_id)["status"] == "ready"
    assert_stores_exactly_the_ready_files(studio, clip_id)


def test_requeue_of_a_clip_whose_quick_remux_is_gone_brings_it_to_ready(studio, phone_clip):
    """A worker that died after the web rendition replaced the quick remux, until the clip
    gave up: the operator's requeue finishes it from what is stored."""
    clip_id = studio.upload(phone_clip).json["clip"]["id"]
    assert studio.clip(clip_id)["status"] == "ready"
    with studio.app.app_context():
        clip = db.session.get(Clip, clip_id)
        clip.status, clip.job_token, clip.attempts = "processing", "dead", 3
        clip.heartbeat_at = utcnow() - timedelta(hours=1)
        db.session.commit()
        assert pipeline.process_clip(clip_id)  # out of attempts: it fails
    assert studio.clip(clip_id)["status"] == "failed"

    with studio.app.app_context():
        assert requeue(clip_id).attempts_reset  # the job runs inline once it commits
    clip = studio.clip(clip_id)
    assert clip["status"] == "ready", clip["error"]
    assert studio.get(clip["media"]["video"]).status_code == 200
    assert_stores_exactly_the_ready_files(studio, clip_id)
