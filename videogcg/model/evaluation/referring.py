"""Referring video object segmentation: region similarity J, boundary F-measure F and J&F, as the DAVIS
toolkit (and MeViS / Ref-YouTube-VOS evaluations after it) compute them.

J on a frame is the IoU of the masks (1 when both are empty). F on a frame compares the masks' boundaries
(pixels that differ from their right, lower or lower-right neighbour): a boundary pixel counts as matched if
the other boundary lies within a disk of radius ceil(0.008 x the image diagonal); F = 2PR / (P + R), with
P = 1, R = 1 when both boundaries are empty. A clip's J and F are the means over its frames; J&F is their mean.
"""

from __future__ import annotations

import math

import numpy as np

BOUNDARY_TOLERANCE = 0.008  # of the image diagonal


def region_j(predicted: np.ndarray, truth: np.ndarray) -> float:
    """Mean over frames of the per-frame IoU of (T, H, W) (or (H, W)) masks."""
    predicted, truth = np.atleast_3d(predicted.T).T, np.atleast_3d(truth.T).T
    values = []
    for p, t in zip(predicted, truth):
        union = np.logical_or(p, t).sum()
        values.append(1.0 if union == 0 else float(np.logical_and(p, t).sum() / union))
    return float(np.mean(values))


def boundary_map(mask: np.ndarray) -> np.ndarray:
    mask = mask.astype(bool)
    right, below, diagonal = np.zeros_like(mask), np.zeros_like(mask), np.zeros_like(mask)
    right[:, :-1], below[:-1, :], diagonal[:-1, :-1] = mask[:, 1:], mask[1:, :], mask[1:, 1:]
    boundary = (mask ^ right) | (mask ^ below) | (mask ^ diagonal)
    boundary[-1, :] = mask[-1, :] ^ right[-1, :]
    boundary[:, -1] = mask[:, -1] ^ below[:, -1]
    boundary[-1, -1] = False
    return boundary


def dilate(mask: np.ndarray, radius: int) -> np.ndarray:
    """Binary dilation by a disk of `radius` pixels (offsets with dx^2 + dy^2 <= radius^2)."""
    out = np.zeros_like(mask)
    height, width = mask.shape
    for dy in range(-radius, radius + 1):
        for dx in range(-radius, radius + 1):
            if dx * dx + dy * dy > radius * radius:
                continue
            out[max(dy, 0) : height + min(dy, 0), max(dx, 0) : width + min(dx, 0)] |= mask[
                max(-dy, 0) : height + min(-dy, 0), max(-dx, 0) : width + min(-dx, 0)
            ]
    return out


def _frame_f(predicted: np.ndarray, truth: np.ndarray) -> float:
    radius = math.ceil(BOUNDARY_TOLERANCE * math.hypot(*predicted.shape))
    fg, gt = boundary_map(predicted), boundary_map(truth)
    n_fg, n_gt = int(fg.sum()), int(gt.sum())
    if n_fg == 0 and n_gt == 0:
        return 1.0
    if n_fg == 0 or n_gt == 0:
        return 0.0  # precision 1 and recall 0 (or the other way round)
    precision = float((fg & dilate(gt, radius)).sum() / n_fg)
    recall = float((gt & dilate(fg, radius)).sum() / n_gt)
    return 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)


def boundary_f(predicted: np.ndarray, truth: np.ndarray) -> float:
    """Mean over frames of the boundary F-measure of (T, H, W) (or (H, W)) masks."""
    predicted, truth = np.atleast_3d(predicted.T).T, np.atleast_3d(truth.T).T
    return float(np.mean([_frame_f(p, t) for p, t in zip(predicted, truth)]))


def j_and_f(predicted: np.ndarray, truth: np.ndarray) -> tuple[float, float, float]:
    """(J, F, J&F) of one referred object over a clip."""
    j, f = region_j(predicted, truth), boundary_f(predicted, truth)
    return j, f, (j + f) / 2
