"""VidSTG and HC-STVG importers, read from annotation files written in each dataset's layout for synthetic scenes."""

import copy
import json

import numpy as np
import pytest

from videogcg.pipeline.sources.base import SourceError, SourceKind
from videogcg.pipeline.sources.vidstg import HCSTVGSource, VidSTGSource
from videogcg.synthetic import random_scene, render
from videogcg.video_io import write_mp4

NUM_FRAMES, WIDTH, HEIGHT = 12, 64, 48
VID_A, VID_B, VID_C = "2401075277", "5159741010", "3366925453"


def write_json(path, data):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))
    return path


def vidor_trajectories(video):
    """VidOR's layout: per frame, the xyxy box of every visible shape (tid = object id)."""
    frames = []
    for t in range(video.spec.num_frames):
        boxes = []
        for i, shape in enumerate(video.spec.shapes):
            if (box := video.box(i, t)) is not None:
                x, y, w, h = box
                corners = {"xmin": x, "ymin": y, "xmax": x + w, "ymax": y + h}
                boxes.append({"tid": shape.object_id, "bbox": corners, "generated": 0, "tracker": "none"})
        frames.append(boxes)
    return frames


def vidstg_record(video, vid, begin, end, target, question_target, description=None, categories=None):
    """One VidSTG record (the official layout, without trajectories)."""
    shapes = video.spec.shapes
    categories = categories or {s.object_id: str(s.shape) for s in shapes}
    t, q = shapes[target], shapes[question_target]
    return {
        "vid": vid,
        "frame_count": NUM_FRAMES,
        "fps": video.spec.fps,
        "width": WIDTH,
        "height": HEIGHT,
        "subject/objects": [{"tid": tid, "category": category} for tid, category in categories.items()],
        "used_segment": {"begin_fid": 0, "end_fid": NUM_FRAMES},
        "used_relation": {"subject_tid": target, "object_tid": question_target, "predicate": "away", "begin_fid": begin, "end_fid": end},
        "temporal_gt": {"begin_fid": begin, "end_fid": end},
        "captions": [
            {"description": description or f"there is a {t.color} {t.shape} moving {t.direction}", "type": "object", "target_id": target}
        ],
        "questions": [{"description": f"what is moving {q.direction}?", "type": "object", "target_id": question_target}],
    }


@pytest.fixture(scope="module")
def scenes():
    return {
        vid: render(random_scene(np.random.default_rng(seed), vid, width=WIDTH, height=HEIGHT, num_frames=NUM_FRAMES))
        for seed, vid in enumerate((VID_A, VID_B))
    }


@pytest.fixture(scope="module")
def vidstg(tmp_path_factory, scenes):
    """A: trajectories inline; B: two records, trajectories from a VidOR folder; C: VidOR-style category names."""
    root = tmp_path_factory.mktemp("vidstg")
    for vid, video in scenes.items():
        (root / "videos").mkdir(exist_ok=True)
        write_mp4(root / "videos" / f"{vid}.mp4", video.frames, video.spec.fps)
    a, b = scenes[VID_A], scenes[VID_B]
    shape_b2 = b.spec.shapes[2]
    records = [
        vidstg_record(a, VID_A, 2, 10, target=0, question_target=1) | {"trajectories": vidor_trajectories(a)},
        vidstg_record(b, VID_B, 0, 6, target=1, question_target=2, description="the thing in the middle"),
        vidstg_record(b, VID_B, 4, 12, target=2, question_target=0, description=f"Two {shape_b2.color} {shape_b2.shape.upper()}S rise"),
        vidstg_record(
            a,
            VID_C,
            0,
            NUM_FRAMES,
            target=0,
            question_target=2,
            description="a child kicks the sports ball past the traffic light",
            categories={0: "ball/sports_ball", 1: "traffic_light", 2: "child"},
        )
        | {"trajectories": vidor_trajectories(a)},
    ]
    vidor = {"video_id": VID_B, "frame_count": NUM_FRAMES, "width": WIDTH, "height": HEIGHT, "trajectories": vidor_trajectories(b)}
    write_json(root / "vidor" / "0000" / f"{VID_B}.json", vidor)
    return {"root": root, "records": records, "file": write_json(root / "train_annotations.json", records)}


def vidstg_source(vidstg, **options):
    return VidSTGSource(vidstg["file"], vidstg["root"] / "videos", vidor_annotations=vidstg["root"] / "vidor", **options)


def assert_tracks(video, scene):
    for i, shape in enumerate(scene.spec.shapes):
        obj = video.object(shape.object_id)
        assert obj.boxes == tuple(scene.box(i, t) for t in range(NUM_FRAMES))
        assert obj.masks is None


def test_vidstg_ids_one_per_record_with_repeated_vids_numbered(vidstg):
    source = vidstg_source(vidstg)
    assert source.name == "vidstg"
    assert source.video_ids() == sorted([VID_A, f"{VID_B}____0", f"{VID_B}____1", VID_C])


def test_vidstg_record_maps_tracks_clip_caption_phrase_and_question(vidstg, scenes):
    video = vidstg_source(vidstg).load(VID_A)
    scene = scenes[VID_A]
    assert video.source == "vidstg" and video.video_id == VID_A
    assert video.kind is SourceKind.BOXES_CAPTIONS
    assert video.path == vidstg["root"] / "videos" / f"{VID_A}.mp4" and video.path.is_file()
    assert video.clip == (2, 10)
    assert [(o.object_id, o.label) for o in video.objects] == [(s.object_id, s.shape) for s in scene.spec.shapes]
    assert_tracks(video, scene)
    target = scene.spec.shapes[0]
    (caption,) = video.captions
    assert caption.text == f"there is a {target.color} {target.shape} moving {target.direction}"
    (phrase,) = caption.phrases
    assert caption.text[phrase.start : phrase.end] == target.shape and phrase.object_ids == (0,)
    (expression,) = video.expressions
    assert expression.text == f"what is moving {scene.spec.shapes[1].direction}?" and expression.object_ids == (1,)


def test_vidstg_trajectories_from_vidor_folder_and_phrase_rules(vidstg, scenes):
    source = vidstg_source(vidstg)
    scene = scenes[VID_B]
    first, second = source.load(f"{VID_B}____0"), source.load(f"{VID_B}____1")
    assert first.path == second.path == vidstg["root"] / "videos" / f"{VID_B}.mp4"
    assert (first.clip, second.clip) == ((0, 6), (4, 12))
    assert_tracks(first, scene)
    assert_tracks(second, scene)
    assert first.captions[0].text == "the thing in the middle" and first.captions[0].phrases == ()  # category not in the sentence
    caption = second.captions[0]
    (phrase,) = caption.phrases
    assert caption.text[phrase.start : phrase.end] == f"{scene.spec.shapes[2].shape.upper()}S" and phrase.object_ids == (2,)


def test_vidstg_category_names_with_underscores_and_alternatives(vidstg):
    video = vidstg_source(vidstg).load(VID_C)
    assert [o.label for o in video.objects] == ["ball/sports_ball", "traffic_light", "child"]
    caption = video.captions[0]
    (phrase,) = caption.phrases
    assert caption.text[phrase.start : phrase.end] == "sports ball" and phrase.object_ids == (0,)


def test_vidstg_without_trajectories_or_vidor_folder_fails_naming_the_record(vidstg):
    source = VidSTGSource(vidstg["file"], vidstg["root"] / "videos")
    with pytest.raises(SourceError) as error:
        source.load(f"{VID_B}____0")
    assert error.value.path == str(vidstg["file"]) and error.value.field == "[1].trajectories"


def test_vidstg_missing_file_and_malformed_json(tmp_path):
    with pytest.raises(SourceError) as error:
        VidSTGSource(tmp_path / "none.json", tmp_path)
    assert error.value.field == "<file>" and error.value.path == str(tmp_path / "none.json")
    bad = tmp_path / "bad.json"
    bad.write_text('[{"vid": "1",')
    with pytest.raises(SourceError) as error:
        VidSTGSource(bad, tmp_path)
    assert error.value.field == "<json>" and error.value.path == str(bad)


def broken(vidstg, tmp_path, change):
    records = copy.deepcopy(vidstg["records"])
    change(records)
    return VidSTGSource(write_json(tmp_path / "broken.json", records), vidstg["root"] / "videos")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda r: r[0].pop("temporal_gt"), "[0].temporal_gt"),
        (lambda r: r[0].pop("frame_count"), "[0].frame_count"),
        (lambda r: r[0]["temporal_gt"].update(end_fid=NUM_FRAMES + 1), "[0].temporal_gt"),
        (lambda r: r[0]["captions"][0].update(target_id=7), "[0].captions[0].target_id"),
        (lambda r: r[0]["questions"][0].pop("description"), "[0].questions[0].description"),
        (lambda r: r[0]["trajectories"][3][0]["bbox"].update(xmin=70, xmax=90), "[0].trajectories[3][0].bbox"),
        (lambda r: r[0]["trajectories"][3][0]["bbox"].pop("ymax"), "[0].trajectories[3][0].bbox"),
        (lambda r: r[0]["trajectories"][3][0].update(tid=9), "[0].trajectories[3][0].tid"),
    ],
)
def test_vidstg_bad_record_fails_naming_file_and_field(vidstg, tmp_path, change, field):
    source = broken(vidstg, tmp_path, change)
    with pytest.raises(SourceError) as error:
        source.load(VID_A)
    assert error.value.path == str(tmp_path / "broken.json") and error.value.field == field


def test_vidstg_record_without_vid_fails_when_opened(vidstg, tmp_path):
    with pytest.raises(SourceError) as error:
        broken(vidstg, tmp_path, lambda r: r[2].pop("vid"))
    assert error.value.field == "[2].vid"


def test_vidstg_box_slightly_past_the_border_is_clipped(vidstg, tmp_path, scenes):
    def overhang(records):
        records[0]["trajectories"][0] = [{"tid": 0, "bbox": {"xmin": -2, "ymin": 40, "xmax": 10, "ymax": 50}}]

    video = broken(vidstg, tmp_path, overhang).load(VID_A)
    assert video.object(0).boxes[0] == (0.0, 40.0, 10.0, 8.0)
    assert video.object(1).boxes[0] is None  # frame 0 now lists only tid 0


def hcstvg_entry(scene, start, end, ed_frame, size_key="img_size"):
    """HC-STVG v2: the tube of shape 0 over frames [start, end)."""
    boxes = [list(scene.box(0, t)) for t in range(start, end)]
    assert all(boxes)
    shape = scene.spec.shapes[0]
    return {
        "English": f"The {shape.color} {shape.shape} moves {shape.direction}.",
        "st_frame": start,
        "ed_frame": ed_frame,
        "st_time": start / scene.spec.fps,
        "ed_time": end / scene.spec.fps,
        "bbox": boxes,
        "img_num": NUM_FRAMES,
        size_key: [HEIGHT, WIDTH],
    }


@pytest.fixture(scope="module")
def hcstvg(tmp_path_factory, scenes):
    """A: key with .mp4, ed_frame exclusive, img_size; B: key without suffix, ed_frame inclusive, img_hw."""
    root = tmp_path_factory.mktemp("hcstvg")
    for vid, video in scenes.items():
        (root / "videos").mkdir(exist_ok=True)
        write_mp4(root / "videos" / f"{vid}.mp4", video.frames, video.spec.fps)
    data = {
        f"{VID_A}.mp4": hcstvg_entry(scenes[VID_A], 3, 9, ed_frame=9),
        VID_B: hcstvg_entry(scenes[VID_B], 0, NUM_FRAMES, ed_frame=NUM_FRAMES - 1, size_key="img_hw"),
    }
    return {"root": root, "data": data, "file": write_json(root / "train_v2.json", data)}


def test_hcstvg_maps_the_person_tube_caption_and_clip(hcstvg, scenes):
    source = HCSTVGSource(hcstvg["file"], hcstvg["root"] / "videos")
    assert source.name == "hc-stvg" and source.video_ids() == sorted([VID_A, VID_B])
    for vid, (start, end) in ((VID_A, (3, 9)), (VID_B, (0, NUM_FRAMES))):
        video, scene = source.load(vid), scenes[vid]
        assert video.kind is SourceKind.BOXES_CAPTIONS
        assert video.path == hcstvg["root"] / "videos" / f"{vid}.mp4" and video.path.is_file()
        assert video.clip == (start, end)
        (person,) = video.objects
        assert (person.object_id, person.label) == (0, "person")
        assert person.boxes == tuple(scene.box(0, t) if start <= t < end else None for t in range(NUM_FRAMES))
        shape = scene.spec.shapes[0]
        assert video.captions[0].text == f"The {shape.color} {shape.shape} moves {shape.direction}."
        assert video.captions[0].phrases == () and video.expressions == ()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda e: e.pop("English"), "English"),
        (lambda e: e.update(ed_frame=5), "ed_frame"),
        (lambda e: e.update(st_frame=8, ed_frame=14), "bbox"),  # tube runs past img_num
        (lambda e: e.pop("img_size"), "img_hw"),
        (lambda e: e["bbox"][2].__setitem__(0, 80), "bbox[2]"),
        (lambda e: e["bbox"][2].__setitem__(2, 0), "bbox[2]"),
    ],
)
def test_hcstvg_bad_entry_fails_naming_file_and_field(hcstvg, tmp_path, change, field):
    data = copy.deepcopy(hcstvg["data"])
    change(data[f"{VID_A}.mp4"])
    path = write_json(tmp_path / "broken.json", data)
    with pytest.raises(SourceError) as error:
        HCSTVGSource(path, hcstvg["root"] / "videos").load(VID_A)
    assert error.value.path == str(path) and error.value.field == f"['{VID_A}.mp4'].{field}"


def test_hcstvg_missing_file_and_malformed_json(tmp_path):
    with pytest.raises(SourceError) as error:
        HCSTVGSource(tmp_path / "none.json", tmp_path)
    assert error.value.field == "<file>"
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(SourceError) as error:
        HCSTVGSource(tmp_path / "bad.json", tmp_path)
    assert error.value.field == "<json>"
