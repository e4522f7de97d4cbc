"""Training examples straight from the shards: filtered by manifest fields, split by node and by loader
worker, shuffled within a buffer, with each answer's `[SEG]`s aligned to its masks.

The manifests decide what is read (source, review state, minimum verifier confidence), so filtering opens
no tar. Shards are dealt round-robin to the (rank, worker) slots of the whole job; with fewer shards than
slots, every slot reads every shard and keeps every n-th sample instead, so no slot idles and no sample is
read twice. A sample that cannot train (its clip does not decode, its answer is empty, a phrase grounds
only objects without masks) is skipped, counted by reason and logged, never raised mid-epoch.
"""

from __future__ import annotations

import logging
import random
import tarfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import IterableDataset, get_worker_info

from videogcg.schemas.markup import render_gcg
from videogcg.shards import ShardFormatError, read_manifest
from videogcg.shards.reader import decode_sample, iter_shard_encoded
from videogcg.video_io import VideoReadError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ManifestFilter:
    """Which samples to train on, by manifest fields; None lets everything through."""

    sources: tuple[str, ...] | None = None
    review_states: tuple[str, ...] | None = None  # e.g. ("human_accepted", "human_edited") for verified data only
    min_confidence: float | None = None

    def keeps(self, row: dict) -> bool:
        if self.sources is not None and row["source"] not in self.sources:
            return False
        if self.review_states is not None and row["review_state"] not in self.review_states:
            return False
        return self.min_confidence is None or (row["confidence"] is not None and row["confidence"] >= self.min_confidence)


def select(directories: list[str | Path], keep: ManifestFilter) -> dict[Path, frozenset[str]]:
    """{shard path: keys to read}, from the manifests alone; shards with nothing to read are left out."""
    chosen: dict[Path, set[str]] = {}
    for directory in directories:
        for row in read_manifest(directory).to_pylist():  # manifests of complete shards only
            if keep.keeps(row):
                chosen.setdefault(Path(directory) / row["shard"], set()).add(row["key"])
    return {path: frozenset(keys) for path, keys in sorted(chosen.items())}


@dataclass(frozen=True)
class Example:
    """One training conversation: frames (T, H, W, 3) uint8, the answer in training form (`<p> ... </p> [SEG]`)
    and one (T, H, W) mask per [SEG], in order."""

    key: str
    source: str
    frames: np.ndarray
    question: str
    answer: str
    masks: np.ndarray


class SkipSample(Exception):
    """A sample that cannot be trained on; the message is the reason counted."""


def to_example(item) -> Example:
    sample = item.sample
    if not sample.conversation or not sample.conversation[0].answer.text.strip():
        raise SkipSample("empty answer")
    turn = sample.conversation[0]
    masks = item.phrase_masks(0)
    for phrase, mask in zip(turn.phrases, masks):
        if not mask.any():
            raise SkipSample("a [SEG] whose objects have no mask")
    return Example(sample.key, sample.source, item.frames, turn.question.text, render_gcg(turn.answer.text, turn.phrases), masks)


@dataclass
class ShardExamples(IterableDataset):
    """Examples of the selected shards for this process (`rank` of `world_size`) and loader worker."""

    shards: dict[Path, frozenset[str]]
    rank: int = 0
    world_size: int = 1
    shuffle_buffer: int = 64
    seed: int = 0
    epoch: int = 0
    skipped: Counter = field(default_factory=Counter)
    worker: tuple[int, int] | None = None  # (loader worker, workers) when the caller assigns them
    source_weights: dict[str, float] | None = None  # expected copies of each sample of a source (default 1)

    def __post_init__(self) -> None:
        super().__init__()
        if not 0 <= self.rank < self.world_size:
            raise ValueError(f"rank {self.rank} is not in [0, {self.world_size})")

    @classmethod
    def from_directories(cls, directories: list[str | Path], keep: ManifestFilter = ManifestFilter(), **kwargs) -> ShardExamples:
        if "rank" not in kwargs and torch.distributed.is_available() and torch.distributed.is_initialized():
            kwargs.update(rank=torch.distributed.get_rank(), world_size=torch.distributed.get_world_size())
        return cls(select(directories, keep), **kwargs)

    def _slot(self) -> tuple[int, int]:
        info = get_worker_info()
        workers, worker = (info.num_workers, info.id) if info is not None else (1, 0)
        if self.worker is not None:
            worker, workers = self.worker
        return self.rank * workers + worker, self.world_size * workers

    def _items(self) -> Iterator:
        slot, slots = self._slot()
        order = sorted(self.shards)
        random.Random(f"{self.seed}:{self.epoch}").shuffle(order)
        by_shard = len(order) >= slots
        position = 0
        for index, path in enumerate(order):
            if by_shard and index % slots != slot:
                continue
            try:
                for sample, clip in iter_shard_encoded(path, keys=self.shards[path]):
                    mine = by_shard or position % slots == slot
                    position += 1
                    if not mine:
                        continue
                    try:
                        yield decode_sample(sample, clip, f"{path}:{sample.key}.mp4")
                    except (ShardFormatError, VideoReadError) as error:
                        self.skip("unreadable clip", f"{sample.key}: {error}")
            except (ShardFormatError, OSError, tarfile.TarError) as error:
                self.skip("unreadable shard", f"{path}: {error}")

    def skip(self, reason: str, detail: str) -> None:
        self.skipped[reason] += 1
        logger.warning("skipped %s: %s", detail, reason)

    def _copies(self, source: str, rng: random.Random) -> int:
        """How many times a sample goes into the shuffle buffer: its source's weight, the fraction drawn."""
        weight = (self.source_weights or {}).get(source, 1.0)
        whole = int(weight)
        return whole + (rng.random() < weight - whole)

    def __iter__(self) -> Iterator[Example]:
        slot = self._slot()[0]
        rng = random.Random(f"{self.seed}:{self.epoch}:{slot}")
        weights_rng = random.Random(f"{self.seed}:{self.epoch}:{slot}:weights")
        buffer: list[Example] = []
        for item in self._items():
            try:
                example = to_example(item)
            except SkipSample as reason:
                self.skip(str(reason), item.sample.key)
                continue
            for _ in range(self._copies(example.source, weights_rng)):  # before the buffer: copies spread out
                if len(buffer) < self.shuffle_buffer:
                    buffer.append(example)
                    continue
                pick = rng.randrange(len(buffer))
                yield buffer[pick]
                buffer[pick] = example
        rng.shuffle(buffer)
        yield from buffer
