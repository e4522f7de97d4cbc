"""Captions from a vision-language model (image-text-to-text with a chat template).

- `caption_clips`: a dense caption of each clip from N evenly spaced frames.
- `describe_objects`: a description of each object from crops around its box (or mask), where it shows largest.
- `grounded_captions`: one dense caption per clip that mentions every described object once, tagged
  ``[phrase](id)``, validated like the refiner's output (every id, none invented) and re-asked when invalid.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from videogcg.annotators.base import GenerativeAnnotator
from videogcg.annotators.clips import check_clip
from videogcg.annotators.crops import Box, best_views, crop_around
from videogcg.annotators.refiner import RefinedCaption
from videogcg.schemas import Masklet, TextField
from videogcg.schemas.markup import ParsedMarkup, parse_bracketed
from videogcg.schemas.masks import to_box


@dataclass(frozen=True)
class ObjectToDescribe:
    object_id: int
    label: str
    boxes: list[Box | None]  # one per frame of the clip, None where the object is absent

    @classmethod
    def from_masklet(cls, track: Masklet) -> ObjectToDescribe:
        """From a track of the sample (masks-only sources): its boxes, or the tight boxes of its masks."""
        boxes = [box if box is not None else (None if mask is None else to_box(mask)) for box, mask in zip(track.boxes, track.masks)]
        return cls(track.object_id, track.label, boxes)


def evenly_spaced(count: int, total: int) -> list[int]:
    return sorted(set(np.linspace(0, total - 1, min(count, total)).round().astype(int).tolist()))


def check_all_ids(reply: str, object_ids: set[int]) -> ParsedMarkup:
    """Parse a tagged caption; every id must be known and each object tagged exactly once."""
    parsed = parse_bracketed(reply, known_ids=object_ids)
    tagged = [i for span in parsed.spans for i in span.object_ids]
    missing = sorted(object_ids - set(tagged))
    repeated = sorted({i for i in tagged if tagged.count(i) > 1})
    if missing or repeated:
        raise ValueError(
            "; ".join(p for p in (missing and f"objects not tagged: {missing}", repeated and f"objects tagged twice: {repeated}") if p)
        )
    return parsed


@dataclass
class Captioner(GenerativeAnnotator):
    family: ClassVar[str] = "vlm"

    model: str = "tiny:vlm"
    num_frames: int = 8
    crops_per_object: int = 3
    crop_scale: float = 2.0
    min_box_area: float = 0.0  # VideoGLaMM keeps views of at least 2500 px; 0 keeps every view
    batch_size: int = 4

    def caption_clips(self, clips: Sequence[np.ndarray]) -> list[TextField]:
        views = []
        for n, clip in enumerate(clips):
            check_clip(clip, f"clip {n}")
            views.append([clip[t] for t in evenly_spaced(self.num_frames, len(clip))])
        replies = self.ask([self.prompts.dense_caption] * len(clips), views)
        provenance = self.provenance(num_frames=self.num_frames)
        return [TextField(text=reply, provenance=provenance) for reply in replies]

    def describe_objects(self, frames: np.ndarray, objects: Sequence[ObjectToDescribe]) -> list[TextField]:
        check_clip(frames)
        texts, views = [], []
        for obj in objects:
            if len(obj.boxes) != len(frames):
                raise ValueError(f"object {obj.object_id}: {len(obj.boxes)} boxes for {len(frames)} frames")
            chosen = best_views(obj.boxes, self.crops_per_object, self.min_box_area)
            if not chosen:
                raise ValueError(f"object {obj.object_id}: no frame shows it (at least {self.min_box_area} px)")
            views.append([crop_around(frames[t], obj.boxes[t], self.crop_scale) for t in chosen])
            texts.append(self.prompts.object_description.format(label=obj.label))
        replies = self.ask(texts, views)
        provenance = self.provenance(crops_per_object=self.crops_per_object, crop_scale=self.crop_scale)
        return [TextField(text=reply, provenance=provenance) for reply in replies]

    def grounded_captions(self, clips: Sequence[np.ndarray], descriptions: Sequence[dict[int, str]]) -> list[RefinedCaption]:
        """One tagged dense caption per clip; `descriptions[i]` maps object id to its description."""
        texts, views = [], []
        for n, (clip, described) in enumerate(zip(clips, descriptions, strict=True)):
            check_clip(clip, f"clip {n}")
            if not described:
                raise ValueError(f"clip {n}: no object descriptions to tie into a caption")
            listing = "\n".join(f"{object_id}: {text}" for object_id, text in sorted(described.items()))
            texts.append(self.prompts.grounded_caption.format(objects=listing))
            views.append([clip[t] for t in evenly_spaced(self.num_frames, len(clip))])
        results = self.ask_validated(texts, lambda i, reply: (reply, check_all_ids(reply, set(descriptions[i]))), views)
        provenance = self.provenance(num_frames=self.num_frames, max_attempts=self.max_attempts)
        return [RefinedCaption(*(r.value or (None, None)), provenance=provenance, attempts=r.attempts, reason=r.reason) for r in results]
