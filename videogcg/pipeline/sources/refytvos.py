"""Ref-YouTube-VOS sources: YouTube-VOS object masks plus referring expressions, one object per expression.

Layout under the dataset root::

    meta_expressions/<split>/meta_expressions.json
        {"videos": {"<vid>": {"expressions": {"0": {"exp": "a person riding a bike", "obj_id": "1"}, ...},
                              "frames": ["00000", "00005", ...]}}}
    <split>/JPEGImages/<vid>/<frame>.jpg
    <split>/Annotations/<vid>/<frame>.png     palette ("P") PNG: pixel value k is object k, 0 is background
    <split>/meta.json                          optional (YouTube-VOS): {"videos": {"<vid>": {"objects":
                                                   {"1": {"category": "person", "frames": [...]}}}}}

``obj_id`` is a string of the object's pixel value. Every object found in the listed frames' PNGs becomes an
object with a mask (None where it has no pixels) per frame; its label is its YouTube-VOS category from
``meta.json`` where that file exists, else the first expression naming it. Only frames listed in ``frames``
carry labels. The frame folder is the video: where it holds more images than ``frames`` lists (an all-frames
download), labels are placed by frame name and the unlisted frames get None.

Annotations are published for the train split only; loading a video of another split raises SourceError.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from videogcg import storage
from videogcg.pipeline.sources.base import SourceError, SourceExpression, SourceObject, SourceVideo
from videogcg.pipeline.sources.mevis import _load_json, expressions_entry
from videogcg.pipeline.sources.ytvis import locate_frames, place
from videogcg.schemas import RLE
from videogcg.schemas.masks import encode
from videogcg.video_io import open_image

logger = logging.getLogger(__name__)

# Image modes whose pixel values are object ids as stored (palette indices or gray levels).
_INDEX_MODES = ("P", "L")


class RefYouTubeVOSSource:
    """Reads one split of a Ref-YouTube-VOS root. The JSON files are parsed once; `load` reads one video's
    annotation PNGs."""

    def __init__(self, root: str | Path, split: str = "train", name: str = "ref-youtube-vos"):
        self.root = storage.path(root)
        self.split = split
        self.name = name
        self.meta_path = self.root / "meta_expressions" / split / "meta_expressions.json"
        self.frames_root = self.root / split / "JPEGImages"
        self.masks_root = self.root / split / "Annotations"
        self._videos = _load_json(self.meta_path, "videos")
        if not isinstance(self._videos, dict):
            raise SourceError(self.meta_path, "videos", "must map video ids to entries")
        self.categories_path = self.root / split / "meta.json"
        self._categories = _load_json(self.categories_path, "videos") if self.categories_path.is_file() else {}
        if not isinstance(self._categories, dict):
            raise SourceError(self.categories_path, "videos", "must map video ids to entries")
        if not self._categories:
            logger.info("%s: no object categories (%s); objects are labelled by their expressions", self.name, self.categories_path)

    def video_ids(self) -> list[str]:
        return sorted(self._videos)

    def load(self, video_id: str) -> SourceVideo:
        entry, where = expressions_entry(self.meta_path, self._videos, video_id)
        frames = entry.get("frames")
        if not isinstance(frames, list) or not frames or not all(isinstance(f, str) and f for f in frames):
            raise SourceError(self.meta_path, f"{where}.frames", "must be a non-empty list of frame names")
        for t, frame in enumerate(frames):
            if frame in frames[:t]:
                raise SourceError(self.meta_path, f"{where}.frames[{t}]", f"{frame!r} is listed twice")
        expressions = [self._expression(item, f"{where}.expressions[{exp_id!r}]") for exp_id, item in entry["expressions"].items()]
        folder = self.frames_root / video_id
        num_frames, positions = locate_frames(folder, [f"{frame}.jpg" for frame in frames], self.meta_path, f"{where}.frames")
        masks = self._masks(video_id, frames, f"{where}.frames")
        for exp_id, expression in zip(entry["expressions"], expressions):
            if expression.object_ids[0] not in masks:
                raise SourceError(
                    self.meta_path,
                    f"{where}.expressions[{exp_id!r}].obj_id",
                    f"object {expression.object_ids[0]} has no pixels in any listed frame of {self.masks_root / video_id}",
                )
        labels = {e.object_ids[0]: e.text for e in reversed(expressions)}  # the first expression of each object wins
        objects = tuple(
            SourceObject(k, self._category(video_id, k) or labels.get(k, "object"), masks=place(masks[k], positions, num_frames))
            for k in sorted(masks)
        )
        return SourceVideo(self.name, video_id, folder, objects=objects, expressions=tuple(expressions))

    def _expression(self, item, field: str) -> SourceExpression:
        text, obj_id = (item.get(k) if isinstance(item, dict) else None for k in ("exp", "obj_id"))
        if not isinstance(text, str) or not text.strip():
            raise SourceError(self.meta_path, f"{field}.exp", "missing or empty")
        if isinstance(obj_id, str) and obj_id.isdecimal() and obj_id.isascii():
            obj_id = int(obj_id)
        if not isinstance(obj_id, int) or isinstance(obj_id, bool) or obj_id <= 0:
            raise SourceError(self.meta_path, f"{field}.obj_id", f"must be an object id (its pixel value) such as '1', got {obj_id!r}")
        return SourceExpression(text.strip(), (obj_id,))

    def _masks(self, video_id: str, frames: list[str], field: str) -> dict[int, list[RLE | None]]:
        """Per object id found in the listed frames' PNGs, its mask (None where it has no pixels) per listed frame."""
        folder = self.masks_root / video_id
        if not folder.is_dir():
            raise SourceError(folder, field, "no Annotations folder for this video (Ref-YouTube-VOS has masks for its train split only)")
        masks: dict[int, list[RLE | None]] = {}
        for t, frame in enumerate(frames):
            ids = self._read_ids(folder / f"{frame}.png", self.frames_root / video_id / f"{frame}.jpg", f"{field}[{t}]")
            for k in np.unique(ids):
                if k:
                    masks.setdefault(int(k), [None] * len(frames))[t] = encode(ids == k)
        return masks

    def _read_ids(self, png: Path, jpg: Path, field: str) -> np.ndarray:
        """The object id of every pixel of one annotation PNG, checked against its frame's size."""
        if not png.is_file():
            raise SourceError(png, field, "no annotation PNG for this listed frame")
        try:
            with open_image(jpg) as frame:
                frame_size = frame.size
        except (OSError, ValueError) as error:
            raise SourceError(jpg, field, f"cannot be read as an image ({error})") from None
        try:
            with open_image(png) as image:
                mode, size = image.mode, image.size
                ids = np.asarray(image)
        except (OSError, ValueError) as error:
            raise SourceError(png, field, f"cannot be read as an image ({error})") from None
        if mode not in _INDEX_MODES:
            raise SourceError(png, field, f"expected a palette ('P') image of object ids, got mode {mode!r}")
        if size != frame_size:
            raise SourceError(png, field, f"size {size[0]}x{size[1]} differs from the frame's {frame_size[0]}x{frame_size[1]} ({jpg})")
        return ids

    def _category(self, video_id: str, object_id: int) -> str | None:
        """The object's YouTube-VOS category from meta.json, None where that file does not give one."""
        video = self._categories.get(video_id)
        objects = video.get("objects") if isinstance(video, dict) else None
        entry = objects.get(str(object_id)) if isinstance(objects, dict) else None
        category = entry.get("category") if isinstance(entry, dict) else None
        return category.strip() if isinstance(category, str) and category.strip() else None
