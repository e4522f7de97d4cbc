"""Names of shard files in a dataset directory.

A shard is ``<prefix>-NNNNNN.tar`` with its manifest ``<prefix>-NNNNNN.parquet`` beside it. While being
written a file carries the ``.partial`` suffix; the rename to the final name is the commit point, so a tar
with its final name is always complete.
"""

from __future__ import annotations

from pathlib import Path

PARTIAL_SUFFIX = ".partial"


def shard_name(prefix: str, index: int) -> str:
    return f"{prefix}-{index:06d}.tar"


def manifest_path(tar_path: Path) -> Path:
    return tar_path.with_suffix(".parquet")


def records_path(tar_path: Path) -> Path:
    """The shard's dead letters and dropped samples (JSON lines), committed with it."""
    return tar_path.with_suffix(".records.jsonl")


def list_shards(directory: str | Path) -> list[Path]:
    """Complete shards in a directory, in name order."""
    return sorted(Path(directory).glob("*.tar"))
