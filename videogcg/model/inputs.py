"""From an `Example` to model inputs: the conversation tokenised with the LLM's chat template (a placeholder
where the visual tokens go, the answer's tokens as labels, one `[SEG]` per mask), and frames sampled and
normalised for each encoder and for SAM2. Then batches: padded ids and labels, stacked frames, masks.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from videogcg.model.config import ModelConfig
from videogcg.model.data import Example, SkipSample
from videogcg.model.parts import Normalisation

SEG_TOKEN = "[SEG]"
VISUAL_ID = -200  # where the visual tokens are spliced in (VideoGLaMM's IMAGE_TOKEN_INDEX)
IGNORE = -100  # label of tokens that are not predicted
VIDEO_MARKER = "<video>"


def add_seg_token(tokenizer) -> int:
    """Add `[SEG]` to the tokenizer (once) and return its id."""
    if SEG_TOKEN not in tokenizer.get_vocab():
        tokenizer.add_tokens([SEG_TOKEN])
    return tokenizer.convert_tokens_to_ids(SEG_TOKEN)


def sample_indices(available: int, wanted: int) -> np.ndarray:
    """`wanted` frame indices spread evenly over `available` frames (repeating frames of short clips)."""
    return np.linspace(0, available - 1, wanted).round().astype(int)


def normalise(frames: np.ndarray, target: Normalisation) -> torch.Tensor:
    """(T, H, W, 3) uint8 -> (T, 3, S, S) float32, resized and normalised."""
    pixels = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2).float() / 255.0
    pixels = F.interpolate(pixels, size=(target.size, target.size), mode="bilinear", align_corners=False, antialias=True)
    mean = torch.tensor(target.mean).view(1, 3, 1, 1)
    std = torch.tensor(target.std).view(1, 3, 1, 1)
    return (pixels - mean) / std


@dataclass
class Encoded:
    """One example as model inputs."""

    key: str
    input_ids: torch.Tensor  # (L,) with one VISUAL_ID
    labels: torch.Tensor  # (L,) IGNORE outside the answer
    image_pixels: torch.Tensor  # (T, 3, S, S)
    video_pixels: torch.Tensor  # (T, 3, S', S')
    sam_pixels: torch.Tensor  # (Ts, 3, S'', S'')
    masks: torch.Tensor  # (K, Ts, S'', S'') float 0/1, K = min([SEG] count, max_masks)
    frame_size: tuple[int, int]  # the clip's (H, W), for scoring masks at full size


@dataclass
class Batch:
    keys: list[str]
    input_ids: torch.Tensor  # (B, L) padded on the right with the pad id; VISUAL_ID once per row
    attention_mask: torch.Tensor  # (B, L) 1 on real tokens
    labels: torch.Tensor  # (B, L)
    image_pixels: torch.Tensor  # (B, T, 3, S, S)
    video_pixels: torch.Tensor
    sam_pixels: torch.Tensor  # (B, Ts, 3, S'', S'')
    masks: list[torch.Tensor]  # per sample (K, Ts, S'', S'')
    frame_sizes: list[tuple[int, int]]
    skipped: Counter = field(default_factory=Counter)  # samples skipped (by reason) while this batch was made

    def __len__(self) -> int:
        return len(self.keys)

    def to(self, device: torch.device) -> Batch:
        move = lambda t: t.to(device, non_blocking=True)  # noqa: E731
        return Batch(
            self.keys,
            move(self.input_ids),
            move(self.attention_mask),
            move(self.labels),
            move(self.image_pixels),
            move(self.video_pixels),
            move(self.sam_pixels),
            [move(m) for m in self.masks],
            self.frame_sizes,
            self.skipped,
        )


class ExampleEncoder:
    """Turns examples into model inputs for one tokenizer and set of encoders."""

    def __init__(self, tokenizer, config: ModelConfig, image_input: Normalisation, video_input: Normalisation, sam_input: Normalisation):
        self.tokenizer = tokenizer
        self.seg_id = add_seg_token(tokenizer)
        self.config = config
        self.image_input, self.video_input, self.sam_input = image_input, video_input, sam_input
        pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
        if pad is None:
            raise ValueError("the LLM's tokenizer has neither a pad nor an end-of-sequence token")
        self.pad_id = pad

    def _ids(self, text: str) -> list[int]:
        return self.tokenizer(text, add_special_tokens=False)["input_ids"]

    def prompt_ids(self, question: str) -> list[int]:
        """The chat up to the assistant's turn, with VISUAL_ID where the video goes."""
        prompt = self._render([{"role": "user", "content": f"{VIDEO_MARKER}\n{question}"}], add_generation_prompt=True)
        before, _, after = prompt.partition(VIDEO_MARKER)
        return self._ids(before) + [VISUAL_ID] + self._ids(after)

    def stop_ids(self, generation_config=None) -> list[int]:
        """Tokens that end an answer: the chat template's end of turn, the tokenizer's and the model's end tokens."""
        user = {"role": "user", "content": "x"}
        prompt = self._render([user], add_generation_prompt=True)
        after = self._render([user, {"role": "assistant", "content": "x"}])[len(prompt) + 1 :]
        stops = [*self._ids(after)[:1], self.tokenizer.eos_token_id]
        configured = getattr(generation_config, "eos_token_id", None)
        stops += configured if isinstance(configured, list) else [configured]
        return sorted({s for s in stops if s is not None})

    def _render(self, messages: list[dict], add_generation_prompt: bool = False) -> str:
        return self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=add_generation_prompt)

    def text(self, question: str, answer: str) -> tuple[list[int], list[int]]:
        """(input ids, labels): the prompt unlabelled, the answer and the template's end of turn labelled."""
        user = {"role": "user", "content": f"{VIDEO_MARKER}\n{question}"}
        prompt = self._render([user], add_generation_prompt=True)
        full = self._render([user, {"role": "assistant", "content": answer}])
        if not full.startswith(prompt):
            raise ValueError("the chat template renders the prompt differently with and without the answer")
        prompt_ids = self.prompt_ids(question)
        answer_ids = self._ids(full[len(prompt) :])
        return prompt_ids + answer_ids, [IGNORE] * len(prompt_ids) + answer_ids

    def __call__(self, example: Example) -> Encoded:
        ids, labels = self.text(example.question, example.answer)
        if ids.count(self.seg_id) != len(example.masks):
            raise SkipSample("[SEG] count differs from the masks")
        frames = example.frames
        if len(ids) - 1 + self.visual_tokens_per_clip() > self.config.max_length:
            raise SkipSample("longer than max_length")
        image, video, sam, sam_index = self._pixels(frames, self.config.sam_frames)
        masks = torch.from_numpy(np.ascontiguousarray(example.masks[: self.config.max_masks][:, sam_index])).float()
        if len(masks):
            masks = F.interpolate(masks, size=(self.sam_input.size,) * 2, mode="nearest-exact")
        else:
            masks = masks.reshape(0, len(sam_index), self.sam_input.size, self.sam_input.size)
        return Encoded(example.key, torch.tensor(ids), torch.tensor(labels), image, video, sam, masks, (frames.shape[1], frames.shape[2]))

    def _pixels(self, frames: np.ndarray, sam_frames: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, np.ndarray]:
        """Frames for the image encoder, the video encoder and SAM2, and which clip frames SAM2 gets."""
        encoder_frames = frames[sample_indices(len(frames), self.config.num_frames)]
        sam_index = sample_indices(len(frames), sam_frames)
        image, video = normalise(encoder_frames, self.image_input), normalise(encoder_frames, self.video_input)
        return image, video, normalise(frames[sam_index], self.sam_input), sam_index

    def inputs(self, ids: list[int], frames: np.ndarray, sam_frames: int) -> Batch:
        """A batch of one for inference: `ids` (with VISUAL_ID) unlabelled, no masks."""
        image, video, sam, _ = self._pixels(frames, sam_frames)
        encoded = Encoded("", torch.tensor(ids), torch.full((len(ids),), IGNORE), image, video, sam, torch.zeros(0), frames.shape[1:3])
        return self.collate([encoded])

    def visual_tokens_per_clip(self) -> int:
        """Visual tokens in the sequence, for an encoder with one token grid per frame (TimeSformer)."""
        config = self.config
        return config.num_frames * (config.image_tokens_per_side**2 + config.video_tokens_per_side**2)

    def collate(self, encoded: list[Encoded], skipped: Counter | None = None) -> Batch:
        length = max(len(e.input_ids) for e in encoded)
        ids = torch.full((len(encoded), length), self.pad_id, dtype=torch.long)
        labels = torch.full((len(encoded), length), IGNORE, dtype=torch.long)
        attention = torch.zeros((len(encoded), length), dtype=torch.long)
        for row, e in enumerate(encoded):
            ids[row, : len(e.input_ids)] = e.input_ids
            attention[row, : len(e.input_ids)] = 1
            labels[row, : len(e.labels)] = e.labels
        return Batch(
            keys=[e.key for e in encoded],
            input_ids=ids,
            attention_mask=attention,
            labels=labels,
            image_pixels=torch.stack([e.image_pixels for e in encoded]),
            video_pixels=torch.stack([e.video_pixels for e in encoded]),
            sam_pixels=torch.stack([e.sam_pixels for e in encoded]),
            masks=[e.masks for e in encoded],
            frame_sizes=[e.frame_size for e in encoded],
            skipped=skipped if skipped is not None else Counter(),
        )
