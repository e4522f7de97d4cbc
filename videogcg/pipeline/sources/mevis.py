"""MeViS-layout sources: masks plus referring expressions (also the layout of Ref-YouTube-VOS's expressions).

``meta_expressions.json``::

    {"videos": {"<video id>": {"expressions": {"0": {"exp": "...", "obj_id": [0], "anno_id": ["12"]}},
                               "frames": ["00000", ...]}}}

``mask_dict.json`` maps each annotation id to a list with one COCO RLE (or null) per frame. Frames are read
from MeViS's ``JPEGImages/<video id>/`` folder where it exists, else from ``videos/<video id>.mp4`` (the form
`videogcg samples` writes).
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import ValidationError

from videogcg import storage
from videogcg.pipeline.sources.base import SourceError, SourceExpression, SourceObject, SourceVideo
from videogcg.schemas import RLE


def _load_json(path: Path, top_field: str):
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise SourceError(path, "<file>", "does not exist") from None
    except json.JSONDecodeError as error:
        raise SourceError(path, "<json>", f"not valid JSON ({error})") from None
    if not isinstance(data, dict) or (top_field and top_field not in data):
        raise SourceError(path, top_field or "<root>", "missing" if isinstance(data, dict) else "root must be an object")
    return data[top_field] if top_field else data


def expressions_entry(meta_path: Path, videos: dict, video_id: str) -> tuple[dict, str]:
    """A video's entry of a meta_expressions.json (MeViS and Ref-YouTube-VOS share the layout), and its field path."""
    entry = videos[video_id]
    where = f"videos[{video_id!r}]"
    if not isinstance(entry, dict) or not isinstance(entry.get("expressions"), dict):
        raise SourceError(meta_path, f"{where}.expressions", "missing or not an object")
    return entry, where


class MevisSource:
    """Reads one MeViS-layout directory. The files are parsed once; `load` builds one video's record."""

    def __init__(self, root: str | Path, name: str = "mevis"):
        self.root = storage.path(root)
        self.name = name
        self.meta_path = self.root / "meta_expressions.json"
        self.mask_path = self.root / "mask_dict.json"
        self._videos = _load_json(self.meta_path, "videos")
        if not isinstance(self._videos, dict):
            raise SourceError(self.meta_path, "videos", "must map video ids to entries")
        self._mask_dict = _load_json(self.mask_path, "")

    def video_ids(self) -> list[str]:
        return sorted(self._videos)

    def load(self, video_id: str) -> SourceVideo:
        entry, where = expressions_entry(self.meta_path, self._videos, video_id)
        expressions, masks, labels = [], {}, {}  # masks and labels by object id
        for exp_id, item in entry["expressions"].items():
            field = f"{where}.expressions[{exp_id!r}]"
            text, obj_ids, anno_ids = (item.get(k) if isinstance(item, dict) else None for k in ("exp", "obj_id", "anno_id"))
            if not isinstance(text, str) or not text.strip():
                raise SourceError(self.meta_path, f"{field}.exp", "missing or empty")
            if not isinstance(obj_ids, list) or not obj_ids or not all(isinstance(o, int) and o >= 0 for o in obj_ids):
                raise SourceError(self.meta_path, f"{field}.obj_id", f"must be a non-empty list of integers >= 0, got {obj_ids!r}")
            if len(set(obj_ids)) != len(obj_ids):
                raise SourceError(self.meta_path, f"{field}.obj_id", f"repeats an object: {obj_ids!r}")
            if not isinstance(anno_ids, list) or len(anno_ids) != len(obj_ids):
                raise SourceError(self.meta_path, f"{field}.anno_id", f"must list one annotation id per object ({obj_ids})")
            for object_id, anno_id in zip(obj_ids, anno_ids):
                if object_id not in masks:
                    masks[object_id] = self._masks(str(anno_id))
            if len(obj_ids) == 1:
                labels.setdefault(obj_ids[0], text.strip())
            expressions.append(SourceExpression(text.strip(), tuple(obj_ids)))
        objects = tuple(SourceObject(o, labels.get(o, "object"), masks=masks[o]) for o in sorted(masks))
        frames = self.root / "JPEGImages" / video_id
        path = frames if frames.is_dir() else self.root / "videos" / f"{video_id}.mp4"
        return SourceVideo(self.name, video_id, path, objects=objects, expressions=tuple(expressions))

    def _masks(self, anno_id: str) -> tuple[RLE | None, ...]:
        if anno_id not in self._mask_dict:
            raise SourceError(self.mask_path, f"[{anno_id!r}]", "annotation id not found")
        frames = self._mask_dict[anno_id]
        if not isinstance(frames, list):
            raise SourceError(self.mask_path, f"[{anno_id!r}]", "must be a list with one mask (or null) per frame")
        out = []
        for t, mask in enumerate(frames):
            try:
                out.append(None if mask is None else RLE.from_coco(mask))
            except (KeyError, TypeError, ValueError, ValidationError) as error:
                raise SourceError(self.mask_path, f"[{anno_id!r}][{t}]", f"not a COCO RLE ({error.__class__.__name__}: {error})") from None
        return tuple(out)
