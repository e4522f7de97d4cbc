"""Driving transformers' `Sam2VideoModel` one frame at a time, without its processor (which needs torchvision).

Three pieces, each mirroring what the processor or Meta's video predictor does:

- `preprocess`: resize to the model's square input, scale to [0, 1], normalize with ImageNet mean/std;
- `add_points` / `add_mask`: register a prompt in the session the way the processor does;
- `ClipSession` + `track_frame`: run the model on a frame while keeping only the state SAM2 still reads.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from transformers import Sam2VideoInferenceSession, Sam2VideoModel
from transformers.models.sam2_video.modeling_sam2_video import Sam2VideoSegmentationOutput

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def preprocess(frame: np.ndarray, image_size: int, device: torch.device) -> torch.Tensor:
    """(H, W, 3) uint8 RGB -> (3, S, S) float32 normalized model input, as Sam2VideoVideoProcessor makes it."""
    pixels = torch.from_numpy(np.ascontiguousarray(frame)).to(device).permute(2, 0, 1)[None].float()
    pixels = F.interpolate(pixels, size=(image_size, image_size), mode="bilinear", align_corners=False, antialias=True)
    mean = torch.tensor(IMAGENET_MEAN, device=device).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD, device=device).view(1, 3, 1, 1)
    return ((pixels / 255.0 - mean) / std)[0]


class ClipSession(Sam2VideoInferenceSession):
    """An inference session over a clip of known length that holds only what SAM2 will read again.

    The model treats the session as a whole video of `clip_length` frames (as Meta's video predictor does, which
    sets how far back object pointers reach), yet frames are added one at a time and dropped once used, and the
    tracking state of a frame is dropped once it is `history` frames behind. SAM2 reads the memories of the last
    `num_maskmem - 1` frames and the object pointers of the last `max_object_pointers_in_encoder - 1`, so with
    `history` at least the larger of the two nothing it reads is lost. Conditioning frames (the prompted ones)
    are all kept: they are few, and SAM2 attends to all of them. Memory is then bounded by the number of
    objects and prompts, not by the clip length.
    """

    def __init__(self, clip_length: int, history: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.clip_length = clip_length
        self.history = history

    @property
    def num_frames(self) -> int:
        return self.clip_length

    def release(self, frame_idx: int, reverse: bool) -> None:
        """Drop the frame, its cached features and the state no later frame (in this direction) will read."""
        self.processed_frames.pop(frame_idx, None)
        self.cache.clear_all()
        for obj_idx, outputs in self.output_dict_per_obj.items():
            if (conditioning := outputs["cond_frame_outputs"].get(frame_idx)) is not None:
                conditioning.pop("high_res_masks", None)  # only read when encoding this frame's memory
            tracked = outputs["non_cond_frame_outputs"]
            if (current := tracked.get(frame_idx)) is not None:
                current.pop("high_res_masks", None)
                current.pop("pred_masks", None)  # only conditioning frames' masks are ever reused
            for table in (tracked, self.frames_tracked_per_obj[obj_idx]):
                for old in [f for f in table if (f - frame_idx if reverse else frame_idx - f) >= self.history]:
                    del table[old]


def add_points(session: ClipSession, object_id: int, frame_idx: int, coords: torch.Tensor, labels: torch.Tensor) -> None:
    """Register points ((N, 2) in model-input pixels) with SAM labels (1 fg, 0 bg, 2/3 box corners)."""
    obj_idx = session.obj_id_to_idx(object_id)
    session.add_point_inputs(
        obj_idx, frame_idx, {"point_coords": coords.float()[None, None], "point_labels": labels.to(torch.int32)[None, None]}
    )
    session.remove_mask_inputs(obj_idx, frame_idx)


def add_mask(session: ClipSession, object_id: int, frame_idx: int, mask: torch.Tensor) -> None:
    """Register a (S, S) 0/1 mask at the model's input size."""
    obj_idx = session.obj_id_to_idx(object_id)
    session.add_mask_inputs(obj_idx, frame_idx, mask.float()[None, None])
    session.remove_point_inputs(obj_idx, frame_idx)


def resize_mask(mask: np.ndarray, image_size: int, device: torch.device) -> torch.Tensor:
    """(H, W) bool -> (S, S) 0/1 float, with the processor's antialiased bilinear resize and 0.5 cut."""
    values = torch.from_numpy(mask.astype(np.float32))[None, None].to(device)
    values = F.interpolate(values, size=(image_size, image_size), mode="bilinear", align_corners=False, antialias=True)
    return (values[0, 0] >= 0.5).float()


def track_frame(
    model: Sam2VideoModel, session: ClipSession, frame_idx: int, reverse: bool, prompted: list[int]
) -> Sam2VideoSegmentationOutput:
    """Run the model on a frame already added to the session, for every object in it.

    `prompted` are the object ids whose prompts on this frame were just registered. transformers' forward
    handles a frame with new prompts in one pass over all objects, but that pass also changes how the objects
    *without* a prompt there are tracked: it resets the direction to forward for every object after a
    prompted one, and binarizes all objects' masks before encoding their memories. So such objects are run
    again in a second pass, from their own memories alone, which keeps every object's track independent of
    when the other objects were prompted (the prompted ones' outputs are reused, not recomputed).
    """
    session.obj_with_new_inputs = list(prompted)
    output = model(inference_session=session, frame_idx=frame_idx, reverse=reverse)
    others = [session.obj_id_to_idx(i) for i in session.obj_ids if i not in prompted]
    if prompted and others:
        for obj_idx in others:
            session.output_dict_per_obj[obj_idx]["non_cond_frame_outputs"].pop(frame_idx, None)
            session.frames_tracked_per_obj[obj_idx].pop(frame_idx, None)
        output = model(inference_session=session, frame_idx=frame_idx, reverse=reverse)
    return output
