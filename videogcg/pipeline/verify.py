"""Automatic checks of a composed sample, a confidence, and a route: accept, review or drop.

Per object: visibility (frames where its mask reaches `min_mask_area`), temporal stability (mean IoU of
masks on consecutive sampled frames), its detector/tracker score, and, where the source has ground-truth
masks, IoU against them. Per sample: a phrase grounded to an object with no mask, two phrases on one
object, one object tracked twice (two tracks that overlap on most frames). The confidence is the share of
checks passed; a sample-level problem caps it at the review level.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from videogcg.pipeline.settings import VerifyConfig
from videogcg.schemas import RLE, Box, Masklet, Sample
from videogcg.schemas import masks as rle

DUPLICATE_IOU = 0.8


class Route(str, Enum):
    ACCEPT = "accept"
    REVIEW = "review"
    DROP = "drop"


@dataclass(frozen=True)
class Verdict:
    confidence: float
    route: Route
    reasons: tuple[str, ...]
    checks: dict[str, float] = field(default_factory=dict)

    def as_meta(self) -> dict:
        return {"confidence": round(self.confidence, 4), "route": self.route.value, "reasons": list(self.reasons), "checks": self.checks}


def _present(mask: RLE | None, min_area: int) -> bool:
    return mask is not None and rle.area(mask) >= min_area


def temporal_stability(track: Masklet) -> float | None:
    """Mean IoU of the masks on consecutive sampled frames where both exist; None with fewer than two."""
    pairs = [(a, b) for a, b in zip(track.masks, track.masks[1:]) if a is not None and b is not None]
    if not pairs:
        return None
    return sum(rle.iou(a, b) for a, b in pairs) / len(pairs)


def _tracked_twice(a: Masklet, b: Masklet) -> bool:
    both = [(x, y) for x, y in zip(a.masks, b.masks) if x is not None and y is not None]
    return len(both) >= max(1, len(a.masks) // 2) and all(rle.iou(x, y) >= DUPLICATE_IOU for x, y in both)


def box_iou(a: Box, b: Box) -> float:
    """IoU of two (x, y, w, h) boxes."""
    width = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    height = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    inter = max(0.0, width) * max(0.0, height)
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else 0.0


def verify(sample: Sample, config: VerifyConfig, reference_boxes: dict[int, tuple[Box | None, ...]] | None = None) -> Verdict:
    """`reference_boxes`: a source's boxes by object id at the sample's frames, where it has them."""
    checks: dict[str, float] = {}
    passed: list[bool] = []
    reasons: list[str] = []

    def check(name: str, value: float, threshold: float) -> None:
        checks[name] = round(value, 4)
        passed.append(value >= threshold)
        if value < threshold:
            reasons.append(f"{name} {value:.2f} < {threshold}")

    for track in sample.objects:
        prefix = f"object {track.object_id}"
        visible = sum(_present(m, config.min_mask_area) for m in track.masks) / max(1, len(track.masks))
        check(f"{prefix} visible", visible, config.min_visible_fraction)
        stability = temporal_stability(track)
        if stability is not None:
            check(f"{prefix} stability", stability, config.min_temporal_iou)
        if track.score is not None:
            check(f"{prefix} score", track.score, config.min_score)
        if reference_boxes and track.object_id in reference_boxes:
            ious = [
                0.0 if ours is None else box_iou(ours, theirs)
                for ours, theirs in zip(track.boxes, reference_boxes[track.object_id])
                if theirs is not None
            ]
            if ious:
                check(f"{prefix} box iou vs source", sum(ious) / len(ious), config.min_source_iou)

    problems = []
    tracks = {t.object_id: t for t in sample.objects}
    for turn in sample.conversation:
        seen: dict[int, str] = {}
        for phrase in turn.phrases:
            for object_id in phrase.object_ids:
                if tracks[object_id].num_masks == 0:
                    problems.append(f"phrase {phrase.text!r} is grounded to object {object_id}, which has no mask")
                if object_id in seen:
                    problems.append(f"phrases {seen[object_id]!r} and {phrase.text!r} are on the same object {object_id}")
                seen[object_id] = phrase.text
        if not turn.phrases:
            problems.append("the answer grounds no phrase")
    ordered = sorted(tracks.values(), key=lambda t: t.object_id)
    for i, a in enumerate(ordered):
        for b in ordered[i + 1 :]:
            if _tracked_twice(a, b):
                problems.append(f"objects {a.object_id} and {b.object_id} look like one object tracked twice")

    confidence = sum(passed) / len(passed) if passed else 0.0
    if problems:
        confidence = min(confidence, config.accept_confidence - 1e-6)
    if confidence >= config.accept_confidence:
        route = Route.ACCEPT
    elif confidence >= config.review_confidence:
        route = Route.REVIEW
    else:
        route = Route.DROP
    return Verdict(confidence, route, tuple(problems + reasons), checks)
