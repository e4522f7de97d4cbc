"""Masks from a trained model, and their score against ground truth with the answer given (teacher forcing):
each `[SEG]` of the true answer is decoded, at full frame size, on the supervised frames, and the sample's
predicted masks are matched to its true ones as the GCG mIoU does (one-to-one, greedy)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from videogcg.model.architecture import GroundingModel
from videogcg.model.data import Example, SkipSample
from videogcg.model.evaluation.masks import miou
from videogcg.model.inputs import ExampleEncoder, sample_indices


@torch.no_grad()
def segment(model: GroundingModel, encoder: ExampleEncoder, examples: list[Example]) -> list[np.ndarray]:
    """Per example, boolean masks (K, Ts, H, W) for its answer's first K `[SEG]`s, at the clip's frame size."""
    model.eval()
    device = next(p for p in model.parameters()).device
    batch = encoder.collate([encoder(e) for e in examples]).to(device)
    logits = model(batch).mask_logits
    return [
        F.interpolate(lg, size=size, mode="bilinear", align_corners=False).gt(0).cpu().numpy()
        for lg, size in zip(logits, batch.frame_sizes)
    ]


@dataclass
class SegmentationScore:
    miou: float  # mean over samples of each sample's matched-mask mIoU
    samples: int
    skipped: int


def evaluate_segmentation(
    model: GroundingModel, encoder: ExampleEncoder, examples: Iterable[Example], batch_size: int = 4
) -> SegmentationScore:
    scores, skipped, pending = [], 0, []

    def flush() -> None:
        for example, predicted in zip(pending, segment(model, encoder, pending)):
            index = sample_indices(len(example.frames), encoder.config.sam_frames)
            truth = example.masks[: encoder.config.max_masks][:, index].astype(bool)
            scores.append(miou(list(predicted), list(truth)))
        pending.clear()

    for example in examples:
        try:
            encoder(example)
        except SkipSample:
            skipped += 1
            continue
        pending.append(example)
        if len(pending) == batch_size:
            flush()
    if pending:
        flush()
    return SegmentationScore(float(np.mean(scores)) if scores else 0.0, len(scores), skipped)
