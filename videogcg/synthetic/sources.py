"""Write synthetic scenes in the three source forms the pipeline ingests.

- ``raw/``: ``videos/<id>.mp4`` only.
- ``boxes_captions/``: videos plus ``annotations.json``: per video a caption whose noun phrases are tied
  (by character span) to objects with a box per frame (ActivityNet-Entities / VidSTG style).
- ``masks_expressions/``: videos plus MeViS's own layout: ``meta_expressions.json`` (expressions with
  ``obj_id``/``anno_id``) and ``mask_dict.json`` (per annotation id, a COCO RLE or null per frame).

All three forms hold the same scenes, so the masks of ``masks_expressions`` are the ground truth for the
other two.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from videogcg.schemas import masks as rle
from videogcg.synthetic.scene import SyntheticVideo, random_scene, render
from videogcg.video_io import write_mp4

SOURCE_FORMS = ("raw", "boxes_captions", "masks_expressions")


def _write_videos(root: Path, videos: list[SyntheticVideo]) -> None:
    (root / "videos").mkdir(parents=True, exist_ok=True)
    for video in videos:
        write_mp4(root / "videos" / f"{video.spec.video_id}.mp4", video.frames, video.spec.fps)


def _caption_with_spans(video: SyntheticVideo) -> tuple[str, list[tuple[int, int]]]:
    """ "a red square moves right, a blue circle moves left and ..." with the span of each noun phrase."""
    parts, spans, length = [], [], 0
    shapes = video.spec.shapes
    for i, shape in enumerate(shapes):
        joiner = "" if i == 0 else (" and " if i == len(shapes) - 1 else ", ")
        spans.append((length + len(joiner), length + len(joiner) + len(shape.noun_phrase)))
        parts.append(joiner + shape.caption)
        length += len(parts[-1])
    text = "".join(parts)
    return text[0].upper() + text[1:] + ".", spans


def write_boxes_captions(root: Path, videos: list[SyntheticVideo]) -> None:
    _write_videos(root, videos)
    entries = []
    for video in videos:
        caption, spans = _caption_with_spans(video)
        objects = [
            {
                "object_id": shape.object_id,
                "label": shape.shape,
                "phrase": caption[start:end],
                "span": [start, end],
                "boxes": [video.box(i, t) for t in range(video.spec.num_frames)],
            }
            for i, (shape, (start, end)) in enumerate(zip(video.spec.shapes, spans))
        ]
        entries.append(
            {"video_id": video.spec.video_id, "file": f"videos/{video.spec.video_id}.mp4", "caption": caption, "objects": objects}
        )
    (root / "annotations.json").write_text(json.dumps({"videos": entries}, indent=1))


def _mask_list(masks: np.ndarray) -> list[dict | None]:
    out = []
    for mask in masks:
        out.append(rle.encode(mask).model_dump(mode="json") if mask.any() else None)
    return out


def write_masks_expressions(root: Path, videos: list[SyntheticVideo]) -> None:
    """MeViS layout, with one expression per object plus one that refers to two objects, as MeViS has."""
    _write_videos(root, videos)
    meta: dict[str, dict] = {}
    mask_dict: dict[str, list[dict | None]] = {}
    for n, video in enumerate(videos):
        anno_ids = {}
        for i, shape in enumerate(video.spec.shapes):
            anno_id = str(len(mask_dict))
            anno_ids[shape.object_id] = anno_id
            mask_dict[anno_id] = _mask_list(video.masks[i])
        expressions = [(shape.expression, [shape.object_id]) for shape in video.spec.shapes]
        # The first two shapes always cross; half the videos list that two-object expression first.
        first, second = video.spec.shapes[:2]
        crossing = (
            f"the {first.color} {first.shape} and the {second.color} {second.shape} crossing paths",
            [first.object_id, second.object_id],
        )
        expressions.insert(0, crossing) if n % 2 else expressions.append(crossing)
        meta[video.spec.video_id] = {
            "expressions": {
                str(n): {"exp": text, "obj_id": ids, "anno_id": [anno_ids[o] for o in ids]} for n, (text, ids) in enumerate(expressions)
            },
            "frames": [f"{t:05d}" for t in range(video.spec.num_frames)],
        }
    (root / "meta_expressions.json").write_text(json.dumps({"videos": meta}, indent=1))
    (root / "mask_dict.json").write_text(json.dumps(mask_dict))


def generate_sources(output: Path, num_videos: int = 4, seed: int = 0, **scene_options) -> dict[str, Path]:
    """Render `num_videos` scenes and write them in every source form under `output`."""
    width, height = scene_options.get("width", 320), scene_options.get("height", 240)
    if width % 2 or height % 2:
        # H.264 (yuv420p) pads odd sides, so the videos would no longer match the exact masks.
        raise ValueError(f"synthetic videos need even sides, got {width}x{height}")
    rng = np.random.default_rng(seed)
    videos = [render(random_scene(rng, f"synth{n:04d}", **scene_options)) for n in range(num_videos)]
    roots = {form: Path(output) / form for form in SOURCE_FORMS}
    _write_videos(roots["raw"], videos)
    write_boxes_captions(roots["boxes_captions"], videos)
    write_masks_expressions(roots["masks_expressions"], videos)
    return roots
