"""Bidirectional temporal mask fusion (VideoMolmo): merge a forward and a backward propagation of one object.

Per frame: where both directions have a mask and they agree (IoU >= threshold), keep their intersection,
which trims the halo each direction tends to leave; where they disagree, keep their union, so an object that
one direction lost is not dropped; where only one direction reached the frame, use it.
"""

from __future__ import annotations

import numpy as np


def mask_iou(a: np.ndarray, b: np.ndarray) -> float:
    """IoU of two boolean masks of one shape. Two empty masks agree perfectly (1.0), as `schemas.masks.iou`."""
    if a.shape != b.shape:
        raise ValueError(f"cannot compare masks of shape {a.shape} and {b.shape}")
    union = np.count_nonzero(a | b)
    if union == 0:
        return 1.0
    return np.count_nonzero(a & b) / union


def fuse_masks(forward: np.ndarray | None, backward: np.ndarray | None, iou_threshold: float = 0.7) -> np.ndarray | None:
    """Fuse one frame's masks from the two directions; None means that direction did not reach the frame."""
    if forward is None:
        return backward
    if backward is None:
        return forward
    if mask_iou(forward, backward) >= iou_threshold:
        return forward & backward
    return forward | backward
