"""Probe results written by hand, for tests of what the pipeline decides from them."""

from __future__ import annotations

from typing import Any

from videocoach.media.probe import ProbeFacts


def phone_facts(**fields: Any) -> ProbeFacts:
    """What ffprobe reports for a phone's 1080p30 H.264 High + stereo AAC MP4, with `fields`
    (duration_s and size_bytes at least) set by the test: the ordinary upload."""
    phone: dict[str, Any] = {
        "format_name": "mov,mp4,m4a,3gp,3g2,mj2",
        "video_codec": "h264",
        "video_profile": "High",
        "pix_fmt": "yuv420p",
        "width": 1920,
        "height": 1080,
        "fps": 30.0,
        "audio_codec": "aac",
        "audio_channels": 2,
        "has_video": True,
    }
    return ProbeFacts(**{**phone, **fields})
