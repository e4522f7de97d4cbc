"""Names of shard files in a dataset directory.

A shard is ``<prefix>-NNNNNN.tar`` with its manifest ``<prefix>-NNNNNN.parquet`` beside it. While being
written a file carries the ``.partial`` suffix; the rename to the final name is the commit point, so a tar
with its final name is always complete. The tar is published last, so it is also the shard's completion
marker. Directories may be local or object-store URLs (`videogcg.storage`).
"""

from __future__ import annotations

from pathlib import Path

from videogcg import storage
from videogcg.storage import PARTIAL_SUFFIX, ObjectPath

__all__ = ["PARTIAL_SUFFIX", "list_shards", "manifest_path", "records_path", "shard_name"]


def shard_name(prefix: str, index: int) -> str:
    return f"{prefix}-{index:06d}.tar"


def manifest_path(tar_path: Path | ObjectPath) -> Path | ObjectPath:
    return tar_path.with_suffix(".parquet")


def records_path(tar_path: Path | ObjectPath) -> Path | ObjectPath:
    """The shard's dead letters and dropped samples (JSON lines), committed with it."""
    return tar_path.with_suffix(".records.jsonl")


def list_shards(directory: str | Path) -> list[Path | ObjectPath]:
    """Complete shards in a directory, in name order."""
    return [storage.path(p) for p in storage.list_files(directory, "*.tar")]
