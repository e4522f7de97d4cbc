"""Write samples as WebDataset tar shards, with a Parquet manifest per shard.

Per sample the tar holds ``<key>.mp4`` (the sampled frames, H.264) and ``<key>.json`` (the sample).
Shards roll over by sample count and by bytes. Files are written under a ``.partial`` name and renamed
when complete (the manifest first, then the tar), so an interrupted run never leaves a tar that looks
complete. For an object-store directory the tar is built in a local staging folder and then published
(`videogcg.storage`).
"""

from __future__ import annotations

import io
import logging
import shutil
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from videogcg import storage
from videogcg.schemas import Sample
from videogcg.schemas.manifest import manifest_row, manifest_table
from videogcg.shards.layout import PARTIAL_SUFFIX, manifest_path, shard_name
from videogcg.video_io import encode_mp4

logger = logging.getLogger(__name__)

_TAR_BLOCK = 512


@dataclass(frozen=True)
class ShardWriterConfig:
    max_samples: int = 1000
    max_bytes: int = 1 << 30
    prefix: str = "shard"
    crf: int = 18  # H.264 quality of the stored clips (0 = lossless luma, 18 = visually lossless)

    def __post_init__(self):
        if self.max_samples < 1 or self.max_bytes < 1:
            raise ValueError("max_samples and max_bytes must be positive")


def encode_clip(sample: Sample, frames: np.ndarray, crf: int = 18) -> bytes:
    """The sample's sampled frames as H.264 mp4, timed at the clip's sampling rate."""
    expected = (len(sample.clip.frame_indices), sample.video.height, sample.video.width, 3)
    if frames.shape != expected:
        raise ValueError(f"sample {sample.key!r}: frames have shape {frames.shape}, expected {expected}")
    clip_fps = sample.video.fps * len(sample.clip.frame_indices) / (sample.clip.end - sample.clip.start)
    return encode_mp4(frames, clip_fps, crf)


def _tar_size(payload: int) -> int:
    """Bytes a member takes in a tar: one header block plus the data padded to whole blocks."""
    return _TAR_BLOCK + -(-payload // _TAR_BLOCK) * _TAR_BLOCK


class ShardWriter:
    """Append samples to shards in `directory`. Use as a context manager, or call `close()`.

    Leaving the `with` block by an exception discards the shard in progress (its `.partial` file is
    removed); the shards already finished stay.
    """

    def __init__(self, directory: str | Path, config: ShardWriterConfig = ShardWriterConfig(), start_index: int = 0):
        self.directory = str(directory)
        storage.mkdirs(self.directory)
        remote = storage.is_remote(self.directory)
        self._staging = Path(tempfile.mkdtemp(prefix="videogcg-shard-")) if remote else Path(self.directory)
        self.config = config
        self._next_index = start_index
        self._tar: tarfile.TarFile | None = None
        self._name: str | None = None
        self._rows: list[dict] = []
        self._bytes = 0
        self.finished: list[Path | storage.ObjectPath] = []

    def __enter__(self) -> ShardWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    def write(self, sample: Sample, frames: np.ndarray) -> str:
        """Add one sample with its sampled frames, (T, H, W, 3) uint8 in `clip.frame_indices` order.

        Returns the name of the shard the sample went to.
        """
        return self.write_encoded(sample, encode_clip(sample, frames, self.config.crf))

    def write_encoded(self, sample: Sample, clip_mp4: bytes) -> str:
        """Add one sample whose clip is already encoded (by `encode_clip`, e.g. on another worker)."""
        members = {f"{sample.key}.mp4": clip_mp4, f"{sample.key}.json": sample.to_json().encode()}
        size = sum(_tar_size(len(data)) for data in members.values())
        if self._tar is not None and (len(self._rows) >= self.config.max_samples or self._bytes + size > self.config.max_bytes):
            self._finish()
        if self._tar is None:
            self._open()
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o644, 0  # fixed metadata: same input, same bytes
            self._tar.addfile(info, io.BytesIO(data))
        self._bytes += size
        self._rows.append(manifest_row(sample, self._name))
        return self._name

    def start_shard(self) -> None:
        """Open a shard now if none is open, so that `close` writes it even with no sample (a finished empty shard)."""
        if self._tar is None:
            self._open()

    def close(self) -> list[Path | storage.ObjectPath]:
        """Finish the open shard; returns the paths of all shards this writer finished."""
        if self._tar is not None:
            self._finish()
        self._remove_staging()
        return self.finished

    def abort(self) -> None:
        if self._tar is not None:
            self._tar.close()
            self._partial().unlink(missing_ok=True)
            logger.warning("discarded unfinished shard %s", self._name)
            self._tar, self._rows, self._bytes = None, [], 0
        self._remove_staging()

    def _remove_staging(self) -> None:
        if self._staging != Path(self.directory):
            shutil.rmtree(self._staging, ignore_errors=True)

    def _partial(self) -> Path:
        return self._staging / (self._name + PARTIAL_SUFFIX)

    def _open(self) -> None:
        self._name = shard_name(self.config.prefix, self._next_index)
        self._next_index += 1
        self._staging.mkdir(parents=True, exist_ok=True)
        self._tar = tarfile.open(self._partial(), "w")

    def _finish(self) -> None:
        self._tar.close()
        path = storage.path(storage.join(self.directory, self._name))
        manifest = pa.BufferOutputStream()
        pq.write_table(manifest_table(self._rows), manifest)
        storage.publish_bytes(manifest_path(path), manifest.getvalue().to_pybytes())
        storage.publish_file(self._partial(), path)  # the commit point
        logger.info("finished shard %s (%d samples)", path, len(self._rows))
        self.finished.append(path)
        self._tar, self._rows, self._bytes = None, [], 0
