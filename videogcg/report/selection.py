"""Which samples a report reads from the tars, and reading only those.

The choice is made from the manifest alone, deterministic for a seed and spread over the shards (round robin
over the shards, each shard's keys shuffled), so a report of a large dataset opens a bounded number of samples
and a rerun reads the same ones. Within a tar only the chosen members are read (`iter_shard_encoded`); the
others are skipped by their headers.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from videogcg.schemas import Sample
from videogcg.shards import ShardFormatError, ShardSample
from videogcg.shards.reader import decode_sample, iter_shard_encoded


@dataclass(frozen=True)
class Selection:
    """Keys in reading order (spread over shards) and the shard of each."""

    keys: list[str]
    shard_of: dict[str, str]

    @property
    def shards(self) -> list[str]:
        return sorted({self.shard_of[k] for k in self.keys})


def choose(manifest: pa.Table, count: int, seed: int = 0) -> Selection:
    """`count` keys of the manifest: one from each shard in turn (shards in a seeded order), each shard's keys shuffled."""
    by_shard: dict[str, list[str]] = defaultdict(list)
    for shard, key in zip(manifest["shard"].to_pylist(), manifest["key"].to_pylist()):
        by_shard[shard].append(key)
    rng = random.Random(seed)
    queues = []
    for shard in sorted(by_shard):
        keys = sorted(by_shard[shard])
        rng.shuffle(keys)
        queues.append((shard, keys))
    rng.shuffle(queues)
    chosen: list[str] = []
    shard_of: dict[str, str] = {}
    depth = 0
    while len(chosen) < count and any(depth < len(keys) for _, keys in queues):
        for shard, keys in queues:
            if len(chosen) == count:
                break
            if depth < len(keys):
                chosen.append(keys[depth])
                shard_of[keys[depth]] = shard
        depth += 1
    return Selection(chosen, shard_of)


def read_selected(directory: str | Path, selection: Selection, with_pixels: set[str] = frozenset()) -> dict[str, Sample | ShardSample]:
    """The chosen samples by key: `ShardSample` (frames and masks decoded) for keys in `with_pixels`, else `Sample`.
    Only their members are read from the tars (only the .json of samples shown without pixels)."""
    wanted: dict[str, set[str]] = defaultdict(set)
    for key in selection.keys:
        wanted[selection.shard_of[key]].add(key)
    out: dict[str, Sample | ShardSample] = {}
    for shard, keys in sorted(wanted.items()):
        path = Path(directory) / shard
        for sample, clip in iter_shard_encoded(path, keys, clip_keys=keys & with_pixels):
            out[sample.key] = sample if clip is None else decode_sample(sample, clip, f"{path}:{sample.key}.mp4")
        missing = sorted(keys - out.keys())
        if missing:
            raise ShardFormatError(f"{path}: manifest lists {missing[0]!r} but the tar does not hold it")
    return out
