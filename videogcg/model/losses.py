"""Per-sample losses, LISA / VideoGLaMM style: token cross-entropy, and per-mask sigmoid BCE plus Dice.

Each is a mean per sample, and a batch's loss is the mean over its samples, so the loss of a global batch
is the same however it is split into micro-batches and processes (what makes DDP match one process).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from videogcg.model.inputs import IGNORE


def token_cross_entropy(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """(B, L, V) logits, (B, L) labels -> (B,) mean next-token cross-entropy over each sample's labelled tokens."""
    logits, labels = logits[:, :-1].float(), labels[:, 1:]
    per_token = F.cross_entropy(logits.transpose(1, 2), labels, ignore_index=IGNORE, reduction="none")
    counted = (labels != IGNORE).sum(dim=1).clamp(min=1)
    return per_token.sum(dim=1) / counted


def mask_bce(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean sigmoid BCE over the pixels of all masks of one sample."""
    return F.binary_cross_entropy_with_logits(logits.float(), targets, reduction="mean")


def mask_dice(logits: torch.Tensor, targets: torch.Tensor, scale: float = 1000.0, eps: float = 1e-6) -> torch.Tensor:
    """Mean Dice loss over the masks of one sample (LISA's form, with its scale of 1000); masks are (K, ...)."""
    probs = logits.float().sigmoid().flatten(1) / scale
    targets = targets.flatten(1)
    numerator = 2 * (probs * targets).sum(-1)
    denominator = probs.sum(-1) + (targets / scale).sum(-1)
    return (1 - (numerator + eps) / (denominator + eps)).mean()
