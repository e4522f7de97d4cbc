"""YouTube-VIS / COCO-video JSON: one entry per clip with its frames written as JPEG files.

The form YouTube-VIS 2019/2021 uses and CVAT, FiftyOne and X-AnyLabeling import::

    OUT/instances.json      {"info", "videos": [...], "annotations": [...], "categories": [...]}
    OUT/JPEGImages/<clip folder>/<frame index:05d>.jpg

Only the sampled frames of a clip are written, so `length` is the number of sampled frames and every
annotation has one segmentation (COCO RLE with string counts, or null where the object is absent), one box
([x, y, width, height] or null) and one area per written frame. Annotation ids are unique in the file;
categories are the objects' labels, numbered from 1 in order of first appearance.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

from videogcg.schemas import ReviewState, Sample
from videogcg.schemas import masks as rle
from videogcg.shards import ShardSample, iter_dataset

logger = logging.getLogger(__name__)

FRAMES_DIR = "JPEGImages"
JPEG_QUALITY = 95
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


def clip_folder(sample: Sample) -> str:
    """One folder per clip of a video (all conversations of a clip share its frames)."""
    identity = f"{sample.source}\x00{sample.video_id}\x00{sample.video.content_hash}\x00{list(sample.clip.frame_indices)}"
    slug = _UNSAFE.sub("-", f"{sample.source}_{sample.video_id}").strip("-")[:64]
    return f"{slug}-{hashlib.sha1(identity.encode()).hexdigest()[:10]}"


def frame_names(sample: Sample) -> list[str]:
    return [f"{clip_folder(sample)}/{index:05d}.jpg" for index in sample.clip.frame_indices]


def write_frames(item: ShardSample, root: Path) -> list[str]:
    """The clip's frames as JPEG files under `root`; returns their names relative to it (skips existing ones)."""
    names = frame_names(item.sample)
    for name, frame in zip(names, item.frames):
        path = root / name
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(frame).save(path, quality=JPEG_QUALITY)
    return names


def iter_clips(directory: str | Path, exclude: Iterable[ReviewState] = (ReviewState.REJECTED,)) -> Iterator[ShardSample]:
    """The first sample of each clip (lowest conversation index) whose review state is not excluded, decoded,
    in shard order. A first pass reads only the samples' JSON; only the chosen samples are decoded."""
    excluded, chosen = set(exclude), {}
    for sample in iter_dataset(directory, decode=False):
        folder = clip_folder(sample)
        if sample.review not in excluded and (folder not in chosen or sample.conversation_index < chosen[folder][0]):
            chosen[folder] = (sample.conversation_index, sample.key)
    yield from iter_dataset(directory, keys={key for _, key in chosen.values()})


@dataclass
class CocoVideoWriter:
    """Accumulates `videos`, `annotations` and `categories` with ids unique in one file."""

    videos: list[dict] = field(default_factory=list)
    annotations: list[dict] = field(default_factory=list)
    categories: dict[str, int] = field(default_factory=dict)

    def add(self, sample: Sample, file_names: list[str]) -> tuple[dict, dict[int, int]]:
        """Adds the clip and its objects; returns the video entry and {object id: annotation id}."""
        video = {
            "id": len(self.videos) + 1,
            "file_names": file_names,
            "width": sample.video.width,
            "height": sample.video.height,
            "length": len(file_names),
        }
        self.videos.append(video)
        annotation_ids = {}
        for track in sample.objects:
            category = self.categories.setdefault(track.label, len(self.categories) + 1)
            annotation_ids[track.object_id] = len(self.annotations) + 1
            self.annotations.append(
                {
                    "id": annotation_ids[track.object_id],
                    "video_id": video["id"],
                    "category_id": category,
                    "iscrowd": 0,
                    "segmentations": [None if m is None else m.model_dump(mode="json") for m in track.masks],
                    "bboxes": [None if b is None else list(b) for b in track.boxes],
                    "areas": [None if m is None else rle.area(m) for m in track.masks],
                    "height": sample.video.height,
                    "width": sample.video.width,
                    "length": 1,
                }
            )
        return video, annotation_ids

    def document(self, videos: list[dict] | None = None, description: str = "") -> dict:
        """The JSON document for `videos` (default: all), with only their annotations."""
        videos = self.videos if videos is None else videos
        ids = {v["id"] for v in videos}
        return {
            "info": {"description": description or "exported by videogcg"},
            "videos": videos,
            "annotations": [a for a in self.annotations if a["video_id"] in ids],
            "categories": [{"id": i, "name": name, "supercategory": "object"} for name, i in self.categories.items()],
        }


def write_json(path: Path, document: dict) -> None:
    """Written under a temporary name, then renamed: a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(document, separators=(",", ":")))
    partial.replace(path)


def export_ytvis(directory: str | Path, output: str | Path) -> dict:
    """Every clip of the dataset (rejected samples left out) as `instances.json` + JPEG frames."""
    output = Path(output)
    writer = CocoVideoWriter()
    for item in iter_clips(directory):
        writer.add(item.sample, write_frames(item, output / FRAMES_DIR))
    write_json(output / "instances.json", writer.document())
    logger.info("exported %d clips, %d annotations to %s", len(writer.videos), len(writer.annotations), output)
    return {"videos": len(writer.videos), "annotations": len(writer.annotations), "categories": len(writer.categories)}
