"""A review applied to its sample: accept, reject, edited masks re-propagated with SAM2, an edited answer.

Every field a reviewer changed gets human provenance (who, when, what changed); fields they left alone keep
theirs. An edited mask on a keyframe becomes a SAM2 mask prompt: the object is tracked again from the
edited keyframe(s) through the clip, and the edited keyframes keep exactly what was drawn. Times come from
the annotation, never from the clock, so applying the same reviews twice gives the same samples.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from videogcg.review_ui.tasks import Review, ReviewError
from videogcg.schemas import Masklet, Provenance, ReviewState, Sample, TextField, Turn
from videogcg.schemas import masks as rle
from videogcg.schemas.errors import MarkupError
from videogcg.schemas.markup import parse_bracketed, render_bracketed

# (frames (T, H, W, 3), {object id: {position: drawn mask}}) -> {object id: (masks (T, H, W), scores (T,))}
Repropagate = Callable[[np.ndarray, dict[int, dict[int, np.ndarray]]], dict[int, tuple[np.ndarray, np.ndarray]]]


@dataclass(frozen=True)
class Applied:
    """The sample after review (None if rejected), and per edited keyframe mask the IoU of ours against theirs."""

    sample: Sample | None
    rejected_reason: str | None
    changed: tuple[str, ...]
    edited_mask_ious: tuple[float, ...]


def _provenance(review: Review, what: str, **parameters) -> Provenance:
    return Provenance(
        kind="human", name=review.reviewer, parameters={"task": review.task_id, "changed": what, **parameters}, created_at=review.at
    )


def _edited_masks(sample: Sample, review: Review) -> dict[int, dict[int, np.ndarray]]:
    """{object id: {position: drawn mask}} where the drawing differs from the pipeline's mask."""
    if not review.masks:  # no brush region at all: the masks were not reviewed (nothing was loaded to edit)
        return {}
    positions = sorted({position for position, _ in review.masks})
    unknown = sorted({o for _, o in review.masks} - {t.object_id for t in sample.objects})
    if unknown:
        raise ReviewError(f"task {review.task_id} ({sample.key}): masks labelled with objects {unknown} the sample does not have")
    edited: dict[int, dict[int, np.ndarray]] = {}
    height, width = sample.video.height, sample.video.width
    for track in sample.objects:
        for position in positions:
            ours = rle.decode(track.masks[position]) if track.masks[position] is not None else np.zeros((height, width), bool)
            theirs = review.masks.get((position, track.object_id), np.zeros((height, width), bool))
            if not np.array_equal(ours, theirs):
                edited.setdefault(track.object_id, {})[position] = theirs
    return edited


def _mask_iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / union) if union else 1.0


def _retracked(
    track: Masklet, drawn: dict[int, np.ndarray], tracked: tuple[np.ndarray, np.ndarray] | None, review: Review, propagator: str
) -> Masklet:
    masks, scores = list(track.masks), list(track.scores)
    if tracked is not None:
        new_masks, new_scores = tracked
        masks = [rle.encode(m) if m.any() else None for m in new_masks]
        scores = [None if np.isnan(s) else float(s) for s in new_scores]
    for position, mask in drawn.items():  # what the reviewer drew stands as drawn
        masks[position] = rle.encode(mask) if mask.any() else None
        scores[position] = None
    boxes = [None if m is None else rle.to_box(m) for m in masks]
    provenance = _provenance(
        review,
        "masks",
        edited_frames=sorted(drawn),
        repropagated_with=propagator if tracked is not None else None,
        previous=track.provenance.name,
    )
    return track.model_copy(
        update={
            "masks": tuple(masks),
            "boxes": tuple(boxes),
            "scores": tuple(scores),
            "score": None,
            "provenance": provenance,
            "review": ReviewState.HUMAN_EDITED,
        }
    )


def _edited_turn(sample: Sample, review: Review) -> Turn | None:
    """The first turn with the reviewer's answer, or None if they left it as it was."""
    turn = sample.conversation[0]
    if review.answer is None or review.answer.strip() == render_bracketed(turn.answer.text, turn.phrases).strip():
        return None
    try:
        parsed = parse_bracketed(review.answer.strip(), known_ids={t.object_id for t in sample.objects})
        phrases = parsed.phrases()
    except MarkupError as error:
        raise ReviewError(f"task {review.task_id} ({sample.key}): edited answer: {error}") from None
    answer = TextField(
        text=parsed.text, provenance=_provenance(review, "answer", previous=turn.answer.text), review=ReviewState.HUMAN_EDITED
    )
    return turn.model_copy(update={"answer": answer, "phrases": phrases})


def apply_review(sample: Sample, frames: np.ndarray, review: Review, repropagate: Repropagate) -> Applied:
    if review.decision == "reject":
        return Applied(None, review.reason or "rejected by the reviewer", ("rejected",), ())
    edited = _edited_masks(sample, review)
    turn = _edited_turn(sample, review) if sample.conversation else None
    ious = []
    for object_id, drawn in edited.items():
        track = next(t for t in sample.objects if t.object_id == object_id)
        for position, mask in drawn.items():
            ours = rle.decode(track.masks[position]) if track.masks[position] is not None else np.zeros_like(mask)
            ious.append(_mask_iou(ours, mask))
    prompts = {o: {p: m for p, m in drawn.items() if m.any()} for o, drawn in edited.items()}
    tracked = repropagate(frames, {o: d for o, d in prompts.items() if d}) if any(prompts.values()) else {}
    objects = tuple(
        _retracked(t, edited[t.object_id], tracked.get(t.object_id), review, getattr(repropagate, "name", "custom"))
        if t.object_id in edited
        else t
        for t in sample.objects
    )
    changed = tuple([f"masks of object {o}" for o in sorted(edited)] + (["answer"] if turn else []))
    if not changed:
        objects = tuple(t.model_copy(update={"review": ReviewState.HUMAN_ACCEPTED}) for t in objects)
    conversation = ((turn,) + sample.conversation[1:]) if turn else sample.conversation
    state = ReviewState.HUMAN_EDITED if changed or review.decision == "fixed" else ReviewState.HUMAN_ACCEPTED
    meta = {
        **sample.meta,
        "review": {
            "task": review.task_id,
            "reviewer": review.reviewer,
            "at": review.at.isoformat(),
            "decision": review.decision,
            "changed": list(changed),
        },
    }
    updated = sample.model_copy(update={"objects": objects, "conversation": conversation, "review": state, "meta": meta})
    return Applied(Sample.model_validate(updated.model_dump()), None, changed, tuple(ious))


class SAM2Repropagation:
    """Re-tracks edited objects with the pipeline's SAM2 propagator, the drawn masks as prompts."""

    def __init__(self, propagator):
        self.propagator = propagator
        self.name = propagator.config.model

    def __call__(self, frames: np.ndarray, drawn: dict[int, dict[int, np.ndarray]]) -> dict[int, tuple[np.ndarray, np.ndarray]]:
        from videogcg.annotators.propagator import Prompt

        prompts = [Prompt(object_id=o, frame=p, mask=m) for o, masks in sorted(drawn.items()) for p, m in sorted(masks.items())]
        result = self.propagator.propagate(frames, prompts)
        return {o: (result.masks[o], result.scores[o]) for o in drawn}
