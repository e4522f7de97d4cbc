"""A small data root in the layout configs/recipes/videoglamm-gcg.yaml expects: each of the six sources as it
ships, with its split files, on generated scenes (the importers' own test builders)."""

import json
import shutil
from pathlib import Path

import numpy as np

from tests.pipeline import test_source_anet as anet
from tests.pipeline import test_source_refytvos, test_source_ytvis
from tests.pipeline import test_source_stvg as stvg
from videogcg.synthetic import random_scene, render
from videogcg.synthetic.sources import write_masks_expressions
from videogcg.video_io import write_mp4

# videos (or clips) per split, as written below
EXPECTED_VIDEOS = {
    "video_gcg/train": 1, "video_gcg/val": 1, "video_gcg/test": 1,
    "activitynet_entities/train": 1, "activitynet_entities/val": 1,
    "vidstg/train": 1, "vidstg/val": 1, "vidstg/test": 1,
    "hcstvg/train": 1, "hcstvg/val": 1,
    "mevis/train": 2, "mevis/valid_u": 1,
    "ref_youtube_vos/train": 3,
}  # fmt: skip


def _mp4(path: Path, scene, fps: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_mp4(path, scene.frames, fps)


def _json(path: Path, data) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))


def _video_gcg(root: Path, scratch: Path) -> None:
    """YouTube-VIS layout instruction_data files, one video per split, frames under one JPEGImages root."""
    dataset = test_source_ytvis.build(scratch)
    shutil.copytree(dataset.frames_root, root / "video_gcg" / "JPEGImages")
    for split, video in zip(("train", "val", "test"), dataset.data["videos"]):
        annotations = [a for a in dataset.data["annotations"] if a["video_id"] == video["id"]]
        _json(root / "video_gcg" / "instruction_data" / f"{split}.json", dataset.data | {"videos": [video], "annotations": annotations})


def _scenes(seeds: dict[str, int], width: int, height: int, frames: int):
    return {
        vid: render(random_scene(np.random.default_rng(seed), vid, width=width, height=height, num_frames=frames))
        for vid, seed in seeds.items()
    }


def _activitynet(root: Path) -> None:
    """The trainval object-layout file holding both videos, and the split-ids file saying which is which."""
    scenes = _scenes({"v_train": 4, "v_val": 5}, anet.WIDTH, anet.HEIGHT, anet.NUM_FRAMES)
    annotations = {}
    for (vid, scene), split in zip(scenes.items(), ("train", "val")):
        _mp4(root / "activitynet" / "videos" / split / f"{vid}.mp4", scene, 10.0)
        shape = scene.spec.shapes[0]
        tokens = ["The", shape.color, shape.shape, "moves", shape.direction, "."]
        segment = anet.segment(scene, 0.1, 1.1, tokens, [(0, 4, [2], [shape.shape], 0, anet.SCALE)])
        annotations[vid] = {"duration": 1.2, "segments": {"0": segment}}
    folder = root / "activitynet_entities" / "data"
    _json(folder / "anet_entities_cleaned_class_thresh50_trainval.json", {"vocab": [], "annotations": annotations})
    _json(folder / "split_ids_anet_entities.json", {"training": ["v_train"], "validation": ["v_val"], "testing": []})


def _vidstg(root: Path) -> None:
    """One record per split file; the val record's trajectories come from the VidOR annotation folder."""
    vids = {"train": "2401075277", "val": "5159741010", "test": "3366925453"}
    scenes = _scenes({vid: n for n, vid in enumerate(vids.values())}, stvg.WIDTH, stvg.HEIGHT, stvg.NUM_FRAMES)
    for split, vid in vids.items():
        scene = scenes[vid]
        _mp4(root / "vidstg" / "videos" / f"{vid}.mp4", scene, scene.spec.fps)
        record = stvg.vidstg_record(scene, vid, 2, 10, target=0, question_target=1)
        if split == "val":
            vidor = {"video_id": vid, "frame_count": stvg.NUM_FRAMES, "width": stvg.WIDTH, "height": stvg.HEIGHT}
            _json(root / "vidor" / "annotations" / "0000" / f"{vid}.json", vidor | {"trajectories": stvg.vidor_trajectories(scene)})
        else:
            record["trajectories"] = stvg.vidor_trajectories(scene)
        _json(root / "vidstg" / "annotations" / f"{split}_annotations.json", [record])


def _hcstvg(root: Path) -> None:
    scenes = _scenes({"hc_train": 11, "hc_val": 12}, stvg.WIDTH, stvg.HEIGHT, stvg.NUM_FRAMES)
    for vid, scene in scenes.items():
        _mp4(root / "hcstvg" / "videos" / f"{vid}.mp4", scene, scene.spec.fps)
    train, val = scenes["hc_train"], scenes["hc_val"]
    _json(
        root / "hcstvg" / "anno_v2" / "train_v2.json",
        {"hc_train.mp4": stvg.hcstvg_entry(train, 0, stvg.NUM_FRAMES, ed_frame=stvg.NUM_FRAMES)},
    )
    _json(root / "hcstvg" / "anno_v2" / "val_v2.json", {"hc_val": stvg.hcstvg_entry(val, 2, 10, ed_frame=9, size_key="img_hw")})


def _mevis(root: Path) -> None:
    scenes = _scenes({"mv_a": 21, "mv_b": 22, "mv_c": 23}, 96, 64, 16)
    write_masks_expressions(root / "mevis" / "train", [scenes["mv_a"], scenes["mv_b"]])
    write_masks_expressions(root / "mevis" / "valid_u", [scenes["mv_c"]])


def write_videoglamm_data(root: Path, scratch: Path) -> Path:
    """All six sources under `root`; `scratch` is a folder for intermediate files."""
    _video_gcg(root, scratch / "ytvis")
    _activitynet(root)
    _vidstg(root)
    _hcstvg(root)
    _mevis(root)
    test_source_refytvos.build(root / "ref_youtube_vos")
    return root
