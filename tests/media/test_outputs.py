"""Storyboard VTT, waveform peaks and progress parsing on made-up inputs."""

from __future__ import annotations

import math
import re
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest

from videocoach.media.commands import StoryboardLayout, storyboard_layout
from videocoach.media.progress import parse_progress
from videocoach.media.storyboard import storyboard_vtt, vtt_timestamp
from videocoach.media.waveform import waveform_peaks

CUE = re.compile(r"^(\d\d):(\d\d):(\d\d)\.(\d{3}) --> (\d\d):(\d\d):(\d\d)\.(\d{3})$")


def cue_times(vtt: str) -> list[tuple[float, float]]:
    times = []
    for line in vtt.splitlines():
        if match := CUE.match(line):
            h1, m1, s1, ms1, h2, m2, s2, ms2 = map(int, match.groups())
            times.append(
                (h1 * 3600 + m1 * 60 + s1 + ms1 / 1000, h2 * 3600 + m2 * 60 + s2 + ms2 / 1000)
            )
    return times


def test_vtt_timestamps() -> None:
    assert vtt_timestamp(0) == "00:00:00.000"
    assert vtt_timestamp(61.5) == "00:01:01.500"
    assert vtt_timestamp(3 * 3600 + 0.0004) == "03:00:00.000"
    assert vtt_timestamp(59.9996) == "00:01:00.000"


@pytest.mark.parametrize("duration", [0.5, 3.0, 4.1, 199.9, 200.0, 601.25, 3599.987])
def test_storyboard_vtt_covers_the_whole_clip(duration: float) -> None:
    layout = storyboard_layout(duration, 1280, 720)
    vtt = storyboard_vtt(layout, duration, lambda sheet: f"sheets/{sheet}.jpg")
    times = cue_times(vtt)
    assert vtt.startswith("WEBVTT\n\n")
    assert len(times) == layout.count
    assert times[0][0] == 0
    assert times[-1][1] == pytest.approx(duration, abs=0.0005)
    for (_, end), (start, _) in pairwise(times):
        assert end == start  # no gaps, no overlaps


def test_storyboard_vtt_walks_rows_then_sheets() -> None:
    layout = StoryboardLayout(2, 160, 90, 10, 10, 101, 2)
    urls = [line for line in storyboard_vtt(layout, 201.0, str).splitlines() if "#xywh" in line]
    assert urls[0] == "0#xywh=0,0,160,90"
    assert urls[9] == "0#xywh=1440,0,160,90"
    assert urls[10] == "0#xywh=0,90,160,90"
    assert urls[99] == "0#xywh=1440,810,160,90"
    assert urls[100] == "1#xywh=0,0,160,90"


def test_waveform_peaks_normalise_to_the_loudest(tmp_path: Path) -> None:
    pcm = tmp_path / "wave.pcm"
    quiet, loud = np.full(400, 1000, "<i2"), np.full(400, -32768, "<i2")
    np.concatenate([quiet, loud, np.zeros(400, "<i2"), quiet[:100]]).tofile(pcm)
    peaks = waveform_peaks(pcm)
    assert peaks == {
        "version": 1,
        "sample_rate": 4000,
        "peaks_per_second": 10,
        "length": 4,
        "data": [3, 100, 0, 3],
    }


def test_waveform_peaks_length_follows_the_duration(tmp_path: Path) -> None:
    pcm = tmp_path / "wave.pcm"
    np.full(4000 * 2, 500, "<i2").tofile(pcm)
    assert waveform_peaks(pcm, duration_s=2.35)["length"] == 24
    assert waveform_peaks(pcm, duration_s=1.0)["length"] == 10
    assert waveform_peaks(pcm, duration_s=2.35)["data"][-4:] == [0, 0, 0, 0]


def test_waveform_peaks_of_silence_and_of_nothing(tmp_path: Path) -> None:
    silent = tmp_path / "silent.pcm"
    np.zeros(4000, "<i2").tofile(silent)
    assert waveform_peaks(silent)["data"] == [0] * 10
    empty = tmp_path / "empty.pcm"
    empty.write_bytes(b"")
    assert waveform_peaks(empty, duration_s=1.5)["data"] == [0] * 15
    assert waveform_peaks(empty)["length"] == 0


def test_waveform_peaks_span_chunk_boundaries(tmp_path: Path) -> None:
    # More than one memory-mapped chunk, with the loudest sample in the second.
    pcm = tmp_path / "long.pcm"
    samples = np.full(4000 * 500, 100, "<i2")
    samples[4000 * 450 + 7] = 20000
    samples.tofile(pcm)
    peaks = waveform_peaks(pcm, duration_s=500)
    assert peaks["length"] == 5000
    assert peaks["data"][4500] == 100
    assert peaks["data"][0] == 0  # 100/20000 rounds to 0
    assert math.isclose(sum(peaks["data"]), 100)


CANNED = """frame=10
fps=0.00
out_time_us=N/A
out_time_ms=N/A
out_time=N/A
progress=continue
frame=45
out_time_us=1500000
out_time_ms=1500000
out_time=00:00:01.500000
progress=continue
frame=90
out_time_us=3000000
out_time_ms=3000000
progress=continue
out_time_us=3200000
progress=end
"""


def test_parse_progress_yields_clamped_fractions() -> None:
    assert list(parse_progress(CANNED.splitlines(keepends=True), 3.0)) == [0.5, 1.0]


def test_parse_progress_reads_out_time_ms_as_microseconds() -> None:
    # ffmpeg's out_time_ms has always been microseconds despite its name.
    assert list(parse_progress(["out_time_ms=750000\n"], 3.0)) == [0.25]


def test_parse_progress_without_a_duration_only_reports_the_end() -> None:
    assert list(parse_progress(CANNED.splitlines(), None)) == [1.0]
    assert list(parse_progress(["out_time_us=-5000"], 2.0)) == [0.0]
