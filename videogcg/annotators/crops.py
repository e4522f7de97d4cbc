"""Crops around an object, for describing it on its own (VideoGLaMM's masks-only flow)."""

from __future__ import annotations

import numpy as np

from videogcg.schemas import Box


def crop_around(frame: np.ndarray, box: Box, scale: float = 2.0, min_side: int = 16) -> np.ndarray:
    """A window `scale` times the (x, y, w, h) box, centred on it and clipped to the frame."""
    height, width = frame.shape[:2]
    x, y, w, h = box
    if w <= 0 or h <= 0 or x >= width or y >= height or x + w <= 0 or y + h <= 0:
        raise ValueError(f"box {box} is empty or outside the {width}x{height} frame")
    cx, cy = x + w / 2, y + h / 2
    half_w, half_h = max(w * scale, min_side) / 2, max(h * scale, min_side) / 2
    left, right = int(max(0, np.floor(cx - half_w))), int(min(width, np.ceil(cx + half_w)))
    top, bottom = int(max(0, np.floor(cy - half_h))), int(min(height, np.ceil(cy + half_h)))
    return frame[top:bottom, left:right]


def best_views(boxes: list[Box | None], count: int, min_area: float = 0.0) -> list[int]:
    """Frames where the object shows largest (area >= min_area), up to `count`, in time order."""
    sized = [(b[2] * b[3], t) for t, b in enumerate(boxes) if b is not None and b[2] * b[3] >= min_area]
    chosen = sorted(sized, key=lambda item: (-item[0], item[1]))[:count]
    return sorted(t for _, t in chosen)
