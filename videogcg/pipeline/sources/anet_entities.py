"""ActivityNet-Entities: captioned segments of ActivityNet videos whose nouns are grounded by one box each.

Reads the pre-processed object layout, ``anet_entities_cleaned_class_thresh50_{trainval,test_skeleton}.json``::

    {"vocab": [...],                                           # not read
     "annotations": {"v_QOlSCBRmfWY": {
        "duration": 82.7,                                      # not read
        "rwidth": 720, "rheight": 405,                         # optional: the annotation frame size
        "segments": {"0": {
            "timestamps": [0.83, 19.86],                       # seconds
            "tokens": ["A", "woman", "is", "standing", "in", "a", "room", "."],
            "caption": "A woman is standing in a room.",       # optional (the released files have none)
            "process_idx": [[1], ...],                         # per box: the token indices it grounds
            "process_clss": [["woman"], ...],                  # per box: the class of each of those tokens
            "process_bnd_box": [[x1, y1, x2, y2], ...],        # per box, [] in the test skeletons
            "frame_ind": [3, ...],                             # per box: which of the 10 sampled frames (0-9)
            "crowds": [0, ...]}}}}}                            # per box: 1 where it is a group

The raw noun-phrase layout (``anet_entities_trainval.json``, root key ``database``) is not read: it has no
tokens or timestamps (those come from ActivityNet Captions).

Each segment's 10 annotated frames are the midpoints of 10 equal bins of the segment: frame k is at
``t0 + (k + 0.5) * (t1 - t0) / 10`` seconds, i.e. video frame ``floor(t * fps)`` (the frame shown at that time;
VideoGLaMM's ``ffmpeg -ss`` seek may land one frame later). Boxes are in pixels of frames resized to 720 px wide
(ActivityNet-Entities' ``rwidth``, aspect kept), scaled here to the video's own size. fps and size come from
probing the video, ``<videos_root>/<video id>.{mp4,mkv,webm}`` (the first that exists).

Mapping, one `SourceVideo` per segment with id ``<video id>____<segment id>`` (as VideoGLaMM names them):
clip = the frames the timestamps cover, [floor(t0 * fps), ceil(t1 * fps)) within the video; box i becomes
object i with its one box on its frame (None on every other frame), labelled with its first class; the caption
gets one phrase per grounded token at the token's character span, grounding every box that lists the token.
VideoGLaMM drops whole segments where a token has several boxes, where a box is a crowd, or where boxes lie
on different frames; here all are kept and stay visible in the record: such a token is one phrase grounding
several objects, a crowd box's label ends in " (crowd)", and each object keeps its own frame. Where the boxes
are withheld (test skeletons) the grounded tokens are still phrases, grounding no object. Without a ``caption``
the caption is the tokens joined by spaces, as VideoGLaMM builds it; a caption that lacks a grounded token is
replaced by that too (with a warning).
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

from videogcg import storage
from videogcg.pipeline.sources.base import SourceCaption, SourceError, SourceObject, SourcePhrase, SourceVideo
from videogcg.pipeline.sources.vidstg import ID_SEPARATOR, frame_box, is_number, read_json
from videogcg.video_io import VideoInfo, VideoReadError, probe

logger = logging.getLogger(__name__)

NUM_SAMPLED_FRAMES = 10
ANNOTATION_WIDTH = 720
VIDEO_SUFFIXES = (".mp4", ".mkv", ".webm")
PER_BOX = ("process_idx", "process_clss", "process_bnd_box", "frame_ind")


def sampled_frame(t0: float, t1: float, k: int, fps: float, num_frames: int) -> int:
    """The video frame of annotated frame k (0-9) of the segment [t0, t1] seconds."""
    t = t0 + (k + 0.5) * (t1 - t0) / NUM_SAMPLED_FRAMES
    return min(int(t * fps), num_frames - 1)


def token_spans(text: str, tokens: list[str]) -> list[tuple[int, int] | None]:
    """Each token's character span in text, found left to right; None for a token the text does not contain."""
    spans: list[tuple[int, int] | None] = []
    cursor = 0
    for token in tokens:
        at = text.find(token, cursor)
        if at < 0:
            spans.append(None)
            continue
        spans.append((at, at + len(token)))
        cursor = at + len(token)
    return spans


class ActivityNetEntitiesSource:
    """Reads one ActivityNet-Entities object-layout file (see the module docstring). Each video is probed once."""

    def __init__(self, annotation_file: str | Path, videos_root: str | Path, name: str = "activitynet-entities"):
        self.annotation_file = storage.path(annotation_file)
        self.videos_root = storage.path(videos_root)
        self.name = name
        data = read_json(self.annotation_file)
        if isinstance(data, dict) and "database" in data and "annotations" not in data:
            raise SourceError(self.annotation_file, "database", "raw noun-phrase layout; read anet_entities_cleaned_class_*.json instead")
        if not isinstance(data, dict) or not isinstance(data.get("annotations"), dict):
            raise SourceError(self.annotation_file, "annotations", "missing or not an object")
        self._videos: dict[str, dict] = data["annotations"]
        self._segments: dict[str, tuple[str, str]] = {}
        for vid, entry in self._videos.items():
            segments = entry.get("segments") if isinstance(entry, dict) else None
            if not isinstance(segments, dict):
                raise SourceError(self.annotation_file, f"annotations[{vid!r}].segments", "missing or not an object")
            for seg in segments:
                self._segments[f"{vid}{ID_SEPARATOR}{seg}"] = (vid, seg)
        self._info: dict[Path, VideoInfo] = {}

    def video_ids(self) -> list[str]:
        return sorted(self._segments)

    def load(self, video_id: str) -> SourceVideo:
        vid, seg = self._segments[video_id]
        where = f"annotations[{vid!r}].segments[{seg!r}]"
        ann = self._videos[vid]["segments"][seg]
        if not isinstance(ann, dict):
            raise SourceError(self.annotation_file, where, "must be an object")
        path = self._video_path(vid)
        info = self._probe(path)
        t0, t1 = self._timestamps(ann, where)
        clip = (int(t0 * info.fps), min(math.ceil(t1 * info.fps), info.num_frames))
        if clip[0] >= clip[1]:
            raise SourceError(
                self.annotation_file, f"{where}.timestamps", f"[{t0}, {t1}] s lies past the end of {path} ({info.num_frames} frames)"
            )
        tokens = ann.get("tokens")
        if not isinstance(tokens, list) or not tokens or not all(isinstance(t, str) for t in tokens):
            raise SourceError(self.annotation_file, f"{where}.tokens", "must be a non-empty list of strings")
        per_box = self._per_box(ann, where)
        scale = self._scale(vid, info)
        objects, grounded = [], {}  # grounded: token index -> ids of the objects grounding it
        for i, (indices, classes) in enumerate(zip(per_box["process_idx"], per_box["process_clss"])):
            classes = [classes] if isinstance(classes, str) else classes
            if not isinstance(classes, list) or not classes or not all(isinstance(c, str) and c for c in classes):
                raise SourceError(self.annotation_file, f"{where}.process_clss[{i}]", f"must list the box's classes, got {classes!r}")
            if not isinstance(indices, list) or not indices or not all(isinstance(j, int) and 0 <= j < len(tokens) for j in indices):
                raise SourceError(
                    self.annotation_file, f"{where}.process_idx[{i}]", f"must list token indices < {len(tokens)}, got {indices!r}"
                )
            for j in indices:
                grounded.setdefault(j, [])
            if not per_box["process_bnd_box"]:  # boxes withheld: the tokens stay marked, grounding nothing
                continue
            k = per_box["frame_ind"][i]
            if isinstance(k, bool) or not isinstance(k, int) or not 0 <= k < NUM_SAMPLED_FRAMES:
                raise SourceError(self.annotation_file, f"{where}.frame_ind[{i}]", f"must be 0-{NUM_SAMPLED_FRAMES - 1}, got {k!r}")
            boxes = [None] * info.num_frames
            box = self._box(per_box["process_bnd_box"][i], scale, info, f"{where}.process_bnd_box[{i}]")
            boxes[sampled_frame(t0, t1, k, info.fps, info.num_frames)] = box
            objects.append(SourceObject(i, classes[0] + (" (crowd)" if per_box["crowds"][i] else ""), boxes=tuple(boxes)))
            for j in indices:
                grounded[j].append(i)
        caption = self._caption(ann, tokens, grounded, where)
        return SourceVideo(self.name, video_id, path, objects=tuple(objects), captions=(caption,), clip=clip)

    def _per_box(self, ann: dict, where: str) -> dict[str, list]:
        """The per-box lists, one entry per grounded object each, except where the boxes are withheld (the test
        skeletons): then process_bnd_box, frame_ind and crowds are empty."""
        per_box = {key: ann.get(key, []) for key in (*PER_BOX, "crowds")}
        for key, values in per_box.items():
            if not isinstance(values, list):
                raise SourceError(self.annotation_file, f"{where}.{key}", "must be a list")
        num_objects, num_boxes = len(per_box["process_idx"]), len(per_box["process_bnd_box"])
        per_box["crowds"] = per_box["crowds"] or [0] * num_boxes
        expected = {
            "process_clss": num_objects,
            "process_bnd_box": num_objects if num_boxes else 0,
            "frame_ind": num_boxes,
            "crowds": num_boxes,
        }
        for key, length in expected.items():
            if len(per_box[key]) != length:
                raise SourceError(self.annotation_file, f"{where}.{key}", f"has {len(per_box[key])} entries, process_idx {num_objects}")
        return per_box

    def _timestamps(self, ann: dict, where: str) -> tuple[float, float]:
        stamps = ann.get("timestamps")
        if not (isinstance(stamps, list) and len(stamps) == 2 and all(is_number(t) for t in stamps) and 0 <= stamps[0] < stamps[1]):
            raise SourceError(
                self.annotation_file, f"{where}.timestamps", f"must be [start, end] seconds with 0 <= start < end, got {stamps!r}"
            )
        return float(stamps[0]), float(stamps[1])

    def _scale(self, vid: str, info: VideoInfo) -> tuple[float, float]:
        """The annotation frame's size: rwidth x rheight where given, else 720 px wide with the video's aspect ratio."""
        entry = self._videos[vid]
        rwidth = entry.get("rwidth", ANNOTATION_WIDTH)
        rheight = entry.get("rheight", ANNOTATION_WIDTH * info.height / info.width)
        for key, value in (("rwidth", rwidth), ("rheight", rheight)):
            if not is_number(value) or value <= 0:
                raise SourceError(self.annotation_file, f"annotations[{vid!r}].{key}", f"must be a positive number, got {value!r}")
        return float(rwidth), float(rheight)

    def _box(self, corners, scale: tuple[float, float], info: VideoInfo, field: str):
        if not (isinstance(corners, list) and len(corners) == 4 and all(is_number(v) for v in corners)):
            raise SourceError(self.annotation_file, field, f"must be [x1, y1, x2, y2], got {corners!r}")
        (x1, y1, x2, y2), (rwidth, rheight) = corners, scale
        # Multiply before dividing: a box that is whole pixels at the video's size comes back exactly.
        xywh = (x1 * info.width / rwidth, y1 * info.height / rheight, (x2 - x1) * info.width / rwidth, (y2 - y1) * info.height / rheight)
        return frame_box(xywh, info.width, info.height, self.annotation_file, field)

    def _caption(self, ann: dict, tokens: list[str], grounded: dict[int, list[int]], where: str) -> SourceCaption:
        caption = ann.get("caption")
        if caption is not None and (not isinstance(caption, str) or not caption.strip()):
            raise SourceError(self.annotation_file, f"{where}.caption", "must be a non-empty string")
        text = caption.strip() if caption is not None else " ".join(tokens)
        spans = token_spans(text, tokens)
        if any(spans[j] is None for j in grounded):
            logger.warning("%s %s: caption does not contain every grounded token; using the tokens joined instead", self.name, where)
            text = " ".join(tokens)
            spans = token_spans(text, tokens)
        phrases = (SourcePhrase(*spans[j], tuple(grounded[j])) for j in sorted(grounded))
        return SourceCaption(text, tuple(phrases))

    def _video_path(self, vid: str) -> Path:
        candidates = [self.videos_root / f"{vid}{suffix}" for suffix in VIDEO_SUFFIXES]
        return next((p for p in candidates if p.is_file()), candidates[0])

    def _probe(self, path: Path) -> VideoInfo:
        if path not in self._info:
            try:
                self._info[path] = probe(path)
            except VideoReadError as error:
                raise SourceError(path, "<video>", error.reason) from None
        return self._info[path]
