"""videogcg's own boxes + captions layout (what `videogcg samples` writes in ``boxes_captions/``).

``annotations.json``::

    {"videos": [{"video_id": "v1", "file": "videos/v1.mp4", "caption": "A red square moves left ...",
                 "objects": [{"object_id": 0, "label": "square", "phrase": "A red square", "span": [0, 12],
                              "boxes": [[x, y, w, h] or null, ...one per frame]}]}]}
"""

from __future__ import annotations

from pathlib import Path

from videogcg import storage
from videogcg.pipeline.sources.base import SourceCaption, SourceError, SourceObject, SourcePhrase, SourceVideo
from videogcg.pipeline.sources.mevis import _load_json


class BoxesCaptionsSource:
    def __init__(self, root: str | Path, name: str = "boxes_captions"):
        self.root = storage.path(root)
        self.name = name
        self.path = self.root / "annotations.json"
        entries = _load_json(self.path, "videos")
        if not isinstance(entries, list):
            raise SourceError(self.path, "videos", "must be a list")
        self._entries = {}
        for i, entry in enumerate(entries):
            if not isinstance(entry, dict) or not isinstance(entry.get("video_id"), str):
                raise SourceError(self.path, f"videos[{i}].video_id", "missing or not a string")
            self._entries[entry["video_id"]] = (i, entry)

    def video_ids(self) -> list[str]:
        return sorted(self._entries)

    def load(self, video_id: str) -> SourceVideo:
        i, entry = self._entries[video_id]
        where = f"videos[{i}]"
        caption = entry.get("caption")
        if not isinstance(caption, str):
            raise SourceError(self.path, f"{where}.caption", "missing or not a string")
        objects, phrases = [], []
        for j, obj in enumerate(entry.get("objects", [])):
            field = f"{where}.objects[{j}]"
            try:
                object_id, label, (start, end) = int(obj["object_id"]), str(obj["label"]), obj["span"]
                boxes = tuple(None if b is None else tuple(float(v) for v in b) for b in obj["boxes"])
            except (KeyError, TypeError, ValueError) as error:
                raise SourceError(self.path, field, f"malformed object ({error.__class__.__name__}: {error})") from None
            if caption[start:end] != obj.get("phrase"):
                raise SourceError(self.path, f"{field}.span", f"caption[{start}:{end}] is not {obj.get('phrase')!r}")
            objects.append(SourceObject(object_id, label, boxes=boxes))
            phrases.append(SourcePhrase(start, end, (object_id,)))
        file = entry.get("file") or f"videos/{video_id}.mp4"
        return SourceVideo(
            self.name, video_id, self.root / file, objects=tuple(objects), captions=(SourceCaption(caption, tuple(phrases)),)
        )
