"""Greedy non-maximum suppression on (x1, y1, x2, y2) boxes, in plain torch.

torchvision's `nms` / `batched_nms` are not available here (see ENVIRONMENT.md), so this is the same
greedy algorithm: take the highest-scoring box, drop every box that overlaps it by more than the IoU
threshold, repeat. Ties in score keep the lower index first, so the result is deterministic.
"""

from __future__ import annotations

import numpy as np
import torch


def box_area(boxes: torch.Tensor) -> torch.Tensor:
    """Areas of (N, 4) xyxy boxes; inverted boxes count as empty."""
    return (boxes[:, 2] - boxes[:, 0]).clamp(min=0) * (boxes[:, 3] - boxes[:, 1]).clamp(min=0)


def box_iou(boxes1: torch.Tensor, boxes2: torch.Tensor) -> torch.Tensor:
    """(N, M) intersection over union of xyxy boxes; 0 where both boxes are empty."""
    top_left = torch.maximum(boxes1[:, None, :2], boxes2[None, :, :2])
    bottom_right = torch.minimum(boxes1[:, None, 2:], boxes2[None, :, 2:])
    intersection = (bottom_right - top_left).clamp(min=0).prod(dim=-1)
    union = box_area(boxes1)[:, None] + box_area(boxes2)[None, :] - intersection
    return torch.where(union > 0, intersection / union.clamp(min=torch.finfo(union.dtype).tiny), torch.zeros_like(union))


def nms(boxes: torch.Tensor, scores: torch.Tensor, iou_threshold: float) -> torch.Tensor:
    """Indices of the boxes kept, by decreasing score. A box is dropped if its IoU with a kept,
    higher-scoring box is greater than `iou_threshold`."""
    return batched_nms(boxes, scores, torch.zeros(len(boxes), dtype=torch.long, device=boxes.device), iou_threshold)


def batched_nms(boxes: torch.Tensor, scores: torch.Tensor, groups: torch.Tensor, iou_threshold: float) -> torch.Tensor:
    """NMS within each group (e.g. per phrase): boxes of different groups never suppress each other.

    Returns the indices kept, by decreasing score (ties: lower index first).
    """
    if boxes.ndim != 2 or boxes.shape[-1] != 4:
        raise ValueError(f"boxes must have shape (N, 4), got {tuple(boxes.shape)}")
    if scores.shape != boxes.shape[:1] or groups.shape != boxes.shape[:1]:
        raise ValueError(f"scores {tuple(scores.shape)} and groups {tuple(groups.shape)} must have shape ({len(boxes)},)")
    if len(boxes) == 0:
        return torch.empty(0, dtype=torch.long, device=boxes.device)
    order = torch.sort(scores, descending=True, stable=True).indices
    boxes, groups = boxes[order].float(), groups[order]
    overlapping = ((box_iou(boxes, boxes) > iou_threshold) & (groups[:, None] == groups[None, :])).cpu().numpy()
    # The greedy pass is sequential; numpy's per-call overhead is far below torch's on these small rows.
    suppressed = np.zeros(len(boxes), dtype=bool)
    keep = []
    for i in range(len(boxes)):
        if not suppressed[i]:
            keep.append(i)
            suppressed |= overlapping[i]
    return order[torch.tensor(keep, dtype=torch.long, device=order.device)]
