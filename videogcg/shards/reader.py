"""Read shards back: samples with their frames (decoded by decord) and their masks (decoded RLE)."""

from __future__ import annotations

import tarfile
from collections.abc import Collection, Container, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from videogcg import storage
from videogcg.schemas import Sample
from videogcg.schemas import masks as rle
from videogcg.schemas.manifest import MANIFEST_SCHEMA
from videogcg.shards.layout import list_shards, manifest_path
from videogcg.video_io import read_frames


class ShardFormatError(Exception):
    """A shard whose content breaks the format; names the shard and the member."""


@dataclass(frozen=True)
class ShardSample:
    """A sample with its pixels: frames (T, H, W, 3) uint8 and masks (N, T, H, W) bool in `objects` order.

    `present[n, t]` is False where object n has no mask at frame t (its mask there is all False).
    """

    sample: Sample
    frames: np.ndarray
    masks: np.ndarray
    present: np.ndarray

    def phrase_masks(self, turn: int = 0) -> np.ndarray:
        """(P, T, H, W) masks of the turn's phrases in [SEG] order; a phrase over several objects is their union."""
        if not 0 <= turn < len(self.sample.conversation):
            raise IndexError(f"sample {self.sample.key!r} has {len(self.sample.conversation)} conversation turns, no turn {turn}")
        index = {track.object_id: n for n, track in enumerate(self.sample.objects)}
        phrases = self.sample.conversation[turn].phrases
        t, h, w = self.frames.shape[:3]
        out = np.zeros((len(phrases), t, h, w), dtype=bool)
        for p, phrase in enumerate(phrases):
            for object_id in phrase.object_ids:
                out[p] |= self.masks[index[object_id]]
        return out


def decode_masks(sample: Sample) -> tuple[np.ndarray, np.ndarray]:
    t, h, w = len(sample.clip.frame_indices), sample.video.height, sample.video.width
    masks = np.zeros((len(sample.objects), t, h, w), dtype=bool)
    present = np.zeros((len(sample.objects), t), dtype=bool)
    for n, track in enumerate(sample.objects):
        for i, mask in enumerate(track.masks):
            if mask is not None:
                masks[n, i] = rle.decode(mask)
                present[n, i] = True
    return masks, present


def _members(
    path: Path, keys: Collection[str] | None = None, clip_keys: Container[str] | None = None
) -> Iterator[tuple[str, dict[str, bytes]]]:
    """Group consecutive tar members by key (WebDataset convention: key = name up to the first dot).

    Only the members of `keys` (default: all) are read, and an .mp4 only for `clip_keys` (default: all);
    the others are passed over by their headers. With `keys`, reading stops once all of them have been seen.
    """
    remaining = None if keys is None else set(keys)
    key, group = None, {}
    with _open_tar(path) as tar:
        for member in tar:
            if not member.isfile():
                continue
            stem, _, extension = Path(member.name).name.partition(".")
            if stem != key and key is not None:
                if group:
                    yield key, group
                    group = {}
                if remaining is not None:
                    remaining.discard(key)
                    if not remaining:
                        return
            key = stem
            if remaining is not None and stem not in remaining:
                continue
            if extension == "mp4" and clip_keys is not None and stem not in clip_keys:
                continue
            group[extension] = tar.extractfile(member).read()
    if group:
        yield key, group


def iter_shard(path: str | Path, decode: bool = True, keys: Collection[str] | None = None) -> Iterator[ShardSample | Sample]:
    """Samples of one shard in order. With `decode=False` yield only the `Sample`s (no pixels); with `keys`,
    only those samples (the others are neither parsed nor decoded)."""
    for sample, clip in iter_shard_encoded(path, keys, clip_keys=None if decode else ()):
        yield decode_sample(sample, clip, f"{path}:{sample.key}.mp4") if decode else sample


def decode_sample(sample: Sample, clip_mp4: bytes, name: str) -> ShardSample:
    """A stored sample with its frames and masks decoded; raises VideoReadError / ShardFormatError."""
    frames = decode_clip(sample, clip_mp4, name=name)
    if len(frames) != len(sample.clip.frame_indices):
        raise ShardFormatError(f"{name} has {len(frames)} frames, the sample {len(sample.clip.frame_indices)}")
    return ShardSample(sample, frames, *decode_masks(sample))


def iter_shard_encoded(
    path: str | Path, keys: Collection[str] | None = None, clip_keys: Container[str] | None = None
) -> Iterator[tuple[Sample, bytes | None]]:
    """A shard's samples (only `keys`, if given) with their clips as stored (mp4 bytes; None for samples not in
    `clip_keys`, whose clips are not read): decode each yourself, or copy it unchanged."""
    path = storage.path(path)
    for key, group in _members(path, keys, clip_keys):
        wants_clip = clip_keys is None or key in clip_keys
        for extension in ("json", "mp4") if wants_clip else ("json",):
            if extension not in group:
                raise ShardFormatError(f"{path}: sample {key!r} has no .{extension} member")
        yield Sample.from_json(group["json"]), group.get("mp4")


def iter_encoded(directory: str | Path) -> Iterator[tuple[Sample, bytes]]:
    """Every sample with its clip as stored, for rewriting shards without re-encoding video."""
    for path in list_shards(directory):
        yield from iter_shard_encoded(path)


def decode_clip(sample: Sample, clip_mp4: bytes, name: str = "clip") -> np.ndarray:
    """(T, H, W, 3) frames of a stored clip, cropped to the video size (clips are padded to even sizes)."""
    return read_frames(clip_mp4, name=name)[:, : sample.video.height, : sample.video.width]


def iter_dataset(directory: str | Path, decode: bool = True, keys: Collection[str] | None = None) -> Iterator[ShardSample | Sample]:
    for path in list_shards(directory):
        yield from iter_shard(path, decode=decode, keys=keys)


def _open_tar(path: Path | storage.ObjectPath) -> tarfile.TarFile:
    return tarfile.open(fileobj=storage.open_read(path), mode="r") if storage.is_remote(path) else tarfile.open(path, "r")


def _read_parquet(path: Path | storage.ObjectPath) -> pa.Table:
    return pq.read_table(pa.BufferReader(path.read_bytes())) if storage.is_remote(path) else pq.read_table(path)


def read_manifest(directory: str | Path) -> pa.Table:
    """All manifest rows of the complete shards in a directory."""
    tables = [_read_parquet(manifest_path(path)) for path in list_shards(directory) if manifest_path(path).exists()]
    return pa.concat_tables(tables) if tables else MANIFEST_SCHEMA.empty_table()


def find_sample(directory: str | Path, key: str) -> ShardSample:
    """Look a key up in the manifests and decode that one sample."""
    manifest = read_manifest(directory)
    matches = [row["shard"] for row in manifest.select(["key", "shard"]).to_pylist() if row["key"] == key]
    if not matches:
        raise KeyError(f"no sample with key {key!r} in {directory}")
    for item in iter_shard(storage.join(directory, matches[0])):
        if item.sample.key == key:
            return item
    raise ShardFormatError(f"{matches[0]}: manifest lists {key!r} but the tar does not hold it")
