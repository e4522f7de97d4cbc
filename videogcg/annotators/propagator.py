"""The mask propagator: SAM2 turns keyframe prompts (boxes, points or masks) into per-frame masks of each object.

Each object is tracked from its prompted keyframes forward to the end of the clip and, when `bidirectional`,
backward to its start; where both directions reach a frame their masks are fused (VideoMolmo's rule, see
`fusion`). All objects of a clip share one pass per direction, so a frame's image features are computed
once per direction whatever the number of objects. An object first prompted mid-clip joins the pass at its
prompt frame: forward-only, it has no mask before it.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
import torch
import torch.nn.functional as F

from videogcg.annotators import registry
from videogcg.annotators.clips import Frames, check_clip
from videogcg.annotators.fusion import fuse_masks
from videogcg.schemas import Box, Masklet, Provenance
from videogcg.schemas.masks import encode, to_box

if TYPE_CHECKING:
    from videogcg.annotators.sam2_session import ClipSession

logger = logging.getLogger(__name__)

"""A clip: a (T, H, W, 3) uint8 RGB array, or a sequence of T (H, W, 3) uint8 arrays."""

BOX_TOLERANCE = 1.0
"""Pixels a box or point may stick out of the frame (rounding in resized detections); it is clipped back."""


@dataclass(frozen=True)
class PropagatorConfig:
    """How to run the propagator.

    `state_window`: frames of tracking state kept behind the current frame. None keeps exactly what SAM2 reads
    (the larger of `num_maskmem` and `max_object_pointers_in_encoder`, 16 for SAM2.1), so memory stays bounded
    on long clips at no cost in accuracy; a smaller window saves a little more memory but changes the masks.
    """

    model: str = "tiny:sam2_video"  # for real use: "hf:facebook/sam2.1-hiera-tiny"
    device: str = "cpu"
    dtype: Literal["float32", "bfloat16"] = "float32"
    fusion_iou: float = 0.7
    mask_threshold: float = 0.0  # on mask logits
    bidirectional: bool = True
    state_window: int | None = None
    cache_dir: str | Path | None = None  # where tiny checkpoints are built; None: $VIDEOGCG_CACHE or ~/.cache/videogcg

    def __post_init__(self) -> None:
        if self.dtype not in ("float32", "bfloat16"):
            raise ValueError(f"dtype must be 'float32' or 'bfloat16', got {self.dtype!r}")
        if not 0.0 <= self.fusion_iou <= 1.0:
            raise ValueError(f"fusion_iou must be in [0, 1], got {self.fusion_iou}")
        if self.state_window is not None and self.state_window < 1:
            raise ValueError(f"state_window must be at least 1 frame, got {self.state_window}")


@dataclass(frozen=True, eq=False)
class Prompt:
    """What marks one object on one frame of the clip: a box, points, a box plus points, or a mask.

    Coordinates are pixels of the clip's frames: `box` is (x, y, width, height) (COCO); `points` are (x, y)
    with `point_labels` 1 (on the object) or 0 (background); `mask` is (H, W) bool. An empty mask says the
    object is absent on that frame.
    """

    object_id: int
    frame: int
    box: Box | None = None
    points: tuple[tuple[float, float], ...] | None = None
    point_labels: tuple[int, ...] | None = None
    mask: np.ndarray | None = None

    def __post_init__(self) -> None:
        where = f"prompt for object {self.object_id} on frame {self.frame}"
        if self.object_id < 0:
            raise ValueError(f"{where}: object_id must be >= 0")
        if self.box is None and self.points is None and self.mask is None:
            raise ValueError(f"{where}: give a box, points or a mask")
        if self.mask is not None:
            if self.box is not None or self.points is not None:
                raise ValueError(f"{where}: a mask prompt cannot be combined with a box or points")
            if self.mask.ndim != 2 or self.mask.dtype != bool:
                raise ValueError(f"{where}: mask must be a 2-D bool array, got {self.mask.dtype} {self.mask.shape}")
        if self.box is not None and (len(self.box) != 4 or self.box[2] <= 0 or self.box[3] <= 0):
            raise ValueError(f"{where}: box must be (x, y, width, height) with positive size, got {self.box}")
        if (self.points is None) != (self.point_labels is None):
            raise ValueError(f"{where}: points and point_labels go together")
        if self.points is not None:
            if not self.points or len(self.points) != len(self.point_labels):
                raise ValueError(f"{where}: {len(self.points)} points but {len(self.point_labels)} point_labels")
            if any(len(p) != 2 for p in self.points) or any(label not in (0, 1) for label in self.point_labels):
                raise ValueError(f"{where}: points must be (x, y) pairs and point_labels 1 (object) or 0 (background)")

    @property
    def kind(self) -> str:
        if self.mask is not None:
            return "mask"
        return "+".join(name for name, value in (("box", self.box), ("points", self.points)) if value is not None)


@dataclass(frozen=True, eq=False)
class PropagationResult:
    """Per object id: `masks` (T, H, W) bool and `scores` (T,) float32, the model's probability that the object
    is present (the larger of the two directions' where both reached the frame; NaN where neither did, i.e.
    before a forward-only object's first prompt)."""

    masks: dict[int, np.ndarray]
    scores: dict[int, np.ndarray]
    provenance: Provenance

    @property
    def object_ids(self) -> list[int]:
        return sorted(self.masks)

    def to_masklets(self, labels: Mapping[int, str]) -> list[Masklet]:
        """One Masklet per object (in object id order), labelled from `labels`; empty masks become None."""
        missing = [i for i in self.object_ids if i not in labels]
        if missing:
            raise KeyError(f"no label for object ids {missing}")
        return [self._masklet(object_id, labels[object_id]) for object_id in self.object_ids]

    def _masklet(self, object_id: int, label: str) -> Masklet:
        rles = [encode(mask) if mask.any() else None for mask in self.masks[object_id]]
        scores = [None if math.isnan(s) else float(s) for s in self.scores[object_id]]
        present = [s for rle, s in zip(rles, scores) if rle is not None and s is not None]
        return Masklet(
            object_id=object_id,
            label=label,
            masks=tuple(rles),
            boxes=tuple(None if rle is None else to_box(rle) for rle in rles),
            scores=tuple(scores),
            score=float(np.mean(present)) if present else None,
            provenance=self.provenance,
        )


@dataclass(frozen=True)
class _FrameOutput:
    object_ids: list[int]
    masks: np.ndarray  # (N, H, W) bool
    presence: np.ndarray  # (N,) float32


class MaskPropagator:
    """SAM2 video propagation over clips. Loads its model once (`load`), then takes one clip per `propagate`."""

    def __init__(self, config: PropagatorConfig | None = None) -> None:
        self.config = config or PropagatorConfig()
        self._loaded: registry.LoadedModel | None = None

    def load(self) -> registry.LoadedModel:
        if self._loaded is None:
            cache_dir = Path(self.config.cache_dir) if self.config.cache_dir is not None else None
            self._loaded = registry.load(self.config.model, "sam2_video", self.config.device, self.config.dtype, cache_dir)
        return self._loaded

    def _image_size(self) -> int:
        """The side of the square input the model was built for (1024 for SAM2.1)."""
        return self.load().model.config.image_size

    def propagate(self, frames: Frames, prompts: Sequence[Prompt]) -> PropagationResult:
        """Masks of every prompted object on every frame of `frames` ((T, H, W, 3) uint8 RGB, or T such frames)."""
        num_frames, height, width = check_clip(frames)
        prompts = _check_prompts(prompts, num_frames, height, width)
        loaded = self.load()
        object_ids = sorted({p.object_id for p in prompts})
        masks = {i: np.zeros((num_frames, height, width), dtype=bool) for i in object_ids}
        scores = {i: np.full(num_frames, np.nan, dtype=np.float32) for i in object_ids}

        started = time.perf_counter()
        for output_frame, output in self._pass(frames, prompts, reverse=False):
            for k, object_id in enumerate(output.object_ids):
                masks[object_id][output_frame] = output.masks[k]
                scores[object_id][output_frame] = output.presence[k]
        if self.config.bidirectional:
            for output_frame, output in self._pass(frames, prompts, reverse=True):
                for k, object_id in enumerate(output.object_ids):
                    forward_score = scores[object_id][output_frame]
                    forward_mask = None if np.isnan(forward_score) else masks[object_id][output_frame]
                    masks[object_id][output_frame] = fuse_masks(forward_mask, output.masks[k], self.config.fusion_iou)
                    scores[object_id][output_frame] = np.fmax(forward_score, output.presence[k])
        elapsed = time.perf_counter() - started
        logger.info("propagated %d objects over %d frames (%dx%d) in %.2fs", len(object_ids), num_frames, width, height, elapsed)
        provenance = loaded.provenance(
            image_size=self._image_size(),
            mask_threshold=self.config.mask_threshold,
            bidirectional=self.config.bidirectional,
            fusion_iou=self.config.fusion_iou,
            prompt_kinds=sorted({p.kind for p in prompts}),
        )
        return PropagationResult(masks=masks, scores=scores, provenance=provenance)

    def _pass(self, frames: Frames, prompts: list[Prompt], reverse: bool) -> Iterator[tuple[int, _FrameOutput]]:
        """One direction over the clip, from the first (last, when reversed) prompted frame, yielding each frame's output."""
        from videogcg.annotators import sam2_session

        loaded = self.load()
        config = loaded.model.config
        height, width = frames[0].shape[:2]
        by_frame: dict[int, list[Prompt]] = {}
        for prompt in prompts:
            by_frame.setdefault(prompt.frame, []).append(prompt)
        session = sam2_session.ClipSession(
            clip_length=len(frames),
            history=self.config.state_window or max(config.num_maskmem, config.max_object_pointers_in_encoder),
            video_height=height,
            video_width=width,
            inference_device=loaded.device,
            inference_state_device=loaded.device,
            video_storage_device=loaded.device,
            dtype=loaded.dtype,
        )
        order = range(max(by_frame), -1, -1) if reverse else range(min(by_frame), len(frames))
        for frame_idx in order:
            yield frame_idx, self._step(session, frames[frame_idx], frame_idx, by_frame.get(frame_idx, []), reverse)

    @torch.inference_mode()
    def _step(self, session: ClipSession, frame: np.ndarray, frame_idx: int, new_prompts: list[Prompt], reverse: bool) -> _FrameOutput:
        """Register the frame's prompts, track every object onto it, drop what is no longer needed, upsample the masks."""
        from videogcg.annotators import sam2_session

        loaded = self.load()
        height, width = frame.shape[:2]
        for prompt in new_prompts:
            self._register(session, prompt, height, width)
        session.add_new_frame(sam2_session.preprocess(frame, self._image_size(), loaded.device), frame_idx)
        output = sam2_session.track_frame(loaded.model, session, frame_idx, reverse, [p.object_id for p in new_prompts])
        session.release(frame_idx, reverse)
        logits = F.interpolate(output.pred_masks.float(), size=(height, width), mode="bilinear", align_corners=False)
        return _FrameOutput(
            object_ids=list(output.object_ids),
            masks=(logits[:, 0] > self.config.mask_threshold).cpu().numpy(),
            presence=torch.sigmoid(output.object_score_logits.float()).reshape(-1).cpu().numpy(),
        )

    def _register(self, session: ClipSession, prompt: Prompt, height: int, width: int) -> None:
        from videogcg.annotators import sam2_session

        device, size = self.load().device, self._image_size()
        if prompt.mask is not None:
            sam2_session.add_mask(session, prompt.object_id, prompt.frame, sam2_session.resize_mask(prompt.mask, size, device))
            return
        coords, labels = [], []
        if prompt.box is not None:  # SAM encodes a box as its two corners, labelled 2 and 3, before any points
            x, y, w, h = prompt.box
            coords += [(x, y), (x + w, y + h)]
            labels += [2, 3]
        if prompt.points is not None:
            coords += list(prompt.points)
            labels += list(prompt.point_labels)
        scaled = torch.tensor(coords, dtype=torch.float32) * torch.tensor([size / width, size / height])
        sam2_session.add_points(session, prompt.object_id, prompt.frame, scaled.to(device), torch.tensor(labels))


def _check_prompts(prompts: Sequence[Prompt], num_frames: int, height: int, width: int) -> list[Prompt]:
    """The prompts in a canonical order (frame, object id), checked against the clip; boxes and points within
    `BOX_TOLERANCE` of the frame are clipped to it."""
    if not prompts:
        raise ValueError("no prompts: give at least one box, points or mask prompt to propagate")
    seen: set[tuple[int, int]] = set()
    checked = []
    for prompt in sorted(prompts, key=lambda p: (p.frame, p.object_id)):
        where = f"prompt for object {prompt.object_id} on frame {prompt.frame}"
        if not 0 <= prompt.frame < num_frames:
            raise ValueError(f"{where}: frame is outside the clip of {num_frames} frames (0-{num_frames - 1})")
        if (prompt.object_id, prompt.frame) in seen:
            raise ValueError(f"{where}: more than one prompt for this object on this frame")
        seen.add((prompt.object_id, prompt.frame))
        if prompt.mask is not None and prompt.mask.shape != (height, width):
            raise ValueError(f"{where}: mask is {prompt.mask.shape[1]}x{prompt.mask.shape[0]}, frames are {width}x{height}")
        box = prompt.box
        if box is not None:
            corners = (box[0], box[1], box[0] + box[2], box[1] + box[3])
            x0, y0, x1, y1 = _inside(f"{where}: box {box}", corners, height, width)
            box = (x0, y0, x1 - x0, y1 - y0)
        points = prompt.points
        if points is not None:
            points = tuple(_inside(f"{where}: point {tuple(p)}", tuple(p), height, width) for p in points)
        checked.append(Prompt(prompt.object_id, prompt.frame, box, points, prompt.point_labels, prompt.mask))
    return checked


def _inside(what: str, xy: tuple[float, ...], height: int, width: int) -> tuple[float, ...]:
    """Coordinates (x, y, x, y, ...) clipped to the frame, or a ValueError if they fall more than the tolerance outside."""
    limits = [width if i % 2 == 0 else height for i in range(len(xy))]
    if any(v < -BOX_TOLERANCE or v > limit + BOX_TOLERANCE for v, limit in zip(xy, limits)):
        raise ValueError(f"{what} lies outside the {width}x{height} frame")
    return tuple(float(min(max(v, 0.0), limit)) for v, limit in zip(xy, limits))
