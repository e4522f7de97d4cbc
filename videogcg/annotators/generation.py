"""Batched chat generation for text and vision-language models, and retry-until-valid.

Decoder-only models need left padding to generate a batch; greedy decoding makes the first attempt
deterministic, and retries sample with a per-attempt seed so they differ from it but stay reproducible.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

import numpy as np
import torch
from PIL import Image

from videogcg.annotators.registry import LoadedModel

logger = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class SamplingOptions:
    max_new_tokens: int = 128
    do_sample: bool = False
    temperature: float = 0.7
    seed: int = 0


def _tokenizer(loaded: LoadedModel):
    return getattr(loaded.processor, "tokenizer", loaded.processor)


def generate_chat(
    loaded: LoadedModel,
    conversations: Sequence[list[dict]],
    images: Sequence[Sequence[np.ndarray | Image.Image]] | None = None,
    options: SamplingOptions = SamplingOptions(),
    batch_size: int = 8,
) -> list[str]:
    """Generate one reply per conversation (a list of chat messages). `images[i]` go with conversation i."""
    tokenizer = _tokenizer(loaded)
    tokenizer.padding_side = "left"
    replies: list[str] = []
    for start in range(0, len(conversations), batch_size):
        chunk = conversations[start : start + batch_size]
        prompts = [loaded.processor.apply_chat_template(c, add_generation_prompt=True, tokenize=False) for c in chunk]
        if images is None:
            inputs = tokenizer(prompts, return_tensors="pt", padding=True)
        else:
            flat = [
                Image.fromarray(im) if isinstance(im, np.ndarray) else im for group in images[start : start + batch_size] for im in group
            ]
            inputs = loaded.processor(images=flat, text=prompts, return_tensors="pt", padding=True)
        inputs = inputs.to(loaded.device)
        if "pixel_values" in inputs:
            inputs["pixel_values"] = inputs["pixel_values"].to(loaded.dtype)
        sampling = {"do_sample": True, "temperature": options.temperature} if options.do_sample else {"do_sample": False}
        torch.manual_seed(options.seed)
        with torch.inference_mode():
            output = loaded.model.generate(**inputs, max_new_tokens=options.max_new_tokens, **sampling)
        new_tokens = output[:, inputs["input_ids"].shape[1] :]
        replies += [text.strip() for text in tokenizer.batch_decode(new_tokens, skip_special_tokens=True)]
    return replies


@dataclass(frozen=True)
class Validated(Generic[T]):
    """The outcome of generate-and-validate: a value, or None with the reason of the last failure."""

    value: T | None
    attempts: int
    errors: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return self.value is not None

    @property
    def reason(self) -> str | None:
        return None if self.ok else self.errors[-1]


def generate_validated(
    generate: Callable[[list[int], int], list[str]],
    validate: Callable[[int, str], T],
    count: int,
    max_attempts: int,
) -> list[Validated[T]]:
    """Generate replies for `count` items, re-asking (only) for those whose reply fails `validate`.

    `generate(indices, attempt)` returns one reply per index (attempt counts from 0, so a caller can
    switch from greedy to seeded sampling); `validate(index, reply)` returns the parsed value or raises
    ValueError with a reason.
    """
    values: dict[int, T] = {}
    errors: dict[int, list[str]] = {i: [] for i in range(count)}
    attempts = dict.fromkeys(range(count), 0)
    pending = list(range(count))
    for attempt in range(max_attempts):
        if not pending:
            break
        for index, reply in zip(pending, generate(pending, attempt)):
            attempts[index] += 1
            try:
                values[index] = validate(index, reply)
            except ValueError as error:
                errors[index].append(str(error))
                logger.debug("item %d attempt %d rejected: %s", index, attempts[index], error)
        pending = [i for i in pending if i not in values]
    return [Validated(values.get(i), attempts[i], tuple(errors[i])) for i in range(count)]
