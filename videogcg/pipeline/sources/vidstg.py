"""Spatio-temporal video grounding sources: VidSTG (built on VidOR) and HC-STVG v2, box tubes plus sentences.

**VidSTG** ``{train,val,test}_annotations.json`` is a JSON list with one record per annotated relation (a video
can have several)::

    [{"vid": "5159741010", "frame_count": 219, "fps": 29.97, "width": 1920, "height": 1080,
      "subject/objects": [{"tid": 0, "category": "bicycle"}, ...],
      "used_segment": {"begin_fid": 0, "end_fid": 210},
      "used_relation": {"subject_tid": 0, "object_tid": 1, "predicate": "in_front_of", "begin_fid": 13, "end_fid": 45},
      "temporal_gt": {"begin_fid": 13, "end_fid": 45},
      "captions": [{"description": "there is a red bicycle ...", "type": "object", "target_id": 0}],
      "questions": [{"description": "what is in front of the child?", "type": "object", "target_id": 0}],
      "trajectories": [[{"tid": 0, "bbox": {"xmin": 1, "ymin": 2, "xmax": 30, "ymax": 40}}, ...], ...]}]

The official VidSTG files carry no ``trajectories``: those are VidOR's (one list per frame of the whole video,
the layout above, with extra ``generated``/``tracker`` keys that are not read). A record either has them inline
(files merged with VidOR, as TubeDETR's preprocessing does) or the source is given ``vidor_annotations``, VidOR's
annotation folder (``<folder>/<group>/<vid>.json``, searched recursively by file name).

Mapping: every subject/object becomes a `SourceObject` (label = its category) with one xywh box per frame of
the video; `clip` = ``temporal_gt`` as [begin_fid, end_fid) (end exclusive, as TubeDETR reads it); each
declarative caption becomes a `SourceCaption` with one phrase on the target's category noun where that noun
occurs in the sentence (first whole-word match, case-insensitive, ``_`` read as a space, ``a/b`` as
alternatives, plural ``s``/``es`` allowed), else no phrase; each interrogative sentence (``questions``) becomes
a `SourceExpression` referring to its target. ``used_segment``, ``used_relation`` and ``type`` are not mapped
(the contract has no field for them). Video ids are ``vid``, or ``<vid>____<n>`` (n-th record of that vid in
file order) where the file has several records for one vid. Videos are ``<videos_root>/<vid>.mp4``.

**HC-STVG v2** ``{train,val}_v2.json`` maps video file names to one person tube each::

    {"<name>.mp4": {"English": "The man in the jacket walks ...", "st_frame": 40, "ed_frame": 140,
                    "st_time": 2.0, "ed_time": 7.0, "bbox": [[x, y, w, h], ...], "img_num": 400,
                    "img_size": [height, width]}}

``bbox`` holds one box per frame of the tube, from ``st_frame`` (a 0-based frame index, as TubeDETR and
VideoGLaMM index with it); the tube is [st_frame, st_frame + len(bbox)), and ``ed_frame`` must be its end
(exclusive, or inclusive: both are accepted). The frame size is ``img_size`` (or ``img_hw``), [height, width].
Mapping: one object 0 labelled "person" with those boxes, the sentence as a caption without phrases, `clip` =
the tube. Video ids are the keys without ``.mp4``; videos are ``<videos_root>/<id>.mp4``.

Boxes are checked against the frame size: a box may run past the border by up to `BOX_SLACK` of the frame side
(trackers and annotation tools do this) and is clipped to the frame; an empty box or one further out is a
`SourceError`.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections import Counter
from pathlib import Path

from videogcg import storage
from videogcg.pipeline.sources.base import SourceCaption, SourceError, SourceExpression, SourceObject, SourcePhrase, SourceVideo
from videogcg.schemas import Box

logger = logging.getLogger(__name__)

BOX_SLACK = 0.05
# Joins a video id and a record / segment index into one source video id (VideoGLaMM's "<vid>____<seg>").
ID_SEPARATOR = "____"


def read_json(path: Path):
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise SourceError(path, "<file>", "does not exist") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise SourceError(path, "<json>", f"not valid JSON ({error})") from None


def is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def frame_box(box: tuple[float, float, float, float], width: int, height: int, path: Path, field: str) -> Box:
    """Check an (x, y, w, h) box against a width x height frame; clip what runs past the border by at most BOX_SLACK."""
    x, y, w, h = (float(v) for v in box)
    slack_x, slack_y = BOX_SLACK * width, BOX_SLACK * height
    if w <= 0 or h <= 0 or x < -slack_x or y < -slack_y or x + w > width + slack_x or y + h > height + slack_y:
        raise SourceError(path, field, f"box (x, y, w, h) = {tuple(box)} is empty or outside the {width}x{height} frame")
    if x < 0:
        x, w = 0.0, w + x
    if y < 0:
        y, h = 0.0, h + y
    if x + w > width:
        w = width - x
    if y + h > height:
        h = height - y
    if w <= 0 or h <= 0:
        raise SourceError(path, field, f"box (x, y, w, h) = {tuple(box)} lies outside the {width}x{height} frame")
    return (x, y, w, h)


def _int(record: dict, key: str, path: Path, where: str, minimum: int = 0) -> int:
    value = record.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise SourceError(path, f"{where}.{key}", f"must be an integer >= {minimum}, got {value!r}")
    return value


def _text(record, key: str, path: Path, where: str) -> str:
    value = record.get(key) if isinstance(record, dict) else None
    if not isinstance(value, str) or not value.strip():
        raise SourceError(path, f"{where}.{key}", "missing or empty")
    return value.strip()


def category_span(text: str, category: str) -> tuple[int, int] | None:
    """Character span of the category noun's first whole-word occurrence in text, None where it does not occur."""
    names = sorted((name.replace("_", " ").strip() for name in category.split("/")), key=len, reverse=True)
    for name in filter(None, names):
        match = re.search(rf"\b{re.escape(name)}(?:e?s)?\b", text, flags=re.IGNORECASE)
        if match:
            return match.span()
    return None


class VidSTGSource:
    """Reads one VidSTG annotation file (see the module docstring). The file is parsed once; `load` checks and maps
    one record."""

    def __init__(
        self, annotation_file: str | Path, videos_root: str | Path, name: str = "vidstg", vidor_annotations: str | Path | None = None
    ):
        self.annotation_file = storage.path(annotation_file)
        self.videos_root = storage.path(videos_root)
        self.name = name
        self.vidor_annotations = None if vidor_annotations is None else storage.path(vidor_annotations)
        self._vidor_files: dict[str, Path] | None = None
        records = read_json(self.annotation_file)
        if not isinstance(records, list):
            raise SourceError(self.annotation_file, "<root>", "must be a list of records")
        vids = []
        for n, record in enumerate(records):
            vid = record.get("vid") if isinstance(record, dict) else None
            if isinstance(vid, bool) or not isinstance(vid, (str, int)) or str(vid) == "":
                raise SourceError(self.annotation_file, f"[{n}].vid", f"missing or not a video id, got {vid!r}")
            vids.append(str(vid))
        counts, seen = Counter(vids), Counter()
        self._records: dict[str, tuple[int, str, dict]] = {}
        for n, (vid, record) in enumerate(zip(vids, records)):
            video_id = vid if counts[vid] == 1 else f"{vid}{ID_SEPARATOR}{seen[vid]}"
            seen[vid] += 1
            self._records[video_id] = (n, vid, record)

    def video_ids(self) -> list[str]:
        return sorted(self._records)

    def load(self, video_id: str) -> SourceVideo:
        n, vid, record = self._records[video_id]
        path, where = self.annotation_file, f"[{n}]"
        frame_count = _int(record, "frame_count", path, where, minimum=1)
        width = _int(record, "width", path, where, minimum=1)
        height = _int(record, "height", path, where, minimum=1)
        categories = self._categories(record, where)
        gt = record.get("temporal_gt")
        if not isinstance(gt, dict):
            raise SourceError(path, f"{where}.temporal_gt", "missing or not an object")
        begin = _int(gt, "begin_fid", path, f"{where}.temporal_gt")
        end = _int(gt, "end_fid", path, f"{where}.temporal_gt")
        if not begin < end <= frame_count:
            raise SourceError(path, f"{where}.temporal_gt", f"[{begin}, {end}) is not a frame range within frame_count {frame_count}")
        if "trajectories" in record:
            trajectories, traj_path, traj_where = record["trajectories"], path, f"{where}.trajectories"
        else:
            traj_path = self._vidor_file(vid, where)
            vidor = read_json(traj_path)
            trajectories, traj_where = vidor.get("trajectories") if isinstance(vidor, dict) else None, "trajectories"
        tracks = _tracks(trajectories, categories, frame_count, width, height, traj_path, traj_where)
        objects = tuple(SourceObject(tid, categories[tid], boxes=tuple(tracks[tid])) for tid in sorted(categories))
        captions = []
        for k, item in enumerate(self._sentences(record, "captions", where)):
            text, target = self._sentence(item, categories, f"{where}.captions[{k}]")
            span = category_span(text, categories[target])
            captions.append(SourceCaption(text, (SourcePhrase(*span, (target,)),) if span else ()))
        expressions = []
        for k, item in enumerate(self._sentences(record, "questions", where)):
            text, target = self._sentence(item, categories, f"{where}.questions[{k}]")
            expressions.append(SourceExpression(text, (target,)))
        return SourceVideo(
            self.name,
            video_id,
            self.videos_root / f"{vid}.mp4",
            objects=objects,
            expressions=tuple(expressions),
            captions=tuple(captions),
            clip=(begin, end),
        )

    def _categories(self, record: dict, where: str) -> dict[int, str]:
        items = record.get("subject/objects")
        if not isinstance(items, list) or not items:
            raise SourceError(self.annotation_file, f"{where}.subject/objects", "missing or empty")
        categories = {}
        for k, item in enumerate(items):
            field = f"{where}.subject/objects[{k}]"
            tid = _int(item if isinstance(item, dict) else {}, "tid", self.annotation_file, field)
            if tid in categories:
                raise SourceError(self.annotation_file, f"{field}.tid", f"tid {tid} listed twice")
            categories[tid] = _text(item, "category", self.annotation_file, field)
        return categories

    def _sentences(self, record: dict, key: str, where: str) -> list:
        items = record.get(key, [])
        if not isinstance(items, list):
            raise SourceError(self.annotation_file, f"{where}.{key}", "must be a list")
        return items

    def _sentence(self, item, categories: dict[int, str], field: str) -> tuple[str, int]:
        text = _text(item, "description", self.annotation_file, field)
        target = item.get("target_id")
        if target not in categories or isinstance(target, bool):
            raise SourceError(self.annotation_file, f"{field}.target_id", f"{target!r} is not a tid of subject/objects")
        return text, target

    def _vidor_file(self, vid: str, where: str) -> Path:
        if self.vidor_annotations is None:
            raise SourceError(self.annotation_file, f"{where}.trajectories", "missing, and no VidOR annotation folder was given")
        if self._vidor_files is None:
            self._vidor_files = {p.stem: p for p in sorted(self.vidor_annotations.rglob("*.json"))}
            logger.info("%s: %d VidOR annotation files under %s", self.name, len(self._vidor_files), self.vidor_annotations)
        if vid not in self._vidor_files:
            raise SourceError(self.annotation_file, f"{where}.trajectories", f"missing, and no {vid}.json under {self.vidor_annotations}")
        return self._vidor_files[vid]


def _tracks(
    trajectories, categories: dict[int, str], frame_count: int, width: int, height: int, path: Path, where: str
) -> dict[int, list[Box | None]]:
    """VidOR trajectories (per frame, a list of {tid, bbox: {xmin, ymin, xmax, ymax}}) as one xywh box or None per frame."""
    if not isinstance(trajectories, list) or len(trajectories) > frame_count:
        raise SourceError(path, where, f"must be a list of at most frame_count ({frame_count}) frames")
    tracks: dict[int, list[Box | None]] = {tid: [None] * frame_count for tid in categories}
    for t, frame in enumerate(trajectories):
        if not isinstance(frame, list):
            raise SourceError(path, f"{where}[{t}]", "must be a list of boxes")
        for j, entry in enumerate(frame):
            field = f"{where}[{t}][{j}]"
            tid = entry.get("tid") if isinstance(entry, dict) else None
            if tid not in tracks or isinstance(tid, bool):
                raise SourceError(path, f"{field}.tid", f"{tid!r} is not a tid of subject/objects")
            corners = entry.get("bbox")
            keys = ("xmin", "ymin", "xmax", "ymax")
            if not isinstance(corners, dict) or not all(is_number(corners.get(k)) for k in keys):
                raise SourceError(path, f"{field}.bbox", f"must be an object with numbers {keys}, got {corners!r}")
            if tracks[tid][t] is not None:
                raise SourceError(path, field, f"a second box for tid {tid} in frame {t}")
            x0, y0, x1, y1 = (corners[k] for k in keys)
            tracks[tid][t] = frame_box((x0, y0, x1 - x0, y1 - y0), width, height, path, f"{field}.bbox")
    return tracks


class HCSTVGSource:
    """Reads one HC-STVG v2 annotation file (see the module docstring)."""

    def __init__(self, annotation_file: str | Path, videos_root: str | Path, name: str = "hc-stvg"):
        self.annotation_file = storage.path(annotation_file)
        self.videos_root = storage.path(videos_root)
        self.name = name
        data = read_json(self.annotation_file)
        if not isinstance(data, dict):
            raise SourceError(self.annotation_file, "<root>", "must map video names to annotations")
        self._entries = {key.removesuffix(".mp4"): (key, entry) for key, entry in data.items()}
        if len(self._entries) != len(data):
            raise SourceError(self.annotation_file, "<root>", "a video is listed both with and without .mp4")

    def video_ids(self) -> list[str]:
        return sorted(self._entries)

    def load(self, video_id: str) -> SourceVideo:
        key, entry = self._entries[video_id]
        path, where = self.annotation_file, f"[{key!r}]"
        if not isinstance(entry, dict):
            raise SourceError(path, where, "must be an object")
        sentence = _text(entry, "English", path, where)
        num_frames = _int(entry, "img_num", path, where, minimum=1)
        size_key = "img_size" if "img_size" in entry else "img_hw"
        size = entry.get(size_key)
        if not (isinstance(size, list) and len(size) == 2 and all(isinstance(v, int) and v > 0 for v in size)):
            raise SourceError(path, f"{where}.{size_key}", f"must be [height, width], got {size!r}")
        height, width = size
        start = _int(entry, "st_frame", path, where)
        tube = entry.get("bbox")
        if not isinstance(tube, list) or not tube:
            raise SourceError(path, f"{where}.bbox", "must be a non-empty list of [x, y, w, h] boxes")
        end = start + len(tube)
        ed_frame = _int(entry, "ed_frame", path, where)
        if ed_frame not in (end, end - 1):
            raise SourceError(path, f"{where}.ed_frame", f"{ed_frame} does not end the tube of {len(tube)} boxes from st_frame {start}")
        if end > num_frames:
            raise SourceError(path, f"{where}.bbox", f"tube [{start}, {end}) runs past img_num {num_frames}")
        boxes: list[Box | None] = [None] * num_frames
        for i, box in enumerate(tube):
            if not (isinstance(box, list) and len(box) == 4 and all(is_number(v) for v in box)):
                raise SourceError(path, f"{where}.bbox[{i}]", f"must be [x, y, w, h], got {box!r}")
            boxes[start + i] = frame_box(tuple(box), width, height, path, f"{where}.bbox[{i}]")
        return SourceVideo(
            self.name,
            video_id,
            self.videos_root / f"{video_id}.mp4",
            objects=(SourceObject(0, "person", boxes=tuple(boxes)),),
            captions=(SourceCaption(sentence),),
            clip=(start, end),
        )
