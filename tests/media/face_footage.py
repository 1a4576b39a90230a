"""Footage with a face whose place is known in every frame, for the redaction tests.

scikit-image's astronaut (Eileen Collins, public domain, NASA) is moved, scaled (her face
from 40 to 400 px high) and turned (in the picture's plane, and squeezed sideways as a
head turning away would be) over ffmpeg's testsrc2 pattern, with stretches before and
after where only other pictures (coffee, a rocket, a cat) are shown. A sine tone plays
throughout. The frames are put together in Python and encoded by ffmpeg.
"""

from __future__ import annotations

import math
import subprocess
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from skimage import data

from tests.media.samples import FFMPEG

WIDTH, HEIGHT, FPS = 1280, 720, 15
DURATION_S = 5.0
FACE_FROM_S, FACE_UNTIL_S = 0.8, 4.2
# The astronaut's face in her 512 x 512 picture, drawn by hand: brow to chin, ear to ear.
FACE_IN_PICTURE = (178.0, 60.0, 270.0, 180.0)
SMALLEST_FACE, LARGEST_FACE = 40.0, 400.0
TONE_HZ = 440


@dataclass(frozen=True)
class FaceTruth:
    """Where the face is in one frame, in pixels, and how it is shown."""

    x1: float
    y1: float
    x2: float
    y2: float
    height_px: float  # the face's own height, before turning
    angle_deg: float  # turned in the picture's plane
    squeeze: float  # 1 = facing the camera; less = turned away

    def fraction(self) -> tuple[float, float, float, float]:
        return (self.x1 / WIDTH, self.y1 / HEIGHT, self.x2 / WIDTH, self.y2 / HEIGHT)


def _pose(t: float) -> tuple[float, float, float, float, float] | None:
    """(centre x, centre y, face height, angle, squeeze) at t, or None when no face."""
    if not FACE_FROM_S <= t < FACE_UNTIL_S:
        return None
    p = (t - FACE_FROM_S) / (FACE_UNTIL_S - FACE_FROM_S)
    height = SMALLEST_FACE * (LARGEST_FACE / SMALLEST_FACE) ** p
    cx, cy = 200 + 800 * p, 150 + 250 * p
    angle = 25 * math.sin(2 * math.pi * 2 * p)
    squeeze = 1 - 0.35 * abs(math.sin(2 * math.pi * 1.5 * p))
    return cx, cy, height, angle, squeeze


def _matrix(cx: float, cy: float, height: float, angle: float, squeeze: float) -> np.ndarray:
    fx1, fy1, fx2, fy2 = FACE_IN_PICTURE
    scale = height / (fy2 - fy1)
    to_origin = np.array([[1, 0, -(fx1 + fx2) / 2], [0, 1, -(fy1 + fy2) / 2], [0, 0, 1]])
    resize = np.diag([scale * squeeze, scale, 1.0])
    a = math.radians(angle)
    turn = np.array([[math.cos(a), -math.sin(a), 0], [math.sin(a), math.cos(a), 0], [0, 0, 1]])
    to_place = np.array([[1, 0, cx], [0, 1, cy], [0, 0, 1]])
    return (to_place @ turn @ resize @ to_origin)[:2]


def truth_at(frame: int) -> FaceTruth | None:
    pose = _pose(frame / FPS)
    if pose is None:
        return None
    matrix = _matrix(*pose)
    fx1, fy1, fx2, fy2 = FACE_IN_PICTURE
    corners = np.array([[fx1, fy1, 1], [fx2, fy1, 1], [fx2, fy2, 1], [fx1, fy2, 1]]).T
    xs, ys = matrix @ corners
    return FaceTruth(
        max(0.0, xs.min()),
        max(0.0, ys.min()),
        min(WIDTH, xs.max()),
        min(HEIGHT, ys.max()),
        pose[2],
        pose[3],
        pose[4],
    )


def face_outline(frame: int) -> np.ndarray | None:
    """The face as an oval (points in frame pixels): the ellipse inside the face's box,
    moved and turned with it. What a blur must cover; the box's corners are hair and sky."""
    pose = _pose(frame / FPS)
    if pose is None:
        return None
    fx1, fy1, fx2, fy2 = FACE_IN_PICTURE
    angles = np.linspace(0, 2 * math.pi, 72, endpoint=False)
    xs = (fx1 + fx2) / 2 + (fx2 - fx1) / 2 * np.cos(angles)
    ys = (fy1 + fy2) / 2 + (fy2 - fy1) / 2 * np.sin(angles)
    points = _matrix(*pose) @ np.stack([xs, ys, np.ones_like(xs)])
    return points.T


def frame_count() -> int:
    return round(DURATION_S * FPS)


def _others() -> list[np.ndarray]:
    return [data.coffee(), data.rocket(), data.chelsea()]


def _compose(background: np.ndarray, frame: int, astronaut: np.ndarray, others) -> np.ndarray:
    picture = background.copy()
    pose = _pose(frame / FPS)
    if pose is not None:
        cv2.warpAffine(
            astronaut,
            _matrix(*pose),
            (WIDTH, HEIGHT),
            dst=picture,
            flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_TRANSPARENT,
        )
    else:
        # Something that is not a face, moving a little, so no frame is a copy of another.
        other = others[(frame // FPS) % len(others)]
        h, w = other.shape[:2]
        x, y = 100 + 4 * frame % 300, 80
        picture[y : y + h, x : x + w] = other[: HEIGHT - y, : WIDTH - x]
    return picture


def make_face_footage(path: Path) -> Path:
    """Write the footage (H.264 + AAC in MP4) to path and return it."""
    count = frame_count()
    background_args = [
        FFMPEG,
        "-nostdin",
        "-loglevel",
        "error",
        "-f",
        "lavfi",
        "-i",
        f"testsrc2=size={WIDTH}x{HEIGHT}:rate={FPS}:duration={DURATION_S}",
        "-f",
        "rawvideo",
        "-pix_fmt",
        "rgb24",
        "pipe:1",
    ]
    encode_args = [
        FFMPEG,
        "-nostdin",
        "-y",
        "-loglevel",
        "error",
        "-f",
        "rawvideo",
        "-pix_fmt",
        "rgb24",
        "-s",
        f"{WIDTH}x{HEIGHT}",
        "-r",
        str(FPS),
        "-i",
        "pipe:0",
        "-f",
        "lavfi",
        "-i",
        f"sine=frequency={TONE_HZ}:sample_rate=48000:duration={DURATION_S}",
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-crf",
        "18",
        "-pix_fmt",
        "yuv420p",
        "-c:a",
        "aac",
        "-b:a",
        "96k",
        str(path),
    ]
    astronaut = data.astronaut()
    others = _others()
    size = WIDTH * HEIGHT * 3
    with (
        subprocess.Popen(background_args, stdout=subprocess.PIPE) as background,
        subprocess.Popen(encode_args, stdin=subprocess.PIPE) as encoder,
    ):
        assert background.stdout is not None and encoder.stdin is not None
        for frame in range(count):
            raw = background.stdout.read(size)
            assert len(raw) == size, "testsrc2 gave fewer frames than asked"
            picture = np.frombuffer(raw, np.uint8).reshape(HEIGHT, WIDTH, 3)
            encoder.stdin.write(_compose(picture, frame, astronaut, others).tobytes())
        encoder.stdin.close()
    assert encoder.returncode == 0 and background.returncode == 0
    return path
