"""Ground noun phrases to boxes on a clip's keyframes with Grounding DINO.

The phrases of a clip are joined into one Grounding DINO prompt ("a red square. a blue circle."), and
every predicted box is tied to phrases through the phrases' token spans in that prompt, never by matching
decoded label strings: the model's output is a (query, token) score, so a phrase's score for a query is
the highest sigmoid score over the phrase's tokens. This re-states transformers'
`post_process_grounded_object_detection` per phrase:

- a query is a box if its best score over all phrase tokens exceeds `box_threshold` (the post-processor
  also counts the "." separators and [CLS]/[SEP]; a box that matches only those belongs to no phrase);
- it is a detection of every phrase with a token scoring above `text_threshold` (the post-processor
  labels a box with exactly those tokens), scored with that phrase's score;
- then per-phrase NMS, and at most `max_detections_per_phrase` boxes per phrase and frame.

Detection runs on several evenly spaced keyframes, not one frame, so a phrase whose object is hidden or
out of view in one part of the clip can still be found in another.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from videogcg.annotators import registry
from videogcg.annotators.clips import Frames, check_clip, uniform_indices
from videogcg.annotators.nms import batched_nms
from videogcg.schemas import Provenance

logger = logging.getLogger(__name__)

FAMILY = "grounding_dino"
# Grounding DINO splits its prompt into phrases at these characters; they cannot appear inside a phrase.
_SEPARATOR_CHARACTERS = str.maketrans({".": " ", "?": " "})


@dataclass(frozen=True)
class GrounderConfig:
    model: str = "tiny:grounding_dino"  # users: "hf:IDEA-Research/grounding-dino-tiny"
    device: str = "cpu"
    dtype: str = "float32"  # "float32" | "bfloat16"
    box_threshold: float = 0.35
    text_threshold: float = 0.25
    nms_iou: float = 0.5
    num_keyframes: int = 3
    batch_size: int = 4  # frames per forward pass
    max_detections_per_phrase: int = 5  # per phrase and keyframe, after NMS
    cache_dir: str | Path | None = None  # where tiny checkpoints are built; None: the registry's default

    def __post_init__(self) -> None:
        for name in ("box_threshold", "text_threshold"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        if not 0 <= self.nms_iou <= 1:
            raise ValueError(f"nms_iou must be in [0, 1], got {self.nms_iou}")
        for name in ("num_keyframes", "batch_size", "max_detections_per_phrase"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")


@dataclass(frozen=True)
class Detection:
    phrase_index: int
    phrase: str
    frame: int  # index into the clip's frames
    box: tuple[float, float, float, float]  # (x, y, w, h) in pixels of the original frame, COCO convention
    score: float  # in [0, 1]


@dataclass(frozen=True)
class GroundingResult:
    detections: tuple[Detection, ...]  # by frame, then phrase, then decreasing score
    keyframes: tuple[int, ...]
    provenance: Provenance

    def for_phrase(self, phrase_index: int) -> tuple[Detection, ...]:
        return tuple(d for d in self.detections if d.phrase_index == phrase_index)


@dataclass(frozen=True)
class Prompt:
    """The model's text input: the phrases joined with ". ", and each phrase's character span in it."""

    text: str
    char_spans: tuple[tuple[int, int], ...]

    @classmethod
    def from_phrases(cls, phrases: Sequence[str]) -> Prompt:
        if isinstance(phrases, str):
            raise TypeError(f"phrases must be a list of strings, not one string ({phrases!r})")
        if len(phrases) == 0:
            raise ValueError("phrases is empty: give at least one phrase to ground")
        text, spans = "", []
        for index, phrase in enumerate(phrases):
            if not isinstance(phrase, str):
                raise TypeError(f"phrase {index} is a {type(phrase).__name__}, not a string")
            cleaned = " ".join(phrase.translate(_SEPARATOR_CHARACTERS).split())
            if not cleaned:
                raise ValueError(f"phrase {index} ({phrase!r}) is empty")
            if text:
                text += " "
            spans.append((len(text), len(text) + len(cleaned)))
            text += cleaned + "."
        return cls(text, tuple(spans))


def phrase_token_mask(offsets: torch.Tensor, char_spans: Sequence[tuple[int, int]]) -> torch.Tensor:
    """(P, L) bool: which tokens belong to which phrase, from the tokenizer's (L, 2) character offsets.

    Special tokens have empty offsets (0, 0) and belong to no phrase.
    """
    starts, ends = offsets[:, 0], offsets[:, 1]
    spans = torch.tensor(char_spans, dtype=offsets.dtype)
    return (ends > starts)[None, :] & (starts[None, :] >= spans[:, :1]) & (ends[None, :] <= spans[:, 1:])


def select_detections(
    logits: torch.Tensor,
    boxes: torch.Tensor,
    phrase_tokens: torch.Tensor,
    phrases: Sequence[str],
    frame: int,
    frame_size: tuple[int, int],
    config: GrounderConfig,
) -> list[Detection]:
    """The detections of one frame from the model's raw output.

    logits: (Q, L') per query and token, L' >= L (the model pads to `max_text_len` with -inf);
    boxes: (Q, 4) normalised (cx, cy, w, h); phrase_tokens: (P, L) bool from `phrase_token_mask`;
    frame_size: (height, width) of the original frame, which the boxes are scaled to.
    """
    num_tokens = phrase_tokens.shape[1]
    probabilities = logits[:, :num_tokens].float().sigmoid()
    phrase_scores = probabilities[:, None, :].where(phrase_tokens[None], 0.0).amax(dim=-1)  # (Q, P)
    is_box = phrase_scores.amax(dim=-1) > config.box_threshold
    queries, phrase_ids = ((phrase_scores > config.text_threshold) & is_box[:, None]).nonzero(as_tuple=True)
    scores = phrase_scores[queries, phrase_ids]

    height, width = frame_size
    cx, cy, w, h = boxes[queries].float().unbind(-1)
    xyxy = torch.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], dim=-1).clamp(0, 1)
    xyxy = xyxy * torch.tensor([width, height, width, height], dtype=xyxy.dtype)
    non_empty = (xyxy[:, 2] > xyxy[:, 0]) & (xyxy[:, 3] > xyxy[:, 1])
    xyxy, scores, phrase_ids = xyxy[non_empty], scores[non_empty], phrase_ids[non_empty]

    kept_per_phrase: dict[int, list[Detection]] = defaultdict(list)
    for i in batched_nms(xyxy, scores, phrase_ids, config.nms_iou).tolist():
        phrase_index = int(phrase_ids[i])
        if len(kept_per_phrase[phrase_index]) < config.max_detections_per_phrase:
            x1, y1, x2, y2 = xyxy[i].tolist()
            detection = Detection(phrase_index, phrases[phrase_index], frame, (x1, y1, x2 - x1, y2 - y1), float(scores[i]))
            kept_per_phrase[phrase_index].append(detection)
    return [d for phrase_index in sorted(kept_per_phrase) for d in kept_per_phrase[phrase_index]]


@dataclass(frozen=True)
class _Clip:
    """A validated request: frames, phrases, keyframes and the tokenized prompt."""

    frames: Frames
    phrases: tuple[str, ...]
    keyframes: tuple[int, ...]
    prompt: Prompt
    input_ids: torch.Tensor  # (L,)
    phrase_tokens: torch.Tensor  # (P, L)

    @property
    def frame_size(self) -> tuple[int, int]:
        return tuple(self.frames[0].shape[:2])


class Grounder:
    """Grounding DINO over clips: load once, then `ground` one clip or `ground_batch` several."""

    def __init__(self, config: GrounderConfig | None = None):
        self.config = config or GrounderConfig()
        self._loaded: registry.LoadedModel | None = None

    def load(self) -> registry.LoadedModel:
        """Load the model and processor through the registry; later calls return the same model."""
        if self._loaded is None:
            started = time.perf_counter()
            c = self.config
            cache_dir = Path(c.cache_dir) if c.cache_dir is not None else None
            self._loaded = registry.load(c.model, FAMILY, device=c.device, dtype=c.dtype, cache_dir=cache_dir)
            logger.info("loaded grounder %s on %s in %.1f s", c.model, c.device, time.perf_counter() - started)
        return self._loaded

    def ground(self, frames: Frames, phrases: Sequence[str], keyframes: Sequence[int] | None = None) -> GroundingResult:
        """Detect each phrase on the clip's keyframes (evenly spaced ones unless given).

        frames: (T, H, W, 3) uint8 RGB, or a sequence of (H, W, 3) uint8 frames of one size.
        """
        return self.ground_batch([(frames, phrases)], [keyframes])[0]

    def ground_batch(
        self,
        clips: Sequence[tuple[Frames, Sequence[str]]],
        keyframes: Sequence[Sequence[int] | None] | None = None,
    ) -> list[GroundingResult]:
        """`ground` for several clips, with keyframes of different clips sharing forward passes.

        Frames are batched only with frames of the same size, so that no image is padded and each result
        is the one `ground` gives for that clip alone (up to float rounding).
        """
        keyframes = list(keyframes) if keyframes is not None else [None] * len(clips)
        if len(keyframes) != len(clips):
            raise ValueError(f"got keyframes for {len(keyframes)} clips, but {len(clips)} clips")
        loaded = self.load()
        prepared = []
        for index, ((frames, phrases), chosen) in enumerate(zip(clips, keyframes)):
            try:
                prepared.append(self._prepare(frames, phrases, chosen))
            except (ValueError, TypeError) as error:
                if len(clips) == 1:
                    raise
                raise type(error)(f"clip {index}: {error}") from error

        found: list[list[Detection]] = [[] for _ in prepared]
        for batch in self._batches(prepared):
            logits, boxes = self._forward([prepared[c].frames[f] for c, f in batch], [prepared[c].input_ids for c, _ in batch])
            for (c, f), frame_logits, frame_boxes in zip(batch, logits, boxes):
                clip = prepared[c]
                found[c] += select_detections(frame_logits, frame_boxes, clip.phrase_tokens, clip.phrases, f, clip.frame_size, self.config)
        return [
            GroundingResult(
                tuple(sorted(detections, key=lambda d: (d.frame, d.phrase_index, -d.score))),
                clip.keyframes,
                self._provenance(loaded, clip),
            )
            for clip, detections in zip(prepared, found)
        ]

    def _prepare(self, frames: Frames, phrases: Sequence[str], keyframes: Sequence[int] | None) -> _Clip:
        check_clip(frames)
        prompt = Prompt.from_phrases(phrases)
        if keyframes is None:
            chosen = list(uniform_indices(0, len(frames), self.config.num_keyframes))
        else:
            if not all(isinstance(k, (int, np.integer)) for k in keyframes):
                raise TypeError(f"keyframes must be frame indices (integers), got {list(keyframes)!r}")
            chosen = sorted(set(int(k) for k in keyframes))
            if not chosen:
                raise ValueError("keyframes is empty: give at least one frame index, or None for evenly spaced ones")
            outside = [k for k in chosen if not 0 <= k < len(frames)]
            if outside:
                raise ValueError(f"keyframe {outside[0]} is outside the clip (frames 0 to {len(frames) - 1})")
        input_ids, phrase_tokens = self._tokenize(prompt)
        return _Clip(frames, tuple(phrases), tuple(chosen), prompt, input_ids, phrase_tokens)

    def _tokenize(self, prompt: Prompt) -> tuple[torch.Tensor, torch.Tensor]:
        loaded = self.load()
        encoded = loaded.processor.tokenizer(prompt.text, return_offsets_mapping=True, return_tensors="pt")
        input_ids, offsets = encoded["input_ids"][0], encoded["offset_mapping"][0]
        max_text_len = loaded.model.config.max_text_len
        if len(input_ids) > max_text_len:
            raise ValueError(
                f"the prompt of {len(prompt.char_spans)} phrases is {len(input_ids)} tokens; "
                f"{loaded.spec} reads at most {max_text_len}: ground fewer or shorter phrases per call"
            )
        return input_ids, phrase_token_mask(offsets, prompt.char_spans)

    def _batches(self, clips: list[_Clip]) -> list[list[tuple[int, int]]]:
        """(clip, frame) pairs grouped into forward passes of at most `batch_size` frames of one size."""
        by_size: dict[tuple[int, int], list[tuple[int, int]]] = defaultdict(list)
        for c, clip in enumerate(clips):
            by_size[clip.frame_size] += [(c, f) for f in clip.keyframes]
        size = self.config.batch_size
        return [pairs[i : i + size] for pairs in by_size.values() for i in range(0, len(pairs), size)]

    def _forward(self, images: list[np.ndarray], token_ids: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """One forward pass: (B, Q, max_text_len) logits and (B, Q, 4) boxes, float32 on the CPU."""
        loaded = self.load()
        pixels = loaded.processor.image_processor(images=images, input_data_format="channels_last", return_tensors="pt")
        pad_id = loaded.processor.tokenizer.pad_token_id
        input_ids = torch.nn.utils.rnn.pad_sequence(token_ids, batch_first=True, padding_value=pad_id)
        attention_mask = torch.nn.utils.rnn.pad_sequence([torch.ones_like(t) for t in token_ids], batch_first=True)
        started = time.perf_counter()
        with torch.inference_mode():
            outputs = loaded.model(
                pixel_values=pixels["pixel_values"].to(loaded.device, loaded.dtype),
                pixel_mask=pixels["pixel_mask"].to(loaded.device),
                input_ids=input_ids.to(loaded.device),
                token_type_ids=torch.zeros_like(input_ids).to(loaded.device),
                attention_mask=attention_mask.to(loaded.device),
            )
        logger.debug("grounded %d frames in %.3f s", len(images), time.perf_counter() - started)
        return outputs.logits.float().cpu(), outputs.pred_boxes.float().cpu()

    def _provenance(self, loaded: registry.LoadedModel, clip: _Clip) -> Provenance:
        c = self.config
        return loaded.provenance(
            box_threshold=c.box_threshold,
            text_threshold=c.text_threshold,
            nms_iou=c.nms_iou,
            max_detections_per_phrase=c.max_detections_per_phrase,
            keyframes=list(clip.keyframes),
            prompt=clip.prompt.text,
        )
