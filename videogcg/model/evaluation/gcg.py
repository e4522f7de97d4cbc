"""GCG and referring metrics of one dataset (predictions) against another (ground truth), sample by sample.

Samples are paired by key (or by source video and clip with `by="clip"`, to score the annotation pipeline's
own output on raw videos against ground truth made another way). Per pair, the first turn's phrases and their
masks are compared: grounded descriptions give mIoU (greedy one-to-one matching on clip-level IoU), recall
(a ground-truth phrase is found when a match has IoU >= 0.5 and text similarity >= 0.5; matches are chosen
greedily by IoU among the pairs meeting both) and CIDEr-D of the answers; referring answers give J, F and
J&F of the referred object. A ground-truth sample without a prediction scores 0 and an empty answer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from videogcg.model.evaluation.caption import cider_d
from videogcg.model.evaluation.masks import greedy_pairs, iou_matrix, miou
from videogcg.model.evaluation.referring import j_and_f
from videogcg.pipeline.processor import REFERRING_ANSWER
from videogcg.schemas import Sample
from videogcg.shards import ShardSample, iter_dataset

IOU_THRESHOLD = 0.5
TEXT_THRESHOLD = 0.5


def recall_matches(
    predicted: list[np.ndarray],
    predicted_text: list[str],
    truth: list[np.ndarray],
    truth_text: list[str],
    similarity: Callable[[str, str], float],
) -> int:
    """How many ground-truth phrases find a predicted one with IoU >= 0.5 and text similarity >= 0.5."""
    ious = iou_matrix(truth, predicted)
    texts = np.array([[similarity(t, p) for p in predicted_text] for t in truth_text]).reshape(ious.shape)
    return len(greedy_pairs(ious, admissible=texts >= TEXT_THRESHOLD, minimum=IOU_THRESHOLD))


def _phrases(item: ShardSample) -> tuple[list[np.ndarray], list[str]]:
    if not item.sample.conversation:
        return [], []
    return list(item.phrase_masks(0)), [p.text for p in item.sample.conversation[0].phrases]


def _is_referring(sample: Sample) -> bool:
    return bool(sample.conversation) and sample.conversation[0].answer.provenance.name == REFERRING_ANSWER


def _pair_key(sample: Sample, by: str) -> tuple:
    if by == "key":
        return (sample.key,)
    return (sample.video_id, sample.clip.start, sample.clip.end, tuple(sample.clip.frame_indices), sample.conversation_index)


@dataclass(frozen=True)
class Evaluation:
    samples: int
    missing_predictions: int
    miou: float | None
    recall: float | None
    cider: float | None
    referring: int
    j: float | None
    f: float | None
    j_and_f: float | None

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def evaluate(predictions: str | Path, references: str | Path, similarity: Callable[[str, str], float], by: str = "key") -> Evaluation:
    predicted = {_pair_key(item.sample, by): item for item in iter_dataset(predictions)}
    mious, found, phrases, candidates, answers, referring = [], 0, 0, [], [], []
    missing = 0
    for truth in iter_dataset(references):
        item = predicted.get(_pair_key(truth.sample, by))
        missing += item is None
        if item is not None and item.masks.shape[1:] != truth.masks.shape[1:]:
            raise ValueError(
                f"{truth.sample.key}: predicted clip has {item.masks.shape[1:]} frames x pixels, ground truth {truth.masks.shape[1:]}"
            )
        truth_masks, truth_text = _phrases(truth)
        pred_masks, pred_text = _phrases(item) if item is not None else ([], [])
        if _is_referring(truth.sample) and truth_masks:
            shape = truth_masks[0].shape
            guess = np.any(pred_masks, axis=0) if pred_masks else np.zeros(shape, bool)
            referring.append(j_and_f(guess, np.any(truth_masks, axis=0)))
            continue
        mious.append(miou(pred_masks, truth_masks))
        found += recall_matches(pred_masks, pred_text, truth_masks, truth_text, similarity) if pred_masks and truth_masks else 0
        phrases += len(truth_text)
        candidates.append(item.sample.conversation[0].answer.text if item is not None and item.sample.conversation else "")
        answers.append([truth.sample.conversation[0].answer.text] if truth.sample.conversation else [""])
    scores = np.array(referring).reshape(-1, 3)
    return Evaluation(
        samples=len(mious) + len(referring),
        missing_predictions=missing,
        miou=float(np.mean(mious)) if mious else None,
        recall=found / phrases if phrases else None,
        cider=cider_d(candidates, answers)[0] if candidates else None,
        referring=len(referring),
        j=float(scores[:, 0].mean()) if len(scores) else None,
        f=float(scores[:, 1].mean()) if len(scores) else None,
        j_and_f=float(scores[:, 2].mean()) if len(scores) else None,
    )
