"""The builders' commands run for real on the tiny samples, checked with ffprobe."""

from __future__ import annotations

import json
import math
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.media.samples import FFMPEG, FFPROBE, top_level_atoms
from videocoach.media.commands import (
    WAVEFORM_PCM,
    WEB_RENDITION,
    StoryboardLayout,
    poster_candidate_paths,
    poster_seek_args,
    remux_args,
    rendition_size,
    storyboard_layout,
    storyboard_sheet_paths,
    transcode_args,
)
from videocoach.media.frames import pick_poster
from videocoach.media.probe import ProbeFacts, probe
from videocoach.media.progress import FfmpegFailed, FfmpegTimeout, run_ffmpeg
from videocoach.media.storyboard import storyboard_vtt
from videocoach.media.waveform import waveform_peaks


@dataclass
class Transcoded:
    source: ProbeFacts
    layout: StoryboardLayout
    out_dir: Path
    progress: list[float]

    @property
    def web(self) -> Path:
        return self.out_dir / WEB_RENDITION


def streams(path: Path) -> list[dict]:
    result = subprocess.run(
        [FFPROBE, "-v", "error", "-print_format", "json", "-show_streams", "-show_format", path],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout)["streams"]


def run(args: list[str], duration_s: float | None = None) -> list[float]:
    progress: list[float] = []
    run_ffmpeg(args, timeout_s=60, on_progress=progress.append, duration_s=duration_s)
    return progress


@pytest.fixture(scope="module")
def transcoded(
    media_samples: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> Callable[[str], Transcoded]:
    done: dict[str, Transcoded] = {}

    def transcode(name: str) -> Transcoded:
        if name not in done:
            facts = probe(media_samples[name], FFPROBE)
            layout = storyboard_layout(facts.duration_s, *rendition_size(facts))
            out_dir = tmp_path_factory.mktemp(name.replace(".", "-"))
            args = transcode_args(media_samples[name], out_dir, facts, layout, ffmpeg=FFMPEG)
            done[name] = Transcoded(facts, layout, out_dir, run(args, facts.duration_s))
        return done[name]

    return transcode


TRANSCODED_SAMPLES = ["h264_aac.mp4", "h264_rotated.mp4", "no_audio.mp4", "vp9.webm", "mjpeg.avi"]


@pytest.mark.parametrize("name", TRANSCODED_SAMPLES)
def test_transcode_makes_a_web_rendition(
    transcoded: Callable[[str], Transcoded], name: str
) -> None:
    result = transcoded(name)
    video, *audio = streams(result.web)
    assert (video["codec_name"], video["profile"], video["pix_fmt"]) == ("h264", "High", "yuv420p")
    assert video["avg_frame_rate"] == "30/1"
    assert len(audio) == (1 if result.source.has_audio else 0)
    if audio:
        assert (audio[0]["codec_name"], audio[0]["channels"]) == ("aac", 2)
    web = probe(result.web, FFPROBE)
    assert web.duration_s == pytest.approx(result.source.duration_s, abs=0.2)
    atoms = top_level_atoms(result.web)
    assert atoms.index("moov") < atoms.index("mdat"), atoms  # +faststart
    assert result.progress[-1] == 1.0
    assert result.progress == sorted(result.progress)


def test_transcode_turns_rotated_video_upright(transcoded: Callable[[str], Transcoded]) -> None:
    video = streams(transcoded("h264_rotated.mp4").web)[0]
    assert (video["width"], video["height"]) == (240, 320)
    assert "side_data_list" not in video
    assert "rotate" not in video.get("tags", {})
    assert probe(transcoded("h264_rotated.mp4").web, FFPROBE).rotation == 0


@pytest.mark.parametrize("name", TRANSCODED_SAMPLES)
def test_transcode_makes_storyboard_posters_and_waveform(
    transcoded: Callable[[str], Transcoded], name: str
) -> None:
    result = transcoded(name)
    sheets = sorted(result.out_dir.glob("storyboard-*.jpg"))
    assert sheets == storyboard_sheet_paths(result.out_dir, result.layout)
    assert len(sheets) == result.layout.sheets
    sheet = cv2.imread(str(sheets[0]))
    assert sheet.shape[:2] == (result.layout.sheet_h, result.layout.sheet_w)
    candidates = poster_candidate_paths(result.out_dir)
    assert len(candidates) == 8
    width, height = rendition_size(result.source)
    assert cv2.imread(str(candidates[0])).shape[:2] == (height, width)
    pcm = result.out_dir / WAVEFORM_PCM
    if result.source.has_audio:
        expected = result.source.duration_s * 4000 * 2
        assert abs(pcm.stat().st_size - expected) <= 0.05 * expected
    else:
        assert not pcm.exists()


def test_last_partial_storyboard_interval_gets_its_thumbnail(tmp_path: Path) -> None:
    # 4.3 s at 2 s per thumbnail: the last interval is 0.3 s, less than half an interval,
    # which plain fps=1/2 drops at end of stream. The tile after it is padding (black).
    src = tmp_path / "short.mp4"
    lavfi = "testsrc2=size=160x120:rate=30:duration=4.3"
    x264 = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
    cmd = [FFMPEG, "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i", lavfi, *x264, src]
    subprocess.run(cmd, check=True)
    facts = probe(src, FFPROBE)
    layout = storyboard_layout(facts.duration_s, *rendition_size(facts))
    assert (layout.count, layout.interval_s) == (3, 2)
    run(transcode_args(src, tmp_path, facts, layout, ffmpeg=FFMPEG), facts.duration_s)
    sheet = cv2.imread(str(storyboard_sheet_paths(tmp_path, layout)[0]), cv2.IMREAD_GRAYSCALE)

    def tile(index: int) -> np.ndarray:
        x = index * layout.thumb_w
        return sheet[: layout.thumb_h, x : x + layout.thumb_w]

    assert tile(2).mean() > 40  # testsrc2 is colourful
    assert tile(3).mean() < 5


def test_storyboard_vtt_for_a_real_transcode(transcoded: Callable[[str], Transcoded]) -> None:
    result = transcoded("h264_aac.mp4")
    duration = probe(result.web, FFPROBE).duration_s
    vtt = storyboard_vtt(result.layout, duration, lambda i: f"/media/sheet/{i}")
    cues = [line for line in vtt.splitlines() if "-->" in line]
    assert vtt.startswith("WEBVTT\n")
    assert len(cues) == result.layout.count
    assert cues[0].startswith("00:00:00.000 --> ")
    assert cues[-1].endswith(" --> 00:00:03.008")
    assert "/media/sheet/0#xywh=160,0,160,120" in vtt


def test_waveform_peaks_from_a_real_transcode(transcoded: Callable[[str], Transcoded]) -> None:
    result = transcoded("h264_aac.mp4")
    duration = result.source.duration_s
    peaks = waveform_peaks(result.out_dir / WAVEFORM_PCM, duration_s=duration)
    assert peaks["length"] == len(peaks["data"]) == math.ceil(duration * 10)
    assert (peaks["version"], peaks["sample_rate"], peaks["peaks_per_second"]) == (1, 4000, 10)
    assert max(peaks["data"]) == 100
    assert min(peaks["data"][2:-2]) > 80  # a steady sine
    pcm_samples = (result.out_dir / WAVEFORM_PCM).stat().st_size // 2
    assert waveform_peaks(result.out_dir / WAVEFORM_PCM)["length"] == math.ceil(pcm_samples / 400)


def test_remux_fast_path_keeps_streams_and_rotation(
    media_samples: dict[str, Path], tmp_path: Path
) -> None:
    src = media_samples["h264_rotated.mp4"]
    facts = probe(src, FFPROBE)
    dst = tmp_path / "fast.mp4"
    run(remux_args(src, dst, facts, ffmpeg=FFMPEG), facts.duration_s)
    atoms = top_level_atoms(dst)
    assert atoms.index("moov") < atoms.index("mdat")
    remuxed = probe(dst, FFPROBE)
    assert (remuxed.video_codec, remuxed.audio_codec, remuxed.rotation) == ("h264", "aac", 90)
    assert remuxed.duration_s == pytest.approx(facts.duration_s, abs=0.05)


def test_poster_by_input_seeking(media_samples: dict[str, Path], tmp_path: Path) -> None:
    src = media_samples["h264_rotated.mp4"]
    facts = probe(src, FFPROBE)
    dst = tmp_path / "poster.jpg"
    run(poster_seek_args(src, dst, 1.0, facts, ffmpeg=FFMPEG))
    assert cv2.imread(str(dst)).shape[:2] == (320, 240)


def test_pick_poster_prefers_the_sharp_frame(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    squares = np.kron(rng.integers(40, 220, size=(24, 32)), np.ones((10, 10))).astype(np.uint8)
    sharp = cv2.cvtColor(squares, cv2.COLOR_GRAY2BGR)
    frames = {
        "black.jpg": np.zeros_like(sharp),
        "blurred.jpg": cv2.GaussianBlur(sharp, (0, 0), 6),
        "sharp.jpg": sharp,
        "white.jpg": np.full_like(sharp, 250),
    }
    paths = {}
    for name, image in frames.items():
        paths[name] = tmp_path / name
        cv2.imwrite(str(paths[name]), image)
    ordered = [paths[name] for name in ("black.jpg", "blurred.jpg", "sharp.jpg", "white.jpg")]
    assert pick_poster(ordered) == paths["sharp.jpg"]
    assert pick_poster([paths["blurred.jpg"], paths["black.jpg"]]) == paths["blurred.jpg"]
    # Nothing usable: the middle candidate rather than nothing.
    all_bad = [paths["black.jpg"], paths["white.jpg"], tmp_path / "missing.jpg"]
    assert pick_poster(all_bad) == paths["white.jpg"]


def test_run_ffmpeg_reports_failure_with_stderr_tail(media_samples: dict[str, Path]) -> None:
    args = [FFMPEG, "-nostdin", "-i", f"file:{media_samples['text.mp4']}", "-f", "null", "-"]
    with pytest.raises(FfmpegFailed) as caught:
        run_ffmpeg(args, timeout_s=30, on_progress=None, duration_s=None)
    assert caught.value.returncode != 0
    assert "Invalid data" in caught.value.stderr_tail


def test_run_ffmpeg_stops_at_the_time_limit() -> None:
    # -re paces the source in real time: ten seconds of video cannot finish in half a second.
    lavfi = "testsrc2=size=64x64:rate=10:duration=10"
    args = [FFMPEG, "-nostdin", "-progress", "pipe:1", "-re", "-f", "lavfi", "-i", lavfi]
    args += ["-f", "null", "-"]
    started = time.monotonic()
    with pytest.raises(FfmpegTimeout):
        run_ffmpeg(args, timeout_s=0.5, on_progress=None, duration_s=10)
    assert time.monotonic() - started < 5
