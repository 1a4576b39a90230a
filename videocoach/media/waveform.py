"""Waveform peaks for the timeline, from the 4 kHz mono PCM the transcode writes."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

# Buckets per chunk: bounds memory however long the clip (60 min at 4 kHz = 29 MB of PCM).
CHUNK_BUCKETS = 4096


def waveform_peaks(
    pcm_path: Path,
    sample_rate: int = 4000,
    peaks_per_second: int = 10,
    *,
    duration_s: float | None = None,
) -> dict[str, Any]:
    """Peak amplitude per bucket, 0..100 relative to the loudest.

    With duration_s the length is exactly ceil(duration_s * peaks_per_second), so the
    waveform lines up with the video timeline even when audio is slightly shorter or longer.
    """
    bucket = max(1, sample_rate // peaks_per_second)
    size = pcm_path.stat().st_size // 2
    peaks = np.zeros(math.ceil(size / bucket), dtype=np.int32)
    if size:
        samples = np.memmap(pcm_path, dtype="<i2", mode="r", shape=(size,))
        step = CHUNK_BUCKETS * bucket
        for start in range(0, size, step):
            # int32 before abs: abs(-32768) does not fit in int16.
            chunk = np.abs(samples[start : start + step].astype(np.int32))
            padded = np.zeros(math.ceil(len(chunk) / bucket) * bucket, dtype=np.int32)
            padded[: len(chunk)] = chunk
            first = start // bucket
            peaks[first : first + len(padded) // bucket] = padded.reshape(-1, bucket).max(axis=1)
        del samples
    if duration_s is not None:
        length = math.ceil(round(duration_s * peaks_per_second, 6))
        peaks = np.pad(peaks[:length], (0, max(0, length - len(peaks))))
    loudest = int(peaks.max()) if len(peaks) else 0
    data = np.rint(peaks * (100 / loudest)).astype(int).tolist() if loudest else [0] * len(peaks)
    return {
        "version": 1,
        "sample_rate": sample_rate,
        "peaks_per_second": peaks_per_second,
        "length": len(data),
        "data": data,
    }
