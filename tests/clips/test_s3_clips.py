"""The whole clip flow on S3 storage (a real S3-compatible server): presigned delivery,
Range on the presigned URL, the CSP allowing the bucket's host, deletion of every object."""

from __future__ import annotations

import secrets
import urllib.request

import boto3
import pytest

from tests.conftest import BUCKET
from tests.studio import make_studio


@pytest.fixture
def s3_studio(make_app, make_user, s3_endpoint):
    prefix = f"clips-test/{secrets.token_hex(4)}"
    app = make_app(
        VIDEOCOACH_TASKS_EAGER="1",
        VIDEOCOACH_STORAGE=f"s3://{BUCKET}/{prefix}",
        S3_ENDPOINT_URL=s3_endpoint,
    )
    studio = make_studio(app, make_user)
    studio.prefix = prefix
    studio.endpoint = s3_endpoint
    return studio


def bucket_keys(endpoint: str, prefix: str) -> list[str]:
    listed = boto3.client("s3", endpoint_url=endpoint).list_objects_v2(Bucket=BUCKET, Prefix=prefix)
    return [item["Key"] for item in listed.get("Contents", [])]


def test_clip_on_s3_is_delivered_by_short_lived_presigned_urls(s3_studio, media_samples):
    studio = s3_studio
    clip_id = studio.upload(media_samples["h264_aac.mp4"], visibility="shared").json["clip"]["id"]
    clip = studio.clip(clip_id)
    assert clip["status"] == "ready", clip["error"]
    keys = bucket_keys(studio.endpoint, studio.prefix)
    assert f"{studio.prefix}/clips/{clip_id}/original" in keys
    assert all(key.startswith(f"{studio.prefix}/clips/{clip_id}/") for key in keys)

    redirect = studio.get(clip["media"]["video"], "coach")
    assert redirect.status_code == 302
    assert redirect.headers["Cache-Control"] == "private, no-store"
    presigned = redirect.headers["Location"]
    assert presigned.startswith(studio.endpoint) and "Signature" in presigned
    ranged = urllib.request.Request(presigned, headers={"Range": "bytes=0-99"})
    with urllib.request.urlopen(ranged, timeout=10) as answer:
        assert answer.status == 206
        head = answer.read()
        assert answer.headers["Content-Type"] == "video/mp4"
        assert answer.headers["Cache-Control"].startswith("private")
    with urllib.request.urlopen(presigned, timeout=10) as whole:
        assert whole.read()[:100] == head

    # The VTT and the waveform come through the app (same origin: no bucket CORS needed).
    vtt = studio.get(clip["media"]["storyboard"], "coach")
    assert vtt.status_code == 200 and vtt.get_data(as_text=True).startswith("WEBVTT")
    assert studio.get(clip["media"]["waveform"], "coach").status_code == 200
    assert studio.get(clip["media"]["video"], "outsider").status_code == 404

    csp = studio.client().get("/login").headers["Content-Security-Policy"]
    assert f"media-src 'self' blob: {studio.endpoint}" in csp
    assert f"img-src 'self' blob: {studio.endpoint}" in csp


def test_deleting_a_clip_on_s3_deletes_every_object(s3_studio, media_samples):
    studio = s3_studio
    clip_id = studio.upload(media_samples["h264_aac.mp4"]).json["clip"]["id"]
    assert len(bucket_keys(studio.endpoint, f"{studio.prefix}/clips/{clip_id}/")) > 5
    response = studio.client().delete(f"/api/v1/clips/{clip_id}", headers=studio.headers())
    assert response.status_code == 204
    assert bucket_keys(studio.endpoint, f"{studio.prefix}/clips/{clip_id}/") == []


def test_on_s3_a_partner_is_never_signed_a_link_to_the_unredacted_video(s3_studio, media_samples):
    """Issue 14: the presigned link a partner is redirected to points at the redacted
    render's own object; unredacted files and, while a render is pending, every file
    answer 404 without a redirect."""
    studio = s3_studio
    clip_id = studio.upload(media_samples["h264_aac.mp4"], visibility="shared").json["clip"]["id"]
    video = f"/api/v1/clips/{clip_id}/media/video.mp4"
    unredacted_link = studio.get(video, "coach").headers["Location"]
    answer = studio.client().put(
        f"/api/v1/clips/{clip_id}/redaction", json={"trim": [0.5, 1.5]}, headers=studio.headers()
    )
    assert answer.status_code == 202 and answer.json["status"] == "pending"
    assert studio.clip(clip_id)["redaction_status"] == "ready"  # rendered inline (eager)

    shared_link = studio.get(video, "coach").headers["Location"]
    assert f"/clips/{clip_id}/redacted-1/web.mp4" in shared_link
    assert shared_link.split("?")[0] != unredacted_link.split("?")[0]
    for name in ("unredacted/video.mp4", "unredacted/poster.jpg", "original"):
        refused = studio.get(f"/api/v1/clips/{clip_id}/media/{name}", "coach")
        assert refused.status_code == 404 and "Location" not in refused.headers, name
    assert studio.get(f"/api/v1/clips/{clip_id}/media/unredacted/video.mp4").status_code == 302
