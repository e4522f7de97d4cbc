"""The video a sample is cut from, and which of its frames were sampled."""

from __future__ import annotations

import hashlib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

from videogcg import storage
from videogcg.schemas.errors import FieldError


class VideoRef(BaseModel):
    """A source video: where it is, its geometry and timing, and a hash of its bytes."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    uri: str = Field(min_length=1)
    fps: float = Field(gt=0)
    num_frames: int = Field(gt=0)
    width: int = Field(gt=0)
    height: int = Field(gt=0)
    content_hash: str = Field(pattern=r"^sha256:[0-9a-f]{64}$")


class Clip(BaseModel):
    """A frame range [start, end) of a video and the frame indices sampled from it, in order."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    start: int = Field(ge=0)
    end: int = Field(gt=0)
    frame_indices: tuple[int, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _check_indices(self) -> Clip:
        if self.end <= self.start:
            raise FieldError("end", f"end {self.end} must be after start {self.start}")
        previous = -1
        for i, index in enumerate(self.frame_indices):
            if not self.start <= index < self.end:
                raise FieldError(f"frame_indices[{i}]", f"frame {index} outside [{self.start}, {self.end})")
            if index <= previous:
                raise FieldError(f"frame_indices[{i}]", f"frame {index} not after {previous}")
            previous = index
        return self


def content_hash(path: str | Path | storage.ObjectPath | bytes, chunk_size: int = 1 << 20) -> str:
    """sha256 of a file's bytes; of a folder (of frame images), of its files' names and bytes in name order."""
    if isinstance(path, bytes):  # a file already read (from object storage)
        return f"sha256:{hashlib.sha256(path).hexdigest()}"
    path = storage.path(path)
    digest = hashlib.sha256()
    folder = path.is_dir()
    for file in sorted(p for p in path.iterdir() if p.is_file()) if folder else [path]:
        if folder:
            digest.update(file.name.encode() + b"\x00")
        with file.open("rb") as f:
            while chunk := f.read(chunk_size):
                digest.update(chunk)
    return f"sha256:{digest.hexdigest()}"
