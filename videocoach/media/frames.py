"""Choosing a poster from candidate frames with OpenCV."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

# Fades, lens caps and blown-out frames make poor posters.
MIN_MEAN_LUMA = 20
MAX_MEAN_LUMA = 235


def frame_score(path: Path) -> tuple[float, float] | None:
    """(sharpness, contrast) of one image, or None when it is unusable as a poster."""
    image = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    if image is None:
        return None
    mean = float(np.mean(image))
    if mean < MIN_MEAN_LUMA or mean > MAX_MEAN_LUMA:
        return None
    sharpness = float(cv2.Laplacian(image, cv2.CV_64F).var())
    contrast = float(np.std(image))
    return sharpness, contrast


def pick_poster(candidate_paths: list[Path]) -> Path:
    """The sharpest acceptable frame (contrast breaks ties); the middle one if none is."""
    if not candidate_paths:
        raise ValueError("no poster candidates")
    scored = [(score, path) for path in candidate_paths if (score := frame_score(path))]
    if not scored:
        return candidate_paths[len(candidate_paths) // 2]
    return max(scored, key=lambda item: item[0])[1]
