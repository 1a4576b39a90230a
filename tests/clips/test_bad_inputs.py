"""A corpus of bad input sent through both upload doors, the multipart API
(POST /partnerships/{pid}/clips) and tus (POST /uploads, then PATCH), with the jobs run
inline. Each one ends in a 4xx whose message is a sentence, or in a clip that is `failed`
with a sentence (or `ready`, when only the name was odd); never a 5xx, never a clip left
`queued` or `processing`; and /healthz still answers 200 afterwards.

Every file is made at test time: ffmpeg lavfi, bytes written by hand, or a lavfi file with
its header patched.
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.media import make_forged_duration_clip
from tests.helpers.tus import metadata_header
from tests.media.samples import FFMPEG
from tests.studio import Studio, make_studio
from videocoach import limits
from videocoach.media import probe
from workers import pipeline

TUS = {"Tus-Resumable": "1.0.0"}
OFFSET_TYPE = "application/offset+octet-stream"
# A sentence: starts with a capital letter, ends with a period.
SENTENCE = re.compile(r"^[A-Z].*\.$", re.DOTALL)
WAITING = {"queued", "processing"}
LONG_TITLE = "T" * 10_000
# A killed transcode fails the clip in about this long, not in the real limit's minutes.
# ten_minutes.mkv takes several seconds to transcode even alone, far past this limit.
TEST_TIME_LIMIT_S = 0.5


def _ffmpeg(*args: str | Path) -> None:
    subprocess.run(
        [FFMPEG, "-nostdin", "-y", "-hide_banner", "-loglevel", "error", *map(str, args)],
        check=True,
        capture_output=True,
    )


def _mkv_claiming(source: Path, target: Path, side: int) -> Path:
    """A copy of a 256x256 rawvideo Matroska file whose header claims side x side pixels
    (PixelWidth 0xB0 and PixelHeight 0xBA, two-byte values): the frames stay 256x256."""
    data = bytearray(source.read_bytes())
    for element in (b"\xb0\x82\x01\x00", b"\xba\x82\x01\x00"):
        at = data.index(element)
        data[at + 2 : at + 4] = side.to_bytes(2, "big")
    target.write_bytes(bytes(data))
    return target


@pytest.fixture(scope="session")
def corpus(media_samples: dict[str, Path], tmp_path_factory: pytest.TempPathFactory):
    """The media samples' bad files plus the ones only this corpus needs."""
    folder = tmp_path_factory.mktemp("bad-inputs")
    files = dict(media_samples)
    files["tiny.mp4"] = folder / "tiny.mp4"  # a good clip, for the odd names and titles
    _ffmpeg(
        *("-f", "lavfi", "-i", "testsrc2=size=160x120:rate=10:duration=1"),
        *("-f", "lavfi", "-i", "sine=duration=1"),
        *("-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac"),
        files["tiny.mp4"],
    )
    files["page.html"] = folder / "page.html"
    files["page.html"].write_text(
        "<!doctype html><html><head><title>Lesson</title></head>"
        "<body><video src='lesson.mp4'></video></body></html>\n" * 40
    )
    raw = folder / "raw256.mkv"
    _ffmpeg(
        *("-f", "lavfi", "-i", "testsrc2=size=256x256:rate=10:duration=0.5"),
        *("-c:v", "rawvideo", "-pix_fmt", "yuv420p"),
        raw,
    )
    files["claims_30000.mkv"] = _mkv_claiming(raw, folder / "claims_30000.mkv", 30_000)
    files["claims_16000.mkv"] = _mkv_claiming(raw, folder / "claims_16000.mkv", 16_000)
    files["no_frames.mp4"] = folder / "no_frames.mp4"  # a video stream with nothing in it
    _ffmpeg(
        *("-f", "lavfi", "-i", "testsrc2=size=64x48:rate=10:duration=1"),
        *("-frames:v", "0", "-c:v", "libx264"),
        files["no_frames.mp4"],
    )
    files["one_frame.mp4"] = folder / "one_frame.mp4"  # zero duration, in effect a photo
    _ffmpeg(
        *("-f", "lavfi", "-i", "testsrc2=size=64x48:rate=10:duration=1"),
        *("-frames:v", "1", "-c:v", "libx264", "-pix_fmt", "yuv420p"),
        files["one_frame.mp4"],
    )
    # Ten minutes at 30 fps in 300 KB: a transcode of several seconds, from a small upload.
    # Matroska, so no fast-path remux runs before the transcode.
    files["ten_minutes.mkv"] = folder / "ten_minutes.mkv"
    _ffmpeg(
        *("-f", "lavfi", "-i", "color=c=gray:size=320x240:rate=30:duration=600"),
        *("-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"),
        files["ten_minutes.mkv"],
    )
    # Two pictures 3 h 53 min apart: hours of worker time before probe said no (issue #11).
    forged = make_forged_duration_clip(FFMPEG, folder / "declares_3h53.mp4")
    files["declares_3h53.mp4"] = forged
    files["declares_3h53.mkv"] = folder / "declares_3h53.mkv"
    _ffmpeg("-i", forged, "-c", "copy", files["declares_3h53.mkv"])
    srt = folder / "cues.srt"
    srt.write_text("1\n00:00:00,200 --> 00:00:00,900\nKeep your elbow high\n", encoding="utf-8")
    files["hostile_captions.mkv"] = folder / "hostile_captions.mkv"
    _ffmpeg(
        *("-f", "lavfi", "-i", "testsrc2=size=160x120:rate=10:duration=1"),
        *("-i", srt, "-map", "0", "-map", "1"),
        *("-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:s", "srt"),
        # A language tag that is a path, and a title longer than the label column.
        *("-metadata:s:s:0", "language=../../" + "x" * 150),
        *("-metadata:s:s:0", "title=" + "Coach " * 60),
        files["hostile_captions.mkv"],
    )
    return files


# --- the two doors ------------------------------------------------------------------------


@dataclass
class Result:
    status: int
    body: dict[str, Any] = field(default_factory=dict)
    clip_id: str | None = None

    @property
    def message(self) -> str:
        return self.body["error"]["message"]


def multipart_body(data: bytes, filename: str, form: dict[str, str]) -> tuple[bytes, str]:
    """A multipart body written by hand, so the file name arrives exactly as given (the
    test client would drop its backslashes)."""
    boundary = "vc-" + secrets.token_hex(8)
    quoted = filename.replace("\\", "\\\\").replace('"', '\\"')
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        for name, value in form.items()
    ]
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{quoted}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    )
    body = "".join(parts).encode() + head.encode() + data + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def via_multipart(studio: Studio, data: bytes, filename: str, **form: str) -> Result:
    body, content_type = multipart_body(data, filename, form)
    response = studio.client().post(
        f"/api/v1/partnerships/{studio.pid}/clips",
        data=body,
        headers={**studio.headers(), "Content-Type": content_type},
    )
    clip_id = response.json["clip"]["id"] if response.status_code == 202 else None
    return Result(response.status_code, response.json or {}, clip_id)


def via_tus(studio: Studio, data: bytes, filename: str, **metadata: str) -> Result:
    client = studio.client()
    created = client.post(
        "/api/v1/uploads",
        headers={
            **TUS,
            **studio.headers(),
            "Upload-Length": str(len(data)),
            "Upload-Metadata": metadata_header(
                partnership_id=studio.pid, filename=filename, **metadata
            ),
        },
    )
    if created.status_code != 201:
        return Result(created.status_code, created.json or {})
    patched = client.patch(
        created.headers["Location"],
        data=data,
        headers={**TUS, **studio.headers(), "Upload-Offset": "0", "Content-Type": OFFSET_TYPE},
    )
    if patched.status_code != 204:
        return Result(patched.status_code, patched.json or {})
    return Result(204, {}, patched.headers["Videocoach-Clip-Id"])


DOORS: dict[str, Callable[..., Result]] = {"multipart": via_multipart, "tus": via_tus}


# --- what every outcome must be -------------------------------------------------------------


def assert_nothing_broke(studio: Studio) -> None:
    assert studio.client().get("/healthz").status_code == 200
    clips = studio.get(f"/api/v1/partnerships/{studio.pid}/clips").json["items"]
    assert not [clip for clip in clips if clip["status"] in WAITING], clips


def refused(result: Result, status: int, phrase: str) -> None:
    assert result.status == status, (result.status, result.body)
    assert SENTENCE.match(result.message), result.message
    assert phrase in result.message


def failed(studio: Studio, result: Result, phrase: str) -> dict[str, Any]:
    assert result.clip_id is not None, (result.status, result.body)
    clip = studio.clip(result.clip_id)
    assert clip["status"] == "failed", clip
    assert SENTENCE.match(clip["error"]), clip["error"]
    assert phrase in clip["error"]
    return clip


def ready(studio: Studio, result: Result) -> dict[str, Any]:
    assert result.clip_id is not None, (result.status, result.body)
    clip = studio.clip(result.clip_id)
    assert clip["status"] == "ready", clip
    return clip


# --- files that are not a usable video --------------------------------------------------------

NOT_VIDEOS = {
    # sample: (name it is uploaded under, what the failed clip says)
    "text.mp4": ("minutes.mp4", probe.NOT_A_VIDEO),
    "truncated.mp4": ("lesson.mp4", "This file seems to be cut off"),
    "image.png": ("lesson.mp4", probe.PHOTO),
    "audio_only.m4a": ("lesson.m4a", probe.AUDIO_ONLY),
    "random.bin": ("lesson.mp4", probe.NOT_A_VIDEO),
    "page.html": ("lesson.mp4", probe.NOT_A_VIDEO),
    # 30000 x 30000 is past what ffmpeg will allocate: it reads the size as 0 x 0.
    "claims_30000.mkv": ("lesson.mkv", probe.NOT_A_VIDEO),
    "claims_16000.mkv": ("lesson.mkv", "16000 x 16000 pixels"),
    "no_frames.mp4": ("lesson.mp4", probe.NOT_A_VIDEO),
    "one_frame.mp4": ("lesson.mp4", probe.PHOTO),
    "declares_3h53.mp4": ("lesson.mp4", "says it lasts 3 hours 53 minutes but holds only 2"),
    "declares_3h53.mkv": ("lesson.mkv", "says it lasts 3 hours 53 minutes but holds only 2"),
}


@pytest.mark.parametrize("door", DOORS)
@pytest.mark.parametrize("sample", NOT_VIDEOS)
def test_a_file_that_is_not_a_usable_video_fails_with_a_sentence(studio, corpus, door, sample):
    filename, phrase = NOT_VIDEOS[sample]
    result = DOORS[door](studio, corpus[sample].read_bytes(), filename)
    clip = failed(studio, result, phrase)
    assert clip["can_retry"] is False  # the file is the problem: trying again cannot help
    assert_nothing_broke(studio)


@pytest.mark.parametrize("door", DOORS)
def test_an_empty_file_is_refused_or_fails_with_a_sentence(studio, corpus, door):
    result = DOORS[door](studio, b"", "lesson.mp4")
    if door == "tus":  # Upload-Length 0 is refused before anything is staged
        refused(result, 422, "This file is empty.")
    else:
        failed(studio, result, probe.EMPTY_FILE)
    assert_nothing_broke(studio)


@pytest.mark.parametrize("door", DOORS)
def test_a_transcode_past_its_time_limit_is_stopped_and_the_clip_fails(
    studio, corpus, door, monkeypatch
):
    real_limit = pipeline.ffmpeg_time_limit
    monkeypatch.setattr(
        pipeline,
        "ffmpeg_time_limit",
        lambda facts, speed: TEST_TIME_LIMIT_S if speed < 1 else real_limit(facts, speed),
    )
    started = time.monotonic()
    result = DOORS[door](studio, corpus["ten_minutes.mkv"].read_bytes(), "ten_minutes.mkv")
    clip = failed(studio, result, "We could not convert this video.")
    assert clip["can_retry"] is True
    assert time.monotonic() - started < 30  # stopped at the limit, not run to the end
    assert_nothing_broke(studio)


@pytest.mark.parametrize("door", DOORS)
def test_caption_tracks_with_a_path_for_a_language_and_a_huge_title_still_work(
    studio, corpus, door
):
    result = DOORS[door](studio, corpus["hostile_captions.mkv"].read_bytes(), "captions.mkv")
    clip = ready(studio, result)
    [track] = clip["captions"]
    assert track["language"] is None  # not a language tag: not believed
    assert track["url"].endswith("/media/captions/0-und.vtt")
    assert track["label"].startswith("Coach Coach")
    assert len(track["label"]) <= probe.CAPTION_TITLE_MAX
    assert studio.get(track["url"]).get_data(as_text=True).startswith("WEBVTT")
    assert_nothing_broke(studio)


# --- odd names and titles on a good file -------------------------------------------------------

ODD_NAMES = {
    # as sent: as stored
    "les\x00son\x01\x1b[31m\x7f.mp4": "lesson[31m.mp4",
    "lesson\u202e4pm.mp4": "lesson4pm.mp4",  # a right-to-left override: shown reversed
    "../../etc/passwd.mp4": "passwd.mp4",
    "C:\\Users\\ana\\Videos\\lesson.mp4": "lesson.mp4",
    "..\\..\\..": limits.FILENAME_FALLBACK,
    "\x00\x01\x02": limits.FILENAME_FALLBACK,
    "n" * 300 + ".mp4": "n" * (limits.FILENAME_MAX - 4) + ".mp4",
}


@pytest.mark.parametrize("door", DOORS)
@pytest.mark.parametrize("sent", ODD_NAMES, ids=lambda name: repr(name)[1:20])
def test_file_names_lose_folders_and_control_characters_and_fit(studio, corpus, door, sent):
    clip = ready(studio, DOORS[door](studio, corpus["tiny.mp4"].read_bytes(), sent))
    assert clip["original_filename"] == ODD_NAMES[sent]
    assert 0 < len(clip["title"]) <= limits.TITLE_MAX
    assert_nothing_broke(studio)


@pytest.mark.parametrize("door", DOORS)
def test_a_ten_thousand_character_title_is_refused_with_the_limit(studio, corpus, door):
    result = DOORS[door](studio, corpus["tiny.mp4"].read_bytes(), "a.mp4", title=LONG_TITLE)
    refused(result, 422, "at most 200 characters")
    assert result.body["error"]["fields"]["title"] == "Use at most 200 characters."
    assert_nothing_broke(studio)
    assert studio.get(f"/api/v1/partnerships/{studio.pid}/clips").json["items"] == []


@pytest.mark.parametrize("door", DOORS)
def test_control_characters_in_a_title_are_removed(studio, corpus, door):
    sent = "\u202eWeek\x00 3\tscience\r\n\x1b"
    result = DOORS[door](studio, corpus["tiny.mp4"].read_bytes(), "a.mp4", title=sent)
    assert ready(studio, result)["title"] == "Week 3 science"
    assert_nothing_broke(studio)


# --- too large ---------------------------------------------------------------------------------

LIMIT_BYTES = 100_000


@pytest.fixture
def small_studio(make_app, make_user) -> Studio:
    return make_studio(
        make_app(VIDEOCOACH_MAX_UPLOAD_BYTES=str(LIMIT_BYTES), VIDEOCOACH_TASKS_EAGER="1"),
        make_user,
    )


@pytest.mark.parametrize("door", DOORS)
def test_one_byte_over_the_size_limit_is_413_with_the_limit_and_leaves_nothing(small_studio, door):
    result = DOORS[door](small_studio, os.urandom(LIMIT_BYTES + 1), "big.mp4")
    refused(result, 413, "97.7 KB limit")
    data_dir = small_studio.app.extensions["videocoach.settings"].data_dir
    assert [path for path in data_dir.glob("incoming/*")] == []
    assert_nothing_broke(small_studio)
    assert small_studio.get(f"/api/v1/partnerships/{small_studio.pid}/clips").json["items"] == []


@pytest.mark.parametrize("door", DOORS)
def test_exactly_the_size_limit_is_taken(small_studio, door):
    result = DOORS[door](small_studio, os.urandom(LIMIT_BYTES), "noise.mp4")
    failed(small_studio, result, probe.NOT_A_VIDEO)
    assert_nothing_broke(small_studio)


# --- broken requests, door by door ------------------------------------------------------------


def tus_upload(studio: Studio, length: int = 10) -> str:
    created = studio.client().post(
        "/api/v1/uploads",
        headers={
            **TUS,
            **studio.headers(),
            "Upload-Length": str(length),
            "Upload-Metadata": metadata_header(partnership_id=studio.pid, filename="a.mp4"),
        },
    )
    assert created.status_code == 201, created.json
    return created.headers["Location"]


def tus_patch(studio: Studio, url: str, body: bytes, offset: str = "0", **headers: str):
    response = studio.client().patch(
        url,
        data=body,
        headers={
            **TUS,
            **studio.headers(),
            "Upload-Offset": offset,
            "Content-Type": OFFSET_TYPE,
            **headers,
        },
    )
    return Result(response.status_code, response.json or {})


def test_tus_patch_at_the_wrong_offset_is_409(studio):
    url = tus_upload(studio)
    refused(tus_patch(studio, url, b"12345", offset="5"), 409, "does not match")
    assert_nothing_broke(studio)


@pytest.mark.parametrize("offset", ["", "-1", "\u00b2", "5.0"])
def test_tus_patch_with_an_offset_that_is_not_a_whole_number_is_422(studio, offset):
    url = tus_upload(studio)
    refused(tus_patch(studio, url, b"12345", offset=offset), 422, "Upload-Offset")
    assert_nothing_broke(studio)


def test_tus_patch_past_upload_length_is_413(studio):
    url = tus_upload(studio, length=10)
    refused(tus_patch(studio, url, b"x" * 11), 413, "More bytes arrived than Upload-Length")
    assert_nothing_broke(studio)


def test_tus_patch_with_the_wrong_content_type_is_415(studio):
    url = tus_upload(studio)
    result = tus_patch(studio, url, b"x" * 10, **{"Content-Type": "video/mp4"})
    refused(result, 415, OFFSET_TYPE)
    assert_nothing_broke(studio)


@pytest.mark.parametrize(
    "metadata",
    [
        "partnership_id !!!not-base64!!!",
        "filename /w==",  # base64, but not of UTF-8 text
        "filename " + "A" * 7,  # base64 with its padding cut off
    ],
)
def test_tus_metadata_that_is_not_base64_text_is_422(studio, metadata):
    response = studio.client().post(
        "/api/v1/uploads",
        headers={**TUS, **studio.headers(), "Upload-Length": "10", "Upload-Metadata": metadata},
    )
    refused(Result(response.status_code, response.json), 422, "not valid base64")
    assert_nothing_broke(studio)


@pytest.mark.parametrize("length", ["", "-1", "ten", "1e3", "0x10", "\u00b2"])
def test_tus_upload_length_that_is_not_a_whole_number_is_422(studio, length):
    response = studio.client().post(
        "/api/v1/uploads",
        headers={
            **TUS,
            **studio.headers(),
            "Upload-Length": length,
            "Upload-Metadata": metadata_header(partnership_id=studio.pid),
        },
    )
    refused(Result(response.status_code, response.json), 422, "Upload-Length")
    assert_nothing_broke(studio)


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        # the body stops in the middle of the file part: no closing boundary
        (
            b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.mp4"\r\n\r\n'
            + os.urandom(4000),
            "multipart/form-data; boundary=b",
        ),
        (b"--b\r\nno headers at all", "multipart/form-data; boundary=b"),
        (b"a body without any boundary", "multipart/form-data"),
    ],
    ids=["cut-off", "no-part-headers", "no-boundary"],
)
def test_a_broken_multipart_body_is_422_and_leaves_nothing(studio, body, content_type):
    response = studio.client().post(
        f"/api/v1/partnerships/{studio.pid}/clips",
        data=body,
        headers={**studio.headers(), "Content-Type": content_type},
    )
    refused(Result(response.status_code, response.json), 422, "multipart/form-data")
    data_dir = studio.app.extensions["videocoach.settings"].data_dir
    assert [path for path in data_dir.glob("incoming/*")] == []
    assert_nothing_broke(studio)


def test_multipart_that_is_not_multipart_is_415(studio, corpus):
    response = studio.client().post(
        f"/api/v1/partnerships/{studio.pid}/clips",
        data=corpus["tiny.mp4"].read_bytes(),
        headers={**studio.headers(), "Content-Type": "video/mp4"},
    )
    refused(Result(response.status_code, response.json), 415, "multipart/form-data")
    assert_nothing_broke(studio)
