"""Clip API: privacy, uploader-only changes, deletion of every object, Range delivery, limits."""

from __future__ import annotations

import io
import os

import pytest


@pytest.fixture
def ready_clip(studio, media_samples):
    response = studio.upload(media_samples["h264_aac.mp4"], title="Fractions", visibility="shared")
    clip = studio.clip(response.json["clip"]["id"])
    assert clip["status"] == "ready"
    return clip


def test_upload_returns_202_with_the_clip_shape(studio, media_samples):
    response = studio.upload(
        media_samples["h264_aac.mp4"], title="  Period 3  ", recorded_on="2026-10-01"
    )
    assert response.status_code == 202
    clip = response.json["clip"]
    expected = {
        "id",
        "partnership_id",
        "title",
        "visibility",
        "uploaded_by",
        "created_at",
        "status",
        "progress",
        "error",
        "duration_s",
        "width",
        "height",
        "media",
    }
    assert expected <= set(clip)
    assert clip["title"] == "Period 3"
    assert clip["visibility"] == "private"  # the default: nothing is shared until chosen
    assert clip["uploaded_by"] == studio.teacher_id
    assert clip["partnership_id"] == studio.pid
    assert set(clip["media"]) == {"video", "poster", "storyboard", "waveform"}
    assert studio.clip(clip["id"])["recorded_on"] == "2026-10-01"


def test_title_defaults_to_the_file_name(studio, media_samples):
    clip = studio.upload(media_samples["h264_aac.mp4"]).json["clip"]
    assert clip["title"] == "h264_aac"


def test_private_clip_is_visible_to_its_uploader_only(studio, media_samples):
    clip = studio.upload(media_samples["h264_aac.mp4"]).json["clip"]
    clip = studio.clip(clip["id"])
    for who in ("coach", "outsider"):
        assert studio.get(f"/api/v1/clips/{clip['id']}", who).status_code == 404
        assert studio.get(clip["media"]["video"], who).status_code == 404
        listed = studio.get(f"/api/v1/partnerships/{studio.pid}/clips", who)
        assert listed.status_code == (200 if who == "coach" else 404)
        if who == "coach":
            assert listed.json["items"] == []
    shared = studio.client().patch(
        f"/api/v1/clips/{clip['id']}", json={"visibility": "shared"}, headers=studio.headers()
    )
    assert shared.status_code == 200 and shared.json["clip"]["visibility"] == "shared"
    assert studio.get(clip["media"]["video"], "coach").status_code == 200
    assert studio.get(clip["media"]["video"], "outsider").status_code == 404


def test_only_the_uploader_changes_or_deletes_a_clip(studio, ready_clip):
    client, url = studio.client(), f"/api/v1/clips/{ready_clip['id']}"
    assert (
        client.patch(url, json={"title": "x"}, headers=studio.headers("coach")).status_code == 403
    )
    assert client.delete(url, headers=studio.headers("coach")).status_code == 403
    assert (
        client.patch(url, json={"title": "x"}, headers=studio.headers("outsider")).status_code
        == 404
    )
    renamed = client.patch(url, json={"title": "Fractions, take 2"}, headers=studio.headers())
    assert renamed.json["clip"]["title"] == "Fractions, take 2"
    bad = client.patch(url, json={"visibility": "public"}, headers=studio.headers())
    assert bad.status_code == 422 and "visibility" in bad.json["error"]["fields"]


def test_deleting_a_clip_deletes_every_object_it_owns(studio, ready_clip):
    storage = studio.storage()
    root = storage.local_path(f"clips/{ready_clip['id']}/original").parent
    assert len(list(root.rglob("*"))) > 5  # original, playable, web, poster, storyboard...
    response = studio.client().delete(f"/api/v1/clips/{ready_clip['id']}", headers=studio.headers())
    assert response.status_code == 204
    assert not any(p.is_file() for p in root.rglob("*")) if root.exists() else True
    assert studio.get(ready_clip["media"]["video"]).status_code == 404
    assert studio.get(f"/api/v1/clips/{ready_clip['id']}").status_code == 404


def test_video_honours_range_requests_byte_for_byte(studio, ready_clip):
    whole = studio.get(ready_clip["media"]["video"])
    assert whole.status_code == 200
    data = whole.data
    assert whole.headers["Accept-Ranges"] == "bytes"
    for header, expected in [
        ("bytes=0-99", data[:100]),
        ("bytes=1000-1999", data[1000:2000]),
        (f"bytes={len(data) - 50}-", data[-50:]),
        ("bytes=-64", data[-64:]),
    ]:
        part = studio.get(ready_clip["media"]["video"], Range=header)
        assert part.status_code == 206, header
        assert part.data == expected, header
        assert part.headers["Content-Range"].endswith(f"/{len(data)}")
    beyond = studio.get(ready_clip["media"]["video"], Range=f"bytes={len(data) + 10}-")
    assert beyond.status_code == 416


def test_media_is_private_and_typed(studio, ready_clip):
    expected_types = {
        "video": "video/mp4",
        "poster": "image/jpeg",
        "storyboard": "text/vtt",
        "waveform": "application/json",
    }
    for kind, url in ready_clip["media"].items():
        response = studio.get(url, "coach")
        assert response.status_code == 200
        assert response.mimetype == expected_types[kind]
        assert response.headers["Cache-Control"].startswith("private")
        assert studio.get(url, "outsider").status_code == 404
        assert studio.client().get(url).status_code == 401  # no credentials at all


def test_outsider_upload_is_refused_before_anything_is_stored(studio, media_samples):
    data_dir = studio.app.extensions["videocoach.settings"].data_dir
    before = {p for p in data_dir.rglob("*") if p.is_file()}
    response = studio.upload(media_samples["h264_aac.mp4"], who="outsider")
    assert response.status_code == 404
    after = {p for p in data_dir.rglob("*") if p.is_file()}
    assert after == before


def test_upload_over_the_size_limit_is_413_and_leaves_nothing(make_app, make_user):
    from tests.studio import make_studio

    studio = make_studio(make_app(VIDEOCOACH_MAX_UPLOAD_BYTES="100000"), make_user)
    data_dir = studio.app.extensions["videocoach.settings"].data_dir
    response = studio.client().post(
        f"/api/v1/partnerships/{studio.pid}/clips",
        data={"file": (io.BytesIO(os.urandom(2_000_000)), "big.mp4")},
        headers=studio.headers(),
        content_type="multipart/form-data",
    )
    assert response.status_code == 413
    assert response.json["error"]["code"] == "too_large"
    assert (
        not [p for p in (data_dir / "incoming").glob("*")]
        if (data_dir / "incoming").exists()
        else True
    )
    assert studio.get(f"/api/v1/partnerships/{studio.pid}/clips").json["items"] == []


def test_upload_needs_multipart_and_a_file(studio):
    client = studio.client()
    url = f"/api/v1/partnerships/{studio.pid}/clips"
    as_json = client.post(url, json={"file": "x"}, headers=studio.headers())
    assert as_json.status_code == 415
    no_file = client.post(
        url, data={"title": "x"}, headers=studio.headers(), content_type="multipart/form-data"
    )
    assert no_file.status_code == 422 and "file" in no_file.json["error"]["fields"]


def test_clip_list_shows_shared_and_my_private_clips(studio, media_samples):
    studio.upload(media_samples["h264_aac.mp4"], title="Mine, private")
    studio.upload(media_samples["h264_aac.mp4"], title="Shared one", visibility="shared")
    studio.upload(media_samples["h264_aac.mp4"], who="coach", title="Coach's private")
    titles = lambda who: sorted(  # noqa: E731
        c["title"]
        for c in studio.get(f"/api/v1/partnerships/{studio.pid}/clips", who).json["items"]
    )
    assert titles("teacher") == ["Mine, private", "Shared one"]
    assert titles("coach") == ["Coach's private", "Shared one"]
