"""What a source reader hands the pipeline: one video with whatever labels its dataset has.

Every importer (MeViS, YouTube-VIS/BURST, Ref-YouTube-VOS, VidSTG/HC-STVG, ActivityNet-Entities, plain
folders and manifests) maps its format into `SourceVideo`; which stages run for a video follows from
`SourceVideo.kind` (DESIGN.md's table).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Protocol

from videogcg.schemas import RLE, Box


class SourceError(Exception):
    """A source file or record that cannot be used; names the file and the field."""

    def __init__(self, path: str | Path, field: str, message: str):
        super().__init__(f"{path}: {field}: {message}")
        self.path = str(path)
        self.field = field
        self.message = message


class SourceKind(str, Enum):
    RAW = "raw"  # nothing: caption, phrases, boxes, masklets, conversation are all made
    MASKS = "masks"  # masklets + class names (YouTube-VIS, BURST)
    BOXES_CAPTIONS = "boxes_captions"  # box tracks and/or captions with phrases (ActivityNet-Entities, VidSTG, HC-STVG)
    MASKS_EXPRESSIONS = "masks_expressions"  # masklets + referring expressions (MeViS, Ref-YouTube-VOS)


@dataclass(frozen=True)
class SourceObject:
    """An object the source labels. `masks` and `boxes`, where present, have one entry per frame of the video
    (None where the object is absent or not annotated)."""

    object_id: int
    label: str
    masks: tuple[RLE | None, ...] | None = None
    boxes: tuple[Box | None, ...] | None = None


@dataclass(frozen=True)
class SourceExpression:
    """A referring expression and the objects it refers to."""

    text: str
    object_ids: tuple[int, ...]


@dataclass(frozen=True)
class SourcePhrase:
    """A character span [start, end) of a source caption, tied to objects (none where the source has no link)."""

    start: int
    end: int
    object_ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class SourceCaption:
    text: str
    phrases: tuple[SourcePhrase, ...] = ()


@dataclass(frozen=True)
class SourceVideo:
    """One video of a source. `path` is a video file or a folder of frame images (read in name order);
    `clip` is the frame range [start, end) the labels cover, None for the whole video."""

    source: str
    video_id: str
    path: Path
    objects: tuple[SourceObject, ...] = ()
    expressions: tuple[SourceExpression, ...] = ()
    captions: tuple[SourceCaption, ...] = ()
    clip: tuple[int, int] | None = None

    @property
    def kind(self) -> SourceKind:
        has_masks = any(o.masks is not None for o in self.objects)
        if has_masks and self.expressions:
            return SourceKind.MASKS_EXPRESSIONS
        if has_masks:
            return SourceKind.MASKS
        if self.captions or any(o.boxes is not None for o in self.objects):
            return SourceKind.BOXES_CAPTIONS
        return SourceKind.RAW

    def object(self, object_id: int) -> SourceObject:
        for obj in self.objects:
            if obj.object_id == object_id:
                return obj
        raise KeyError(f"{self.source} {self.video_id}: no object {object_id}")


class Source(Protocol):
    """A dataset: its video ids (cheap), and one video's record on demand (raises SourceError)."""

    name: str

    def video_ids(self) -> list[str]: ...

    def load(self, video_id: str) -> SourceVideo: ...
