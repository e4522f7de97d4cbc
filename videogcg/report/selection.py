"""Which samples a report reads from the tars, and reading only those.

The choice is made from the manifest alone, deterministic for a seed and spread over the shards (round robin
over the shards, each shard's keys shuffled), so a report of a large dataset opens a bounded number of samples
and a rerun reads the same ones. Within a tar only the chosen members are read; the others are skipped by
their headers.
"""

from __future__ import annotations

import random
import tarfile
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from videogcg.schemas import Sample
from videogcg.shards import ShardFormatError, ShardSample
from videogcg.shards.reader import decode_masks
from videogcg.video_io import read_frames


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
    """The chosen samples by key: `ShardSample` (frames and masks decoded) for keys in `with_pixels`, else `Sample`."""
    wanted: dict[str, set[str]] = defaultdict(set)
    for key in selection.keys:
        wanted[selection.shard_of[key]].add(key)
    out: dict[str, Sample | ShardSample] = {}
    for shard, keys in sorted(wanted.items()):
        path = Path(directory) / shard
        members = _read_members(path, keys, with_pixels)
        for key in sorted(keys):
            group = members.get(key, {})
            if "json" not in group:
                raise ShardFormatError(f"{path}: manifest lists {key!r} but the tar has no {key}.json")
            sample = Sample.from_json(group["json"])
            if key not in with_pixels:
                out[key] = sample
                continue
            if "mp4" not in group:
                raise ShardFormatError(f"{path}: sample {key!r} has no .mp4 member")
            frames = read_frames(group["mp4"], name=f"{path}:{key}.mp4")[:, : sample.video.height, : sample.video.width]
            out[key] = ShardSample(sample, frames, *decode_masks(sample))
    return out


def _read_members(path: Path, keys: set[str], with_pixels: set[str]) -> dict[str, dict[str, bytes]]:
    """The .json (and, for `with_pixels`, the .mp4) members of `keys`; stops once all are found."""
    needed = {(key, "json") for key in keys} | {(key, "mp4") for key in keys & with_pixels}
    found: dict[str, dict[str, bytes]] = defaultdict(dict)
    with tarfile.open(path, "r") as tar:
        for member in tar:
            stem, _, extension = Path(member.name).name.partition(".")
            if member.isfile() and (stem, extension) in needed:
                found[stem][extension] = tar.extractfile(member).read()
                needed.discard((stem, extension))
                if not needed:
                    break
    return found
