"""The redacted rendition: faces blurred (checked by a second, unrelated detector), chosen
areas blurred while chosen, the clip trimmed and muted where asked."""

from __future__ import annotations

import json
import math
import subprocess
from pathlib import Path

import cv2
import dlib
import numpy as np
import pytest

from tests.media.face_footage import FPS, HEIGHT, WIDTH, truth_at
from tests.media.facts import phone_facts
from tests.media.samples import FFMPEG, FFPROBE, GOOD_SAMPLES
from videocoach.media.commands import rendition_size, web_fps, web_video_options
from videocoach.media.probe import probe
from videocoach.media.progress import FfmpegFailed, FfmpegTimeout
from videocoach.media.rawvideo import web_raw_format
from videocoach.media.redaction import (
    BlurRegion,
    InvalidRedaction,
    RedactionReport,
    RedactionSettings,
    encode_args,
    render_redacted,
)

TRIM = (0.4, 4.6)
MUTE = (1.5, 2.5)
REGION = BlurRegion(t_start_s=3.0, t_end_s=3.8, x=0.0, y=0.7, w=0.25, h=0.3)
SETTINGS = RedactionSettings(
    blur_faces=True, regions=(REGION,), trim_start_s=TRIM[0], trim_end_s=TRIM[1], mute=(MUTE,)
)
SKIPPED = round(TRIM[0] * FPS)  # source frames before the rendition's first


def rgb_frames(path: Path) -> np.ndarray:
    result = subprocess.run(
        [FFMPEG, "-loglevel", "error", "-i", path, "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
        capture_output=True,
        check=True,
    )
    return np.frombuffer(result.stdout, np.uint8).reshape(-1, HEIGHT, WIDTH, 3)


def mono_samples(path: Path) -> np.ndarray:
    result = subprocess.run(
        [FFMPEG, "-loglevel", "error", "-i", path, "-ac", "1", "-ar", "48000", "-f", "f32le", "-"],
        capture_output=True,
        check=True,
    )
    return np.frombuffer(result.stdout, np.float32)


def streams(path: Path) -> dict:
    result = subprocess.run(
        [FFPROBE, "-v", "error", "-show_streams", "-show_format", "-of", "json", path],
        capture_output=True,
        check=True,
        text=True,
    )
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def redacted(
    face_footage: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, RedactionReport]:
    dest = tmp_path_factory.mktemp("redacted") / "shared.mp4"
    report = render_redacted(face_footage, dest, SETTINGS, timeout_s=300)
    print(f"\n{report}")
    return dest, report


@pytest.fixture(scope="module")
def frames(
    face_footage: Path, redacted: tuple[Path, RedactionReport]
) -> tuple[np.ndarray, np.ndarray]:
    return rgb_frames(face_footage), rgb_frames(redacted[0])


def dlib_finds_the_face(picture: np.ndarray, frame: int, detector) -> bool:
    """dlib's HOG frontal face detector, looking where the face is: the face's
    surroundings, scaled so the face would be ~130 px high (dlib's best size)."""
    truth = truth_at(frame)
    assert truth is not None
    cx, cy = (truth.x1 + truth.x2) / 2, (truth.y1 + truth.y2) / 2
    side = max(truth.x2 - truth.x1, truth.y2 - truth.y1) * 1.5
    x1, y1 = int(max(0, cx - side)), int(max(0, cy - side))
    x2, y2 = int(min(WIDTH, cx + side)), int(min(HEIGHT, cy + side))
    scale = 130 / truth.height_px
    crop = cv2.resize(picture[y1:y2, x1:x2], None, fx=scale, fy=scale)
    left, right = (truth.x1 - x1) * scale, (truth.x2 - x1) * scale
    # Only a face where the astronaut's is counts (dlib may see one elsewhere, on her suit).
    return any(found.left() < right and found.right() > left for found in detector(crop, 0))


@pytest.mark.slow
def test_an_independent_detector_finds_no_face_in_the_redacted_rendition(
    frames: tuple[np.ndarray, np.ndarray],
) -> None:
    original, shared = frames
    detector = dlib.get_frontal_face_detector()
    sampled = [n for n in range(0, len(shared), 2) if truth_at(n + SKIPPED)]
    in_original = [
        n for n in sampled if dlib_finds_the_face(original[n + SKIPPED], n + SKIPPED, detector)
    ]
    in_shared = [n for n in sampled if dlib_finds_the_face(shared[n], n + SKIPPED, detector)]
    print(
        f"\ndlib HOG finds the face in {len(in_original)} of {len(sampled)} sampled frames of "
        f"the original and {len(in_shared)} of the redacted rendition"
    )
    assert len(in_original) >= 0.8 * len(sampled)  # the check can see a face when there is one
    assert in_shared == []


@pytest.mark.slow
def test_the_rendition_lasts_the_trim(redacted: tuple[Path, RedactionReport]) -> None:
    path, report = redacted
    info = streams(path)
    video = next(s for s in info["streams"] if s["codec_type"] == "video")
    audio = next(s for s in info["streams"] if s["codec_type"] == "audio")
    length = TRIM[1] - TRIM[0]
    assert int(video["nb_frames"]) == report.frames == round(length * FPS)
    assert float(video["duration"]) == pytest.approx(length, abs=1 / FPS)
    assert float(audio["duration"]) == pytest.approx(length, abs=1 / FPS)
    assert float(info["format"]["duration"]) == pytest.approx(length, abs=1 / FPS)
    assert (video["width"], video["height"], video["codec_name"], video["profile"]) == (
        WIDTH,
        HEIGHT,
        "h264",
        "High",
    )


def dbfs(samples: np.ndarray) -> float:
    rms = math.sqrt(float(np.mean(np.square(samples, dtype=np.float64))))
    return 20 * math.log10(max(rms, 1e-12))


@pytest.mark.slow
def test_muted_range_is_silent_and_the_rest_is_not(redacted: tuple[Path, RedactionReport]) -> None:
    samples = mono_samples(redacted[0])
    rate = 48000

    def level(a: float, b: float) -> float:
        # In the rendition's time: the trim moved everything TRIM[0] earlier.
        return dbfs(samples[round((a - TRIM[0]) * rate) : round((b - TRIM[0]) * rate)])

    muted = level(MUTE[0] + 0.05, MUTE[1] - 0.05)
    before, after = level(TRIM[0] + 0.1, MUTE[0] - 0.1), level(MUTE[1] + 0.1, TRIM[1] - 0.1)
    print(f"\nRMS: muted {muted:.1f} dBFS, before {before:.1f} dBFS, after {after:.1f} dBFS")
    assert muted < -60
    assert before > -30 and after > -30


def sharpness(picture: np.ndarray) -> float:
    return float(cv2.Laplacian(cv2.cvtColor(picture, cv2.COLOR_RGB2GRAY), cv2.CV_64F).var())


@pytest.mark.slow
def test_a_chosen_area_is_blurred_while_chosen_and_only_then(
    frames: tuple[np.ndarray, np.ndarray],
) -> None:
    original, shared = frames
    x1, y1 = round(REGION.x * WIDTH), round(REGION.y * HEIGHT)
    x2, y2 = round((REGION.x + REGION.w) * WIDTH), round((REGION.y + REGION.h) * HEIGHT)
    ratios = {}
    for n in range(len(shared)):
        ratios[n] = (sharpness(shared[n][y1:y2, x1:x2]) + 1) / (
            sharpness(original[n + SKIPPED][y1:y2, x1:x2]) + 1
        )
    during = [
        r for n, r in ratios.items() if REGION.t_start_s <= TRIM[0] + n / FPS < REGION.t_end_s
    ]
    outside = [
        r
        for n, r in ratios.items()
        if not REGION.t_start_s - 0.1 <= TRIM[0] + n / FPS < REGION.t_end_s + 0.1
    ]
    assert len(during) == round((REGION.t_end_s - REGION.t_start_s) * FPS)
    assert max(during) < 0.1
    assert min(outside) > 0.5


def test_encoder_uses_the_web_renditions_settings_and_mutes_in_rendition_time() -> None:
    facts = phone_facts(duration_s=60.0, size_bytes=1)
    args = encode_args(
        Path("in.mp4"),
        Path("out.mp4"),
        facts,
        web_raw_format(facts),
        start_s=10.0,
        end_s=40.0,
        mute=((5.0, 12.5), (20.0, 21.0), (39.0, 50.0), (45.0, 50.0)),
    )
    for key, value in web_video_options(facts).items():
        assert args[args.index(f"-{key}") + 1] == str(value)
    assert args[args.index("-ss") + 1] == "10.000"
    assert args[args.index("-t") + 1] == "30.000"
    graph = args[args.index("-filter_complex") + 1]
    # Ranges cut to the trim and moved to start at 0; the one past the end is dropped.
    assert (
        "between(t\\,0.000\\,2.500)+between(t\\,10.000\\,11.000)+between(t\\,29.000\\,30.000)"
        in graph
    )
    assert "file:in.mp4" in args and "file:out.mp4" in args


def test_encoder_without_sound_takes_only_the_frames() -> None:
    facts = phone_facts(duration_s=60.0, size_bytes=1, audio_codec=None)
    args = encode_args(
        Path("in.mp4"), Path("out.mp4"), facts, web_raw_format(facts), start_s=0.0, end_s=60.0
    )
    assert "file:in.mp4" not in args
    assert "-c:a" not in args


@pytest.mark.parametrize(
    ("settings", "sentence"),
    [
        (RedactionSettings(trim_start_s=61), "start of the shared part"),
        (RedactionSettings(trim_start_s=10, trim_end_s=10.2), "at least half a second"),
        (RedactionSettings(mute=((5.0, 4.0),)), "muted part must end after"),
        (RedactionSettings(regions=(BlurRegion(1, 2, 0.8, 0.1, 0.3, 0.1),)), "inside the picture"),
        (RedactionSettings(regions=(BlurRegion(2, 2, 0.1, 0.1, 0.3, 0.1),)), "end after it starts"),
    ],
)
def test_settings_that_do_not_fit_the_clip_are_refused(
    settings: RedactionSettings, sentence: str
) -> None:
    with pytest.raises(InvalidRedaction, match=sentence):
        settings.kept(60.0)


def test_settings_keep_the_trim_within_the_clip() -> None:
    assert RedactionSettings().kept(60.0) == (0.0, 60.0)
    assert RedactionSettings(trim_start_s=5, trim_end_s=99).kept(60.0) == (5, 60.0)


@pytest.mark.slow
def test_an_encoder_that_fails_stops_the_render_with_its_words(
    face_footage: Path, tmp_path: Path
) -> None:
    with pytest.raises(FfmpegFailed) as failure:
        render_redacted(face_footage, tmp_path / "no such folder" / "shared.mp4", SETTINGS)
    assert "No such file or directory" in failure.value.stderr_tail


@pytest.mark.slow
def test_a_render_past_its_time_limit_is_stopped(face_footage: Path, tmp_path: Path) -> None:
    with pytest.raises(FfmpegTimeout):
        render_redacted(face_footage, tmp_path / "shared.mp4", SETTINGS, timeout_s=0.5)


@pytest.mark.slow
@pytest.mark.parametrize("name", GOOD_SAMPLES)
def test_every_upload_format_gets_a_redacted_rendition_like_its_web_one(
    name: str, media_samples: dict[str, Path], tmp_path: Path
) -> None:
    source = media_samples[name]
    facts = probe(source)
    dest = tmp_path / "shared.mp4"
    report = render_redacted(source, dest, RedactionSettings(trim_start_s=0.5), timeout_s=120)
    info = streams(dest)
    video = next(s for s in info["streams"] if s["codec_type"] == "video")
    # Upright (a rotated phone clip comes out portrait), at the web rendition's size.
    assert (video["width"], video["height"]) == rendition_size(facts)
    assert video["codec_name"] == "h264" and video["pix_fmt"] == "yuv420p"
    assert int(video["nb_frames"]) == report.frames
    # A variable-rate clip's last picture may stand for up to 3 frames' time (the sample keeps
    # one frame in three at its end); the fps filter stops at that picture.
    slack = 3 if facts.is_vfr else 1
    expected = ((facts.duration_s or 0) - 0.5) * web_fps(facts)
    assert report.frames == pytest.approx(expected, abs=slack)
    has_audio = any(s["codec_type"] == "audio" for s in info["streams"])
    assert has_audio == facts.has_audio
