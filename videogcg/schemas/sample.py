"""The GCG sample: a clip, its object tracks and a grounded conversation, under a deterministic key."""

from __future__ import annotations

import hashlib
import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, JsonValue, ValidationError, model_validator

from videogcg.schemas.conversation import TextField, Turn
from videogcg.schemas.errors import FieldError, InvalidSampleError
from videogcg.schemas.masklet import Masklet
from videogcg.schemas.provenance import ReviewState
from videogcg.schemas.video import Clip, VideoRef

SCHEMA_VERSION = 1
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


def sample_key(source: str, video_id: str, start: int, end: int, conversation_index: int) -> str:
    """Deterministic key: a readable slug plus a hash of the exact identity.

    WebDataset splits a member name at its first dot, so keys hold no dots; the hash keeps two video ids
    that slug alike ("a/b" and "a_b") apart.
    """
    identity = f"{source}\x00{video_id}\x00{start}\x00{end}\x00{conversation_index}"
    digest = hashlib.sha1(identity.encode()).hexdigest()[:12]
    slug = _UNSAFE.sub("-", f"{source}_{video_id}").strip("-")[:64]
    return f"{slug}_{start}-{end}_c{conversation_index}_{digest}"


def _field_path(loc: tuple[int | str, ...]) -> str:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "<sample>"


class Sample(BaseModel):
    """One GCG training example. Construction validates; a failure raises `InvalidSampleError`."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    schema_version: int = SCHEMA_VERSION
    key: str
    source: str = Field(min_length=1, description="source dataset or collection name")
    video_id: str = Field(min_length=1)
    video: VideoRef
    clip: Clip
    conversation_index: int = Field(default=0, ge=0)
    caption: TextField | None = Field(default=None, description="dense caption of the clip, if one was made")
    objects: tuple[Masklet, ...] = ()
    conversation: tuple[Turn, ...] = ()
    review: ReviewState = ReviewState.AUTO
    stage_versions: dict[str, str] = Field(default_factory=dict)
    meta: dict[str, JsonValue] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check_consistency(self) -> Sample:
        if self.clip.end > self.video.num_frames:
            raise FieldError("clip.end", f"{self.clip.end} beyond the video's {self.video.num_frames} frames")
        num_frames = len(self.clip.frame_indices)
        size = (self.video.height, self.video.width)
        ids: set[int] = set()
        for i, track in enumerate(self.objects):
            if track.object_id in ids:
                raise FieldError(f"objects[{i}].object_id", f"object id {track.object_id} appears twice")
            ids.add(track.object_id)
            if len(track.masks) != num_frames:
                raise FieldError(f"objects[{i}].masks", f"has {len(track.masks)} entries for {num_frames} sampled frames")
            for t, mask in enumerate(track.masks):
                if mask is not None and mask.size != size:
                    raise FieldError(f"objects[{i}].masks[{t}]", f"size {mask.size} differs from the video's {size}")
        for i, turn in enumerate(self.conversation):
            for j, phrase in enumerate(turn.phrases):
                missing = [o for o in phrase.object_ids if o not in ids]
                if missing:
                    raise FieldError(f"conversation[{i}].phrases[{j}].object_ids", f"no object track with id {missing}")
        expected = sample_key(self.source, self.video_id, self.clip.start, self.clip.end, self.conversation_index)
        if self.key != expected:
            raise FieldError("key", f"does not match source/video/clip/conversation (expected {expected!r})")
        return self

    # Declared after the checks above so that it wraps them too (pydantic nests model validators in order).
    @model_validator(mode="wrap")
    @classmethod
    def _name_the_sample(cls, data: Any, handler):
        try:
            return handler(data)
        except ValidationError as error:
            key = data.get("key") if isinstance(data, dict) else getattr(data, "key", None)
            first = error.errors()[0]
            cause = (first.get("ctx") or {}).get("error")
            loc = _field_path(first["loc"])
            if isinstance(cause, FieldError):
                prefix = loc if loc != "<sample>" else ""
                field = f"{prefix}.{cause.field}" if prefix else cause.field
                raise InvalidSampleError(key, field, cause.message) from None
            raise InvalidSampleError(key, loc, first["msg"]) from None

    @classmethod
    def from_json(cls, text: str | bytes) -> Sample:
        return cls.model_validate_json(text)

    def to_json(self) -> str:
        return self.model_dump_json()

    def track(self, object_id: int) -> Masklet:
        for track in self.objects:
            if track.object_id == object_id:
                return track
        raise KeyError(f"sample {self.key!r} has no object {object_id}")
