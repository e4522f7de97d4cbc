"""YouTubeVISSource against small datasets written in the YouTube-VIS / BURST / video_gcg JSON layout."""

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from pycocotools import mask as coco_mask

from videogcg.pipeline.sources import SourceError, SourceKind
from videogcg.pipeline.sources.ytvis import YouTubeVISSource
from videogcg.schemas import masks as rle
from videogcg.synthetic import SyntheticVideo, random_scene, render
from videogcg.video_io import probe, read_frames

WIDTH, HEIGHT, FRAMES = 64, 48, 6
CATEGORIES = [{"supercategory": "object", "id": c, "name": n} for c, n in ((3, "square"), (5, "circle"), (8, "triangle"))]
CATEGORY_IDS = {c["name"]: c["id"] for c in CATEGORIES}


def compressed_rle(mask: np.ndarray) -> dict:
    """COCO compressed RLE as JSON carries it (counts as an ASCII string), what BURST's converters write."""
    encoded = coco_mask.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {"size": [int(s) for s in encoded["size"]], "counts": encoded["counts"].decode("ascii")}


def uncompressed_rle(mask: np.ndarray) -> dict:
    """COCO uncompressed RLE (YouTube-VIS 2019/2021): run lengths over the column-major pixels, starting with zeros."""
    flat = mask.flatten(order="F").astype(np.int8)
    bounds = np.concatenate([[0], np.flatnonzero(np.diff(flat)) + 1, [flat.size]])
    runs = np.diff(bounds).tolist()
    return {"size": list(mask.shape), "counts": ([0] if flat[0] else []) + runs}


@dataclass
class Video:
    json_id: int
    folder: str  # relative to the frames root
    scene: SyntheticVideo
    listed: list[int]  # frames of the folder that file_names lists
    annotation_ids: list[int]


@dataclass
class Dataset:
    annotation_file: Path
    frames_root: Path
    videos: dict[str, Video]
    data: dict


def build(root: Path) -> Dataset:
    """Three videos: compressed RLE (as BURST-converted and video_gcg files), uncompressed RLE plus VideoGLaMM's dense_cap,
    and a BURST-style nested folder holding every frame of which the file lists every other one."""
    forms = [
        (1, "0a2b4c6d8e", compressed_rle, list(range(FRAMES))),
        (2, "1f3e5d7c9b", uncompressed_rle, list(range(FRAMES))),
        (7, "YFCC100M/v_4d2a", compressed_rle, [0, 2, 4]),
    ]
    data = {"info": {}, "licenses": [], "videos": [], "annotations": [], "categories": CATEGORIES}
    videos = {}
    for n, (json_id, folder, to_rle, listed) in enumerate(forms):
        scene = render(random_scene(np.random.default_rng(10 + n), folder, width=WIDTH, height=HEIGHT, num_frames=FRAMES))
        (root / "frames" / folder).mkdir(parents=True)
        for t, frame in enumerate(scene.frames):
            Image.fromarray(frame).save(root / "frames" / folder / f"{t:05d}.jpg", quality=95)
        entry = {
            "id": json_id,
            "width": WIDTH,
            "height": HEIGHT,
            "length": len(listed),
            "file_names": [f"{folder}/{t:05d}.jpg" for t in listed],
        }
        annotation_ids = []
        for i, shape in enumerate(scene.spec.shapes):
            annotation_ids.append(len(data["annotations"]) + 1)
            present = [scene.masks[i, t].any() for t in listed]
            data["annotations"].append(
                {
                    "id": annotation_ids[-1],
                    "video_id": json_id,
                    "category_id": CATEGORY_IDS[shape.shape],
                    "iscrowd": 0,
                    "height": HEIGHT,
                    "width": WIDTH,
                    "length": 1,
                    "segmentations": [to_rle(scene.masks[i, t]) if p else None for t, p in zip(listed, present)],
                    "bboxes": [list(scene.box(i, t)) if p else None for t, p in zip(listed, present)],
                    "areas": [int(scene.masks[i, t].sum()) if p else None for t, p in zip(listed, present)],
                }
            )
        if json_id == 2:  # VideoGLaMM video_gcg: word 1 grounds the first shape, word 5 the other two
            entry["dataset_split"] = "yt19"
            entry["dense_cap"] = {
                "caption": "A square moves right while shapes cross.",
                "token_pos": [1, 5, 5],
                "mask_id": annotation_ids,
                "v_id2o_id": {},
            }
        data["videos"].append(entry)
        videos[str(json_id)] = Video(json_id, folder, scene, listed, annotation_ids)
    annotation_file = root / "train.json"
    annotation_file.write_text(json.dumps(data))
    return Dataset(annotation_file, root / "frames", videos, data)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Dataset:
    return build(tmp_path_factory.mktemp("ytvis"))


def test_videos_become_objects_with_exact_masks_boxes_and_readable_frames(dataset):
    source = YouTubeVISSource(dataset.annotation_file, dataset.frames_root)
    assert source.name == "ytvis"
    assert source.video_ids() == ["1", "2", "7"]
    for video_id, expected in dataset.videos.items():
        video = source.load(video_id)
        scene = expected.scene
        assert (video.source, video.video_id, video.kind) == ("ytvis", video_id, SourceKind.MASKS)
        assert video.path == dataset.frames_root / expected.folder
        assert [o.object_id for o in video.objects] == expected.annotation_ids
        assert [o.label for o in video.objects] == [shape.shape for shape in scene.spec.shapes]
        frames = read_frames(video.path)
        assert frames.shape == (FRAMES, HEIGHT, WIDTH, 3)
        assert np.abs(frames.astype(int) - scene.frames).mean() < 4  # JPEG
        assert probe(video.path).num_frames == FRAMES
        for i, obj in enumerate(video.objects):
            assert len(obj.masks) == len(obj.boxes) == FRAMES
            for t in range(FRAMES):
                visible = t in expected.listed and scene.masks[i, t].any()
                assert (obj.masks[t] is not None) == visible, (video_id, i, t)
                assert obj.boxes[t] == (scene.box(i, t) if visible else None)
                if visible:
                    assert np.array_equal(rle.decode(obj.masks[t]), scene.masks[i, t])


def test_dense_caption_words_ground_their_annotations(dataset):
    video = YouTubeVISSource(dataset.annotation_file, dataset.frames_root).load("2")
    ids = dataset.videos["2"].annotation_ids
    (caption,) = video.captions
    assert caption.text == "A square moves right while shapes cross."
    assert [(caption.text[p.start : p.end], p.object_ids) for p in caption.phrases] == [("square", (ids[0],)), ("shapes", (ids[1], ids[2]))]
    assert video.kind == SourceKind.MASKS  # masks rule the kind; the caption rides along
    assert YouTubeVISSource(dataset.annotation_file, dataset.frames_root).load("1").captions == ()


def test_a_file_without_annotations_gives_videos_without_objects(dataset, tmp_path):
    data = {k: v for k, v in dataset.data.items() if k != "annotations"}
    (tmp_path / "valid.json").write_text(json.dumps(data))
    video = YouTubeVISSource(tmp_path / "valid.json", dataset.frames_root, name="ytvis-valid").load("1")
    assert (video.objects, video.kind, video.source) == ((), SourceKind.RAW, "ytvis-valid")


def _set(path: list, value):
    def edit(data):
        target = data
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return edit


def _swap_frames(data):
    names = data["videos"][0]["file_names"]
    names[2], names[3] = names[3], names[2]


@pytest.mark.parametrize(
    "edit, video_id, field, message",
    [
        (_set(["annotations", 1, "segmentations", 2], {"size": [HEIGHT, WIDTH]}), "1", "annotations[1].segmentations[2]", "not a COCO RLE"),
        (_set(["annotations", 1, "segmentations", 2], [[1, 2, 3, 4]]), "1", "annotations[1].segmentations[2]", "not a COCO RLE"),
        (
            _set(["annotations", 1, "segmentations", 2], compressed_rle(np.ones((24, 32), bool))),
            "1",
            "annotations[1].segmentations[2]",
            "size (24, 32) differs",
        ),
        (
            _set(["annotations", 4, "segmentations", 1], {"size": [HEIGHT, WIDTH], "counts": [5, 5]}),
            "2",
            "annotations[4].segmentations[1]",
            "not a compressed COCO RLE of a 48x64 mask",
        ),
        (_set(["annotations", 1, "segmentations"], [None] * 5), "1", "annotations[1].segmentations", "one mask (or null) per frame (6)"),
        (_set(["annotations", 1, "bboxes", 2], [1, 2, 3]), "1", "annotations[1].bboxes[2]", "[x, y, width, height]"),
        (_set(["annotations", 1, "bboxes", 2], [1, 2, -3, 4]), "1", "annotations[1].bboxes[2]", "[x, y, width, height]"),
        (_set(["annotations", 1, "category_id"], 99), "1", "annotations[1].category_id", "99 is not in categories"),
        (_set(["annotations", 1, "id"], 1), "1", "annotations[1].id", "appears twice"),
        (_set(["videos", 0, "length"], 5), "1", "videos[0].length", "file_names lists 6 frames"),
        (_set(["videos", 0, "file_names", 3], "elsewhere/00003.jpg"), "1", "videos[0].file_names[3]", "one folder per video"),
        (_set(["videos", 0, "file_names", 3], "0a2b4c6d8e/00003.png"), "1", "videos[0].file_names[3]", "not an image in the frame folder"),
        (_set(["videos", 0, "file_names"], [f"missing/{t:05d}.jpg" for t in range(6)]), "1", "videos[0].file_names", "does not exist"),
        (_swap_frames, "1", "videos[0].file_names[3]", "read in name order"),
        (_set(["videos", 1, "dense_cap", "token_pos", 0], 40), "2", "videos[1].dense_cap.token_pos[0]", "not a word index"),
        (_set(["videos", 1, "dense_cap", "mask_id", 0], 1), "2", "videos[1].dense_cap.mask_id[0]", "not an annotation id of this video"),
        (_set(["videos", 1, "id"], 1), None, "videos[1].id", "appears twice"),
        (_set(["annotations", 0, "video_id"], None), None, "annotations[0].video_id", "must be a video id"),
        (_set(["categories", 0, "name"], ""), None, "categories[0]", "non-empty name"),
    ],
)
def test_bad_records_name_the_file_and_field(dataset, tmp_path, edit, video_id, field, message):
    data = json.loads(dataset.annotation_file.read_text())
    edit(data)
    path = tmp_path / "edited.json"
    path.write_text(json.dumps(data))
    with pytest.raises(SourceError) as info:
        YouTubeVISSource(path, dataset.frames_root).load(video_id)
    assert (info.value.path, info.value.field) == (str(path), field)
    assert message in info.value.message
    assert str(info.value).startswith(f"{path}: {field}: ")


@pytest.mark.parametrize(
    "content, field",
    [("{not json", "<json>"), ("[]", "<root>"), ('{"annotations": []}', "videos"), ('{"videos": {}}', "videos"), (None, "<file>")],
)
def test_malformed_annotation_file_names_the_file_and_field(tmp_path, content, field):
    path = tmp_path / "train.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(SourceError) as info:
        YouTubeVISSource(path, tmp_path)
    assert (info.value.path, info.value.field) == (str(path), field)


def test_a_missing_frame_image_names_the_file_name_entry(tmp_path):
    dataset = build(tmp_path)
    (dataset.frames_root / "YFCC100M/v_4d2a/00004.jpg").unlink()
    with pytest.raises(SourceError) as info:
        YouTubeVISSource(dataset.annotation_file, dataset.frames_root).load("7")
    assert info.value.field == "videos[2].file_names[2]" and "00004.jpg is not an image in the frame folder" in info.value.message
