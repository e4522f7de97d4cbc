"""COCO run-length encoded masks, through pycocotools.

Masks are stored as compressed COCO RLE (`{"size": [h, w], "counts": "<ascii>"}`), the form used by
YouTube-VIS, MeViS and VideoGLaMM's own files. All arithmetic goes through pycocotools' C code.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from pycocotools import mask as coco_mask
from pydantic import BaseModel, ConfigDict, Field, model_validator

from videogcg.schemas.errors import FieldError


class RLE(BaseModel):
    """A compressed COCO RLE mask. `size` is (height, width)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    size: tuple[int, int] = Field(description="(height, width)")
    counts: str

    @model_validator(mode="after")
    def _check_runs(self) -> RLE:
        """pycocotools decodes a truncated or garbled string without complaint; the runs must cover the mask exactly."""
        height, width = self.size
        if height < 0 or width < 0:
            raise FieldError("size", f"negative size {self.size}")
        runs = _runs(self.counts)
        if runs is None or any(r < 0 for r in runs) or sum(runs) != height * width:
            raise FieldError("counts", f"not a compressed COCO RLE of a {height}x{width} mask")
        return self

    def to_coco(self) -> dict:
        return {"size": list(self.size), "counts": self.counts.encode("ascii")}

    @classmethod
    def from_coco(cls, rle: dict) -> RLE:
        counts = rle["counts"]
        if isinstance(counts, list):  # uncompressed RLE, as some datasets ship
            h, w = rle["size"]
            rle = coco_mask.frPyObjects(rle, h, w)
            counts = rle["counts"]
        if isinstance(counts, bytes):
            counts = counts.decode("ascii")
        return cls(size=(int(rle["size"][0]), int(rle["size"][1])), counts=counts)


def _runs(counts: str) -> list[int] | None:
    """The run lengths of a compressed COCO RLE string (the inverse of pycocotools' rleToString), None if malformed."""
    runs: list[int] = []
    position = 0
    while position < len(counts):
        value, shift, more = 0, 0, True
        while more:
            if position >= len(counts):
                return None
            c = ord(counts[position]) - 48
            if not 0 <= c < 64:
                return None
            value |= (c & 0x1F) << 5 * shift
            more = bool(c & 0x20)
            position += 1
            shift += 1
            if not more and c & 0x10:
                value |= -1 << 5 * shift
        if len(runs) > 2:
            value += runs[-2]
        runs.append(value)
    return runs


def encode(mask: np.ndarray) -> RLE:
    """Encode a 2-D boolean (or 0/1) mask."""
    if mask.ndim != 2:
        raise ValueError(f"mask must be 2-D (height, width), got shape {mask.shape}")
    return RLE.from_coco(coco_mask.encode(np.asfortranarray(mask.astype(np.uint8, copy=False))))


def decode(rle: RLE) -> np.ndarray:
    """Decode to a (height, width) boolean array."""
    return coco_mask.decode(rle.to_coco()).astype(bool)


def area(rle: RLE) -> int:
    return int(coco_mask.area(rle.to_coco()))


def to_box(rle: RLE) -> tuple[float, float, float, float] | None:
    """Tight (x, y, w, h) box of the mask, None for an empty mask."""
    if area(rle) == 0:
        return None
    x, y, w, h = coco_mask.toBbox(rle.to_coco()).tolist()
    return (x, y, w, h)


def iou(a: RLE, b: RLE) -> float:
    """Intersection over union. Two empty masks agree perfectly (1.0), as in the DAVIS J measure."""
    if a.size != b.size:
        raise ValueError(f"cannot compare masks of size {a.size} and {b.size}")
    if area(a) == 0 and area(b) == 0:
        return 1.0
    return float(coco_mask.iou([a.to_coco()], [b.to_coco()], [0])[0][0])


def union(masks: Sequence[RLE]) -> RLE:
    """Pixel-wise union of masks of one size (how several objects of one phrase become one mask)."""
    if not masks:
        raise ValueError("union of no masks")
    _same_size(masks)
    return RLE.from_coco(coco_mask.merge([m.to_coco() for m in masks], intersect=False))


def intersection(masks: Sequence[RLE]) -> RLE:
    if not masks:
        raise ValueError("intersection of no masks")
    _same_size(masks)
    return RLE.from_coco(coco_mask.merge([m.to_coco() for m in masks], intersect=True))


def _same_size(masks: Sequence[RLE]) -> None:
    sizes = {m.size for m in masks}
    if len(sizes) != 1:
        raise ValueError(f"cannot merge masks of different sizes {sorted(sizes)}")


def empty(height: int, width: int) -> RLE:
    return encode(np.zeros((height, width), dtype=bool))
