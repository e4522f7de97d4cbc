"""What a source reader hands the pipeline: one video with whatever labels the source has."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from videogcg.schemas import RLE


class SourceError(Exception):
    """A source file or record that cannot be used; names the file and the field."""

    def __init__(self, path: str | Path, field: str, message: str):
        super().__init__(f"{path}: {field}: {message}")
        self.path = str(path)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class SourceExpression:
    """A referring expression and the objects it refers to."""

    text: str
    object_ids: tuple[int, ...]


@dataclass(frozen=True)
class SourceVideo:
    """A video of a source dataset. `masks[object_id]` has one RLE (or None) per frame of the video."""

    source: str
    video_id: str
    path: Path
    expressions: tuple[SourceExpression, ...] = ()
    masks: dict[int, tuple[RLE | None, ...]] = field(default_factory=dict)
    labels: dict[int, str] = field(default_factory=dict)
