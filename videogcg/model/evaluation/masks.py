"""Mask IoU over whole clips and the one-to-one greedy matching GLaMM's and VideoGLaMM's GCG metrics use.

Masks are compared as (T, H, W) volumes (video-level IoU). Matching takes the highest IoU pair, removes its
row and column, and repeats; mIoU is the mean IoU of the matched pairs of one sample (0 when nothing can be
matched), averaged over samples by the caller.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def mask_iou(a: np.ndarray, b: np.ndarray) -> float:
    """IoU of two boolean masks of the same shape; two empty masks count as 0 (nothing was found)."""
    if a.shape != b.shape:
        raise ValueError(f"masks of shapes {a.shape} and {b.shape} cannot be compared")
    union = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / union) if union else 0.0


def iou_matrix(predicted: Sequence[np.ndarray], truth: Sequence[np.ndarray]) -> np.ndarray:
    return np.array([[mask_iou(p, t) for t in truth] for p in predicted], dtype=np.float64).reshape(len(predicted), len(truth))


def greedy_pairs(scores: np.ndarray, admissible: np.ndarray | None = None, minimum: float = 0.0) -> list[tuple[int, int]]:
    """One-to-one (row, column) pairs, best score first, among admissible cells whose score is >= `minimum`."""
    scores = np.array(scores, dtype=np.float64)
    allowed = np.ones(scores.shape, bool) if admissible is None else np.array(admissible, bool)
    allowed &= scores >= minimum
    pairs = []
    while allowed.any():
        masked = np.where(allowed, scores, -np.inf)
        row, column = np.unravel_index(np.argmax(masked), scores.shape)
        pairs.append((int(row), int(column)))
        allowed[row, :] = False
        allowed[:, column] = False
    return pairs


def miou(predicted: Sequence[np.ndarray], truth: Sequence[np.ndarray]) -> float:
    """A sample's mIoU: mean IoU of greedily matched (predicted, ground-truth) masks; 0 with nothing to match."""
    ious = iou_matrix(predicted, truth)
    pairs = greedy_pairs(ious)
    return float(np.mean([ious[p] for p in pairs])) if pairs else 0.0
