"""Sources without labels: a folder (or glob) of video files, and a manifest table listing videos.

`VideoFolderSource` takes every file with a video suffix (`VIDEO_SUFFIXES`, any case) under a folder, recursively,
or matching a glob (``**`` recurses). A video's id is its path relative to the folder (for a glob, to the
pattern's leading part without wildcards) without the suffix, with ``/`` separators: ``clips/a.mp4`` -> ``clips/a``.
Its record holds the path only (`SourceKind.RAW`). The default name is the folder's name.

`ManifestSource` reads a table with one row per video, from CSV (a header row first), JSON Lines (one object
per line) or Parquet, chosen by the suffix (``.csv``, ``.jsonl``/``.ndjson``, ``.parquet``):

=============== ======== ==========================================================================
column          required meaning
=============== ======== ==========================================================================
``path``        yes      the video file (or frame folder), absolute or relative to the manifest's folder
``video_id``    no       the id; else the ``path`` cell without its suffix
``caption``     no       a caption of the video (the record then has a caption and no phrases)
``start_frame`` no       first frame of the clip the row covers (default 0)
``end_frame``   no       frame after the clip's last (default: the video's frame count, read from the file)
=============== ======== ==========================================================================

Empty cells and nulls count as absent; other columns are ignored. Rows are numbered from 1, not counting a CSV
header. A missing ``path`` column, an id-less row or a duplicate id fails when the source is opened; other bad
cells fail `load` of that row. Either way the `SourceError` names the file, the row and the column. The default
name is the manifest's file name without suffix.
"""

from __future__ import annotations

import csv
import glob
import json
import logging
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from videogcg import storage
from videogcg.pipeline.sources.base import SourceCaption, SourceError, SourceVideo
from videogcg.video_io import VideoReadError, probe

logger = logging.getLogger(__name__)

VIDEO_SUFFIXES = (".mp4", ".mkv", ".webm", ".avi", ".mov", ".m4v", ".mpg", ".mpeg")
_GLOB_CHARS = frozenset("*?[")


def _is_video(path: Path) -> bool:
    return path.suffix.lower() in VIDEO_SUFFIXES and path.is_file()


class VideoFolderSource:
    """Every video file under a folder or matching a glob."""

    def __init__(self, root_or_glob: str | Path, name: str | None = None):
        pattern = str(root_or_glob)
        parts = Path(pattern).parts
        if any(_GLOB_CHARS & set(part) for part in parts):
            self.root = storage.path(pattern[: pattern.index(next(p for p in parts if _GLOB_CHARS & set(p)))].rstrip("/"))
            if storage.is_remote(pattern):  # Beam's globs: ``*`` within a folder, ``**`` across folders
                files = [storage.ObjectPath(p, is_file=True) for p in storage.match(pattern)]
            else:
                files = [Path(p) for p in glob.glob(pattern, recursive=True)]
        else:
            self.root = storage.path(pattern)
            if not self.root.is_dir():
                raise SourceError(self.root, "<folder>", "is not a folder")
            files = list(self.root.rglob("*"))
        files = sorted(p for p in files if _is_video(p))
        if not files:
            raise SourceError(pattern, "<files>", f"no video files ({', '.join(VIDEO_SUFFIXES)})")
        self.name = name or self.root.resolve().name
        self._paths: dict[str, Path] = {}
        for path in files:
            video_id = path.relative_to(self.root).with_suffix("").as_posix()
            if video_id in self._paths:
                raise SourceError(path, "video_id", f"{video_id!r} is also the id of {self._paths[video_id]}")
            self._paths[video_id] = path
        logger.info("%s: %d videos under %s", self.name, len(self._paths), pattern)

    def video_ids(self) -> list[str]:
        return sorted(self._paths)

    def load(self, video_id: str) -> SourceVideo:
        return SourceVideo(self.name, video_id, self._paths[video_id])


def _read_rows(path: Path) -> tuple[list[str], list[dict]]:
    """The manifest's column names and rows, cells as read (CSV cells are strings)."""
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".jsonl", ".ndjson", ".parquet"):
        raise SourceError(path, "<file>", "unknown manifest type: expected .csv, .jsonl, .ndjson or .parquet")
    if not path.is_file():
        raise SourceError(path, "<file>", "does not exist")
    if suffix == ".parquet":
        try:
            table = pq.read_table(pa.BufferReader(path.read_bytes()) if storage.is_remote(path) else path)
        except (pa.ArrowException, OSError) as error:
            raise SourceError(path, "<parquet>", f"cannot be read ({error})") from None
        return table.column_names, table.to_pylist()
    with path.open(newline="", encoding="utf-8") as file:
        if suffix == ".csv":
            reader = csv.DictReader(file)
            rows = list(reader)
            for n, row in enumerate(rows, start=1):
                if None in row:
                    raise SourceError(path, f"row {n}", f"has more cells than the header's {len(reader.fieldnames)}")
            return list(reader.fieldnames or []), rows
        rows = []
        for line in file:
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as error:
                raise SourceError(path, f"row {len(rows) + 1}", f"not valid JSON ({error})") from None
            if not isinstance(row, dict):
                raise SourceError(path, f"row {len(rows) + 1}", "must be a JSON object")
            rows.append(row)
        return list(dict.fromkeys(key for row in rows for key in row)), rows


class ManifestSource:
    """Videos listed in a CSV, JSON Lines or Parquet table (see the module docstring)."""

    def __init__(self, manifest_path: str | Path, name: str | None = None):
        self.manifest_path = storage.path(manifest_path)
        self.name = name or self.manifest_path.stem
        columns, rows = _read_rows(self.manifest_path)
        if "path" not in columns:
            raise SourceError(self.manifest_path, "path", f"required column missing (columns: {columns})")
        self._rows: dict[str, tuple[int, dict]] = {}
        for n, row in enumerate(rows, start=1):
            video_id = self._cell(row, "video_id", n, str)
            if video_id is None:
                video_id = Path(self._path_cell(row, n)).with_suffix("").as_posix()
            if video_id in self._rows:
                raise SourceError(self.manifest_path, f"row {n}.video_id", f"{video_id!r} is also the id of row {self._rows[video_id][0]}")
            self._rows[video_id] = (n, row)

    def video_ids(self) -> list[str]:
        return sorted(self._rows)

    def load(self, video_id: str) -> SourceVideo:
        n, row = self._rows[video_id]
        path = storage.path(self._path_cell(row, n))
        path = path if path.is_absolute() else self.manifest_path.parent / path
        if not path.exists():
            raise SourceError(self.manifest_path, f"row {n}.path", f"{path} does not exist")
        caption = self._cell(row, "caption", n, str)
        start, end = self._cell(row, "start_frame", n, int), self._cell(row, "end_frame", n, int)
        if start is not None and end is None:
            try:
                end = probe(path).num_frames
            except VideoReadError as error:
                raise SourceError(self.manifest_path, f"row {n}.path", f"cannot read the frame count: {error}") from None
        if end is not None and not (start or 0) < end:
            raise SourceError(self.manifest_path, f"row {n}.end_frame", f"{end} must be greater than start_frame {start or 0}")
        return SourceVideo(
            self.name,
            video_id,
            path,
            captions=(SourceCaption(caption),) if caption else (),
            clip=None if end is None else (start or 0, end),
        )

    def _path_cell(self, row: dict, n: int) -> str:
        value = self._cell(row, "path", n, str)
        if value is None:
            raise SourceError(self.manifest_path, f"row {n}.path", "missing or empty")
        return value

    def _cell(self, row: dict, column: str, n: int, kind: type):
        """A cell as a stripped non-empty string or an integer >= 0; None where empty or absent."""
        value = row.get(column)
        if isinstance(value, str):
            value = value.strip() or None
        if value is None:
            return None
        if kind is str:
            if isinstance(value, bool) or not isinstance(value, (str, int)):
                raise SourceError(self.manifest_path, f"row {n}.{column}", f"must be text, got {value!r}")
            return str(value)
        if isinstance(value, str) and value.isascii() and value.isdigit():
            value = int(value)
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise SourceError(self.manifest_path, f"row {n}.{column}", f"must be an integer >= 0, got {value!r}")
        return value
