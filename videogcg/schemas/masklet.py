"""An object track: one mask (or none) and one box (or none) per sampled frame."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from videogcg.schemas.errors import FieldError
from videogcg.schemas.masks import RLE
from videogcg.schemas.provenance import Provenance, ReviewState

Box = tuple[float, float, float, float]
"""(x, y, width, height) in pixels, COCO convention."""


class Masklet(BaseModel):
    """An object followed through the sampled frames of a clip.

    `masks`, `boxes` and `scores` are aligned with the sample's `clip.frame_indices`; `None` marks a frame
    where the object is absent (or, for scores, where no score exists).
    """

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    object_id: int = Field(ge=0)
    label: str = Field(min_length=1, description="class name or short description")
    masks: tuple[RLE | None, ...]
    boxes: tuple[Box | None, ...]
    scores: tuple[float | None, ...]
    score: float | None = Field(default=None, description="track-level confidence, None for ground truth")
    provenance: Provenance
    review: ReviewState = ReviewState.AUTO

    @model_validator(mode="after")
    def _check_lengths(self) -> Masklet:
        n = len(self.masks)
        for name in ("boxes", "scores"):
            if len(getattr(self, name)) != n:
                raise FieldError(name, f"has {len(getattr(self, name))} entries, masks has {n}")
        for i, box in enumerate(self.boxes):
            if box is not None and (box[2] < 0 or box[3] < 0):
                raise FieldError(f"boxes[{i}]", f"negative width or height in {box}")
        return self

    @property
    def num_masks(self) -> int:
        return sum(m is not None for m in self.masks)
