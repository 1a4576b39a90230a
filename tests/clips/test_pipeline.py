"""Uploads of every input format go through the real pipeline (jobs inline) to `ready`;
bad files end `failed` with a plain sentence and break nothing else."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from tests.conftest import sign_in_as
from tests.media.samples import GOOD_SAMPLES, top_level_atoms
from videocoach.media.probe import probe

GOOD = list(GOOD_SAMPLES)
# Remuxed in seconds (browser-safe H.264 + AAC) versus transcoded first.
FAST_PATH = {"h264_aac.mp4", "h264_rotated.mp4"}
BAD = {
    "empty.mp4": "This file is empty. Try uploading it again.",
    "text.mp4": "This file is not a video we can read.",
    "random.bin": "This file is not a video we can read.",
    "truncated.mp4": "This file seems to be cut off",
    "image.png": "This looks like a photo, not a video.",
    "audio_only.m4a": "This file has sound but no picture.",
}


def fetch_to(studio, url: str, path: Path) -> Path:
    response = studio.get(url)
    assert response.status_code == 200, (url, response.status_code)
    path.write_bytes(response.data)
    return path


@pytest.mark.parametrize("name", GOOD)
def test_every_supported_format_becomes_ready_and_web_playable(
    studio, media_samples, tmp_path, name
):
    source = probe(media_samples[name])
    response = studio.upload(media_samples[name], title=f"Sample {name}", visibility="shared")
    assert response.status_code == 202
    clip = studio.clip(response.json["clip"]["id"])
    assert clip["status"] == "ready", clip["error"]
    assert clip["progress"] == 1.0 and clip["error"] is None
    assert clip["duration_s"] == pytest.approx(source.duration_s, abs=0.1)
    assert all(clip["media"].values()), clip["media"]

    web = fetch_to(studio, clip["media"]["video"], tmp_path / "web.mp4")
    facts = probe(web)
    assert (facts.video_codec, facts.video_profile, facts.pix_fmt) == ("h264", "High", "yuv420p")
    assert facts.has_audio == source.has_audio
    assert facts.audio_codec in (None, "aac")
    assert facts.rotation == 0
    assert (facts.width > facts.height) == (source.display_width > source.display_height)
    assert (clip["width"], clip["height"]) == (source.display_width, source.display_height)
    assert facts.duration_s == pytest.approx(source.duration_s, abs=0.25)
    atoms = top_level_atoms(web)
    assert atoms.index("moov") < atoms.index("mdat")  # faststart: plays before it has all arrived

    vtt = studio.get(clip["media"]["storyboard"]).get_data(as_text=True)
    assert vtt.startswith("WEBVTT")
    cues = [line for line in vtt.splitlines() if "-->" in line]
    assert cues[0].startswith("00:00:00.000")
    last_end = cues[-1].split("-->")[1].strip()
    h, m, s = last_end.split(":")
    assert int(h) * 3600 + int(m) * 60 + float(s) == pytest.approx(clip["duration_s"], abs=0.002)
    sprite = vtt.split("#xywh=")[0].splitlines()[-1]
    assert (
        studio.get(f"{clip['media']['storyboard'].rsplit('/', 1)[0]}/{sprite}").status_code == 200
    )

    poster = studio.get(clip["media"]["poster"])
    assert poster.status_code == 200 and poster.data[:2] == b"\xff\xd8"  # a JPEG
    peaks = studio.get(clip["media"]["waveform"]).json
    assert peaks["length"] == math.ceil(clip["duration_s"] * 10) == len(peaks["data"])
    assert peaks["has_audio"] == source.has_audio
    assert any(peaks["data"]) == source.has_audio


@pytest.mark.parametrize("name", sorted(FAST_PATH | {"h264_444.mp4", "h264_10bit.mp4"}))
def test_only_browser_safe_h264_takes_the_fast_path(studio, media_samples, name):
    clip_id = studio.upload(media_samples[name]).json["clip"]["id"]
    with studio.app.app_context():
        from videocoach import db
        from videocoach.clips.models import Clip

        clip = db.session.get(Clip, clip_id)
        kinds = {asset.kind for asset in clip.assets}
        # Playable before the transcode finished: the quick remux ran (and is gone since).
        assert (clip.playable_at < clip.ready_at) == (name in FAST_PATH)
        assert clip.playable_at <= clip.ready_at
    assert "playable" not in kinds and "web" in kinds


@pytest.mark.parametrize(("name", "sentence"), sorted(BAD.items()))
def test_bad_files_fail_with_a_plain_sentence_and_keep_the_original(
    studio, media_samples, name, sentence
):
    response = studio.upload(media_samples[name])
    assert response.status_code == 202
    clip = studio.clip(response.json["clip"]["id"])
    assert clip["status"] == "failed"
    assert clip["error"].startswith(sentence)
    assert clip["media"] == {"video": None, "poster": None, "storyboard": None, "waveform": None}
    key = f"clips/{clip['id']}/original"
    assert studio.storage().exists(key)  # kept for diagnosis until the uploader deletes it
    assert studio.storage().size(key) == media_samples[name].stat().st_size


def test_trying_again_is_refused_when_the_file_itself_is_the_problem(studio, media_samples):
    clip_id = studio.upload(media_samples["text.mp4"], visibility="shared").json["clip"]["id"]
    assert studio.clip(clip_id)["can_retry"] is False
    client = studio.client()
    other = client.post(f"/api/v1/clips/{clip_id}/retry", headers=studio.headers("coach"))
    assert other.status_code == 403
    again = client.post(f"/api/v1/clips/{clip_id}/retry", headers=studio.headers())
    assert again.status_code == 422
    assert again.json["error"]["code"] == "retry_cannot_help"
    assert "Upload another recording" in again.json["error"]["message"]
    clip = studio.clip(clip_id)
    assert clip["status"] == "failed" and clip["error"] == BAD["text.mp4"]


def test_retrying_a_ready_clip_is_refused(studio, media_samples):
    clip_id = studio.upload(media_samples["h264_aac.mp4"]).json["clip"]["id"]
    response = studio.client().post(f"/api/v1/clips/{clip_id}/retry", headers=studio.headers())
    assert response.status_code == 422


def test_a_bad_file_does_not_disturb_the_next_upload(studio, media_samples):
    studio.upload(media_samples["random.bin"])
    clip_id = studio.upload(media_samples["h264_aac.mp4"]).json["clip"]["id"]
    assert studio.clip(clip_id)["status"] == "ready"


def test_text_subtitles_become_caption_tracks(studio, tmp_path):
    from tests.media.samples import (
        ENGLISH_CUES,
        SPANISH_CUES,
        SPANISH_TITLE,
        make_captioned_samples,
    )

    samples = make_captioned_samples(tmp_path / "captioned")
    clip_id = studio.upload(samples["captioned_two.mkv"], visibility="shared").json["clip"]["id"]
    clip = studio.clip(clip_id, "coach")
    assert clip["status"] == "ready", clip["error"]
    assert [(t["language"], t["label"]) for t in clip["captions"]] == [
        ("eng", "English"),
        ("spa", SPANISH_TITLE),  # the track's own title survives to the player
    ]
    english = studio.get(clip["captions"][0]["url"], "coach")
    assert english.status_code == 200 and english.mimetype == "text/vtt"
    text = english.get_data(as_text=True)
    assert text.startswith("WEBVTT") and ENGLISH_CUES[0] in text and SPANISH_CUES[0] not in text
    assert studio.get(clip["captions"][0]["url"], "outsider").status_code == 404
    page_client = studio.app.test_client()
    sign_in_as(page_client, studio.coach_id)
    html = page_client.get(f"/clips/{clip_id}").get_data(as_text=True)
    assert '<track kind="captions"' in html and 'label="English"' in html
    assert f'label="{SPANISH_TITLE}"' in html


def test_clips_without_subtitles_have_no_caption_tracks(studio, media_samples):
    clip_id = studio.upload(media_samples["h264_aac.mp4"]).json["clip"]["id"]
    assert studio.clip(clip_id)["captions"] == []
