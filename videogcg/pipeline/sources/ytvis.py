"""YouTube-VIS-layout sources: per-frame instance masks with class names (YouTube-VIS 2019/2021, BURST
converted to YouTube-VIS, and VideoGLaMM's ``video_gcg/instruction_data/*.json``).

One JSON file::

    {"videos": [{"id": 1, "file_names": ["<vid>/00000.jpg", ...], "width": 1280, "height": 720, "length": 36}],
     "annotations": [{"id": 1, "video_id": 1, "category_id": 6, "iscrowd": 0,
                      "segmentations": [null, {"size": [720, 1280], "counts": "..." or [run lengths]}, ...],
                      "bboxes": [null, [x, y, w, h], ...], "areas": [null, 1234, ...]}],
     "categories": [{"id": 6, "name": "person"}]}

``file_names`` are relative to the frames root (``<split>/JPEGImages`` for YouTube-VIS, ``frames/<split>`` for
BURST) and all lie in one folder per video, in name order. Each annotation becomes one object (id = annotation
id, label = category name) with a mask and a box (or None) per frame. ``areas`` and ``iscrowd`` follow from
the masks and are not kept. A file without ``annotations`` (the valid/test splits) gives videos without objects.

VideoGLaMM's files add ``videos[].dense_cap`` = ``{"caption", "token_pos", "mask_id", ...}``: word
``token_pos[k]`` of ``caption.split(" ")`` grounds annotation ``mask_id[k]``. It becomes a caption whose
phrases are those single words (VideoGLaMM's own reading; a phrase is one word, punctuation included).
Files written by `videogcg export videoglamm` also carry ``dense_cap.phrases`` (exact character spans, read
instead of the words) and ``metadata.object_ids`` ({annotation id: object id}, giving the objects their own
ids back), so an export reads back exactly.

The frame folder may hold more images than ``file_names`` lists (BURST's all-frames download): labels are
placed by file name at the folder's frame positions, None on the frames the file does not list.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path, PurePosixPath
from typing import TypeVar

from videogcg import storage
from videogcg.pipeline.sources.base import SourceCaption, SourceError, SourceObject, SourcePhrase, SourceVideo
from videogcg.pipeline.sources.mevis import _load_json
from videogcg.schemas import RLE, Box
from videogcg.video_io import VideoReadError, frame_files

logger = logging.getLogger(__name__)

T = TypeVar("T")


def locate_frames(folder: Path, names: Sequence[str], path: str | Path, field: str) -> tuple[int, list[int]]:
    """The number of frames in `folder` (its images in name order, as `read_frames` reads them) and the
    position there of each of `names`. `path` and `field` name the record that lists the names."""
    try:
        files = frame_files(folder)
    except FileNotFoundError:
        raise SourceError(path, field, f"frame folder {folder} does not exist") from None
    except VideoReadError as error:
        raise SourceError(path, field, error.reason.replace("folder", f"frame folder {folder}", 1)) from None
    index = {file.name: i for i, file in enumerate(files)}
    positions = []
    for j, name in enumerate(names):
        if name not in index:
            raise SourceError(path, f"{field}[{j}]", f"{folder / name} is not an image in the frame folder")
        positions.append(index[name])
    if len(files) > len(names):
        logger.debug("%s: %d frames, %d labelled; the others get no labels", folder, len(files), len(names))
    return len(files), positions


def place(values: Sequence[T], positions: Sequence[int], num_frames: int) -> tuple[T | None, ...]:
    """Per-listed-frame values spread onto all `num_frames` frames of the folder (None elsewhere)."""
    if list(positions) == list(range(num_frames)):
        return tuple(values)
    out: list[T | None] = [None] * num_frames
    for position, value in zip(positions, values):
        out[position] = value
    return tuple(out)


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class YouTubeVISSource:
    """Reads one YouTube-VIS-style JSON file; frames are looked up under `frames_root`. The file is parsed
    once; `load` checks and converts one video's record. Video ids are the JSON ids as strings, in file order."""

    def __init__(self, annotation_file: str | Path, frames_root: str | Path, name: str = "ytvis"):
        self.path = storage.path(annotation_file)
        self.frames_root = storage.path(frames_root)
        self.name = name
        data = _load_json(self.path, "")
        videos, categories = data.get("videos"), data.get("categories", [])
        if not isinstance(videos, list):
            raise SourceError(self.path, "videos", "missing or not a list")
        self._videos: dict[str, tuple[int, dict]] = {}
        for i, video in enumerate(videos):
            video_id = video.get("id") if isinstance(video, dict) else None
            if not (_is_int(video_id) or isinstance(video_id, str)):
                raise SourceError(self.path, f"videos[{i}].id", f"must be an integer or string, got {video_id!r}")
            if str(video_id) in self._videos:
                raise SourceError(self.path, f"videos[{i}].id", f"{video_id!r} appears twice")
            self._videos[str(video_id)] = (i, video)
        if not isinstance(categories, list):
            raise SourceError(self.path, "categories", "must be a list")
        self._categories: dict[int, str] = {}
        for i, category in enumerate(categories):
            category_id, label = (category.get(k) if isinstance(category, dict) else None for k in ("id", "name"))
            if not _is_int(category_id) or not isinstance(label, str) or not label.strip():
                raise SourceError(self.path, f"categories[{i}]", "must have an integer id and a non-empty name")
            self._categories[category_id] = label.strip()
        self._annotations = self._group_annotations(data.get("annotations"))

    def _group_annotations(self, annotations) -> dict[str, list[tuple[int, dict]]]:
        if annotations is None:
            logger.warning("%s: no annotations; its videos load without objects", self.path)
            annotations = []
        if not isinstance(annotations, list):
            raise SourceError(self.path, "annotations", "must be a list")
        grouped: dict[str, list[tuple[int, dict]]] = {video_id: [] for video_id in self._videos}
        orphans = 0
        for j, annotation in enumerate(annotations):
            video_id = annotation.get("video_id") if isinstance(annotation, dict) else None
            if not (_is_int(video_id) or isinstance(video_id, str)):
                raise SourceError(self.path, f"annotations[{j}].video_id", f"must be a video id, got {video_id!r}")
            if str(video_id) in grouped:
                grouped[str(video_id)].append((j, annotation))
            else:
                orphans += 1
        if orphans:
            logger.warning("%s: %d annotations name a video_id that is not in videos; they are ignored", self.path, orphans)
        return grouped

    def video_ids(self) -> list[str]:
        return list(self._videos)

    def load(self, video_id: str) -> SourceVideo:
        i, video = self._videos[video_id]
        where = f"videos[{i}]"
        file_names, length, width, height = (video.get(k) for k in ("file_names", "length", "width", "height"))
        if not isinstance(file_names, list) or not file_names or not all(isinstance(n, str) for n in file_names):
            raise SourceError(self.path, f"{where}.file_names", "must be a non-empty list of frame paths")
        if length != len(file_names):
            raise SourceError(self.path, f"{where}.length", f"is {length!r}, file_names lists {len(file_names)} frames")
        for key, value in (("width", width), ("height", height)):
            if not _is_int(value) or value <= 0:
                raise SourceError(self.path, f"{where}.{key}", f"must be a positive integer, got {value!r}")
        folder, positions, num_frames = self._frames(file_names, f"{where}.file_names")
        objects, seen = [], set()
        for j, annotation in self._annotations[video_id]:
            obj = self._object(j, annotation, (height, width), positions, num_frames)
            if obj.object_id in seen:
                raise SourceError(self.path, f"annotations[{j}].id", f"{obj.object_id} appears twice in video {video_id}")
            seen.add(obj.object_id)
            objects.append(obj)
        captions = self._captions(video.get("dense_cap"), f"{where}.dense_cap", seen)
        renumber = self._object_ids(video.get("metadata"), f"{where}.metadata.object_ids", seen)
        if renumber:
            objects = [replace(o, object_id=renumber[o.object_id]) for o in objects]
            captions = tuple(
                replace(c, phrases=tuple(replace(p, object_ids=tuple(renumber[i] for i in p.object_ids)) for p in c.phrases))
                for c in captions
            )
        return SourceVideo(self.name, video_id, folder, objects=tuple(objects), captions=captions)

    def _frames(self, file_names: list[str], field: str) -> tuple[Path, list[int], int]:
        """The video's frame folder, where each listed frame sits in it, and its number of frames."""
        parents = [PurePosixPath(name).parent for name in file_names]
        for j, parent in enumerate(parents):
            if parent != parents[0]:
                raise SourceError(self.path, f"{field}[{j}]", f"is in folder {parent}, file_names[0] in {parents[0]}: one folder per video")
        folder = self.frames_root / parents[0]
        num_frames, positions = locate_frames(folder, [PurePosixPath(name).name for name in file_names], self.path, field)
        for j in range(1, len(positions)):
            if positions[j] <= positions[j - 1]:
                raise SourceError(
                    self.path,
                    f"{field}[{j}]",
                    f"{file_names[j]!r} does not sort after {file_names[j - 1]!r}; frames are read in name order",
                )
        return folder, positions, num_frames

    def _object(self, j: int, annotation: dict, size: tuple[int, int], positions: list[int], num_frames: int) -> SourceObject:
        """Annotation `j` as an object with a mask and a box (or None) per frame of the folder."""
        field, length = f"annotations[{j}]", len(positions)
        object_id, category_id, segmentations = (annotation.get(k) for k in ("id", "category_id", "segmentations"))
        if not _is_int(object_id):
            raise SourceError(self.path, f"{field}.id", f"must be an integer, got {object_id!r}")
        if category_id not in self._categories:
            raise SourceError(self.path, f"{field}.category_id", f"{category_id!r} is not in categories")
        if not isinstance(segmentations, list) or len(segmentations) != length:
            raise SourceError(self.path, f"{field}.segmentations", f"must be a list with one mask (or null) per frame ({length})")
        masks = [None if s is None else self._mask(s, size, f"{field}.segmentations[{t}]") for t, s in enumerate(segmentations)]
        bboxes = annotation.get("bboxes")
        if bboxes is not None and (not isinstance(bboxes, list) or len(bboxes) != length):
            raise SourceError(self.path, f"{field}.bboxes", f"must be a list with one box (or null) per frame ({length})")
        boxes = None if bboxes is None else [None if b is None else self._box(b, f"{field}.bboxes[{t}]") for t, b in enumerate(bboxes)]
        return SourceObject(
            object_id,
            self._categories[category_id],
            masks=place(masks, positions, num_frames),
            boxes=None if boxes is None else place(boxes, positions, num_frames),
        )

    def _mask(self, value, size: tuple[int, int], field: str) -> RLE:
        try:
            mask = RLE.from_coco(value)
        except (LookupError, TypeError, ValueError) as error:  # pydantic's ValidationError is a ValueError
            raise SourceError(self.path, field, f"not a COCO RLE ({error.__class__.__name__}: {error})") from None
        if mask.size != size:
            raise SourceError(self.path, field, f"size {mask.size} differs from the video's (height, width) {size}")
        return mask

    def _box(self, value, field: str) -> Box:
        if not isinstance(value, list) or len(value) != 4 or not all(_is_number(v) for v in value) or value[2] < 0 or value[3] < 0:
            raise SourceError(self.path, field, f"must be [x, y, width, height] with width, height >= 0, got {value!r}")
        x, y, w, h = (float(v) for v in value)
        return (x, y, w, h)

    def _object_ids(self, metadata, field: str, annotation_ids: set[int]) -> dict[int, int]:
        """{annotation id: the video's own object id} from our `metadata.object_ids`, if given."""
        mapping = metadata.get("object_ids") if isinstance(metadata, dict) else None
        if mapping is None:
            return {}
        if not isinstance(mapping, dict):
            raise SourceError(self.path, field, f"must map annotation ids to object ids, got {mapping!r}")
        renumber = {}
        for annotation_id, object_id in mapping.items():
            if not str(annotation_id).isdigit() or int(annotation_id) not in annotation_ids:
                raise SourceError(self.path, f"{field}[{annotation_id!r}]", "is not an annotation id of this video")
            if not _is_int(object_id) or object_id < 0 or object_id in renumber.values():
                raise SourceError(self.path, f"{field}[{annotation_id!r}]", f"{object_id!r} is not a distinct object id >= 0")
            renumber[int(annotation_id)] = object_id
        if set(renumber) != annotation_ids:
            raise SourceError(self.path, field, f"maps annotations {sorted(renumber)}, the video has {sorted(annotation_ids)}")
        return renumber

    def _captions(self, dense_cap, field: str, object_ids: set[int]) -> tuple[SourceCaption, ...]:
        """VideoGLaMM's dense caption: each grounded word becomes a phrase tied to its annotations, or, where the
        file has our `phrases` extension, each exact character span does."""
        if dense_cap is None:
            return ()
        caption, token_pos, mask_id = (
            dense_cap.get(k) if isinstance(dense_cap, dict) else None for k in ("caption", "token_pos", "mask_id")
        )
        if not isinstance(caption, str) or not caption.strip():
            raise SourceError(self.path, f"{field}.caption", "missing or empty")
        if dense_cap.get("phrases") is not None:
            return (SourceCaption(caption, self._spans(dense_cap["phrases"], caption, f"{field}.phrases", object_ids)),)
        if not isinstance(token_pos, list) or not isinstance(mask_id, list) or len(token_pos) != len(mask_id):
            raise SourceError(self.path, f"{field}.token_pos", "token_pos and mask_id must be lists of equal length")
        words = caption.split(" ")
        starts = [0]
        for word in words[:-1]:
            starts.append(starts[-1] + len(word) + 1)
        grounded: dict[int, list[int]] = {}
        for k, (word, annotation_id) in enumerate(zip(token_pos, mask_id)):
            if not _is_int(word) or not 0 <= word < len(words) or not words[word]:
                raise SourceError(self.path, f"{field}.token_pos[{k}]", f"{word!r} is not a word index of the caption ({len(words)} words)")
            if annotation_id not in object_ids:
                raise SourceError(self.path, f"{field}.mask_id[{k}]", f"{annotation_id!r} is not an annotation id of this video")
            grounded.setdefault(word, [])
            if annotation_id not in grounded[word]:
                grounded[word].append(annotation_id)
        phrases = tuple(SourcePhrase(starts[w], starts[w] + len(words[w]), tuple(ids)) for w, ids in sorted(grounded.items()))
        return (SourceCaption(caption, phrases),)

    def _spans(self, spans, caption: str, field: str, object_ids: set[int]) -> tuple[SourcePhrase, ...]:
        if not isinstance(spans, list):
            raise SourceError(self.path, field, "must be a list of {start, end, mask_id}")
        phrases, previous_end = [], 0
        for k, span in enumerate(spans):
            start, end, ids = (span.get(key) if isinstance(span, dict) else None for key in ("start", "end", "mask_id"))
            if not (_is_int(start) and _is_int(end) and previous_end <= start < end <= len(caption)):
                raise SourceError(
                    self.path, f"{field}[{k}]", f"span [{start!r}, {end!r}) must lie in the caption, in order, without overlap"
                )
            if not isinstance(ids, list) or not ids or any(i not in object_ids for i in ids):
                raise SourceError(self.path, f"{field}[{k}].mask_id", f"{ids!r} must be annotation ids of this video")
            phrases.append(SourcePhrase(start, end, tuple(ids)))
            previous_end = end
        return tuple(phrases)
