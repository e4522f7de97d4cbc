"""ActivityNet-Entities importer, read from an object-layout file written for synthetic scenes."""

import copy
import json

import numpy as np
import pytest

from videogcg.pipeline.sources.anet_entities import ActivityNetEntitiesSource, sampled_frame
from videogcg.pipeline.sources.base import SourceError, SourceKind
from videogcg.synthetic import random_scene, render
from videogcg.video_io import write_mp4

NUM_FRAMES, WIDTH, HEIGHT = 12, 64, 48
SCALE = 720 / WIDTH  # ActivityNet-Entities boxes are drawn on frames resized to 720 px wide


def xyxy(box, scale=1.0):
    x, y, w, h = box
    return [x * scale, y * scale, (x + w) * scale, (y + h) * scale]


def segment(scene, t0, t1, tokens, boxes, caption=None):
    """One segment in the object layout; boxes are (shape index, sampled frame 0-9, token indices, classes, crowd, scale)."""
    per_box = {"process_bnd_box": [], "frame_ind": [], "process_idx": [], "process_clss": [], "crowds": []}
    for shape, k, indices, classes, crowd, scale in boxes:
        box = scene.box(shape, sampled_frame(t0, t1, k, scene.spec.fps, NUM_FRAMES))
        assert box is not None
        per_box["process_bnd_box"].append(xyxy(box, scale))
        per_box["frame_ind"].append(k)
        per_box["process_idx"].append(indices)
        per_box["process_clss"].append(classes)
        per_box["crowds"].append(crowd)
    return {"timestamps": [t0, t1], "tokens": tokens, **per_box} | ({"caption": caption} if caption else {})


@pytest.fixture(scope="module")
def scenes():
    return {
        vid: render(random_scene(np.random.default_rng(seed), vid, width=WIDTH, height=HEIGHT, num_frames=NUM_FRAMES))
        for seed, vid in ((4, "v_a"), (5, "v_b"))
    }


@pytest.fixture(scope="module")
def anet(tmp_path_factory, scenes):
    root = tmp_path_factory.mktemp("anet")
    (root / "videos").mkdir()
    write_mp4(root / "videos" / "v_a.mp4", scenes["v_a"].frames, 10.0)
    write_mp4(root / "videos" / "v_b.webm", scenes["v_b"].frames, 10.0)  # ActivityNet videos come as mp4, mkv or webm
    (s0, s1, s2), (b2,) = scenes["v_a"].spec.shapes, scenes["v_b"].spec.shapes[2:]
    tokens = ["Two", "shapes", "cross", ":", "the", s0.color, s0.shape, "moves", s0.direction]
    tokens += ["and", "the", s1.color, s1.shape, "moves", s1.direction, "."]
    caption = f"Two shapes cross: the {s0.color} {s0.shape} moves {s0.direction} and the {s1.color} {s1.shape} moves {s1.direction}."
    a = scenes["v_a"]
    segments_a = {
        # "shapes" has two boxes; the boxes lie on three different sampled frames.
        "0": segment(
            a,
            0.2,
            1.0,
            tokens,
            [
                (0, 1, [6], [s0.shape], 0, SCALE),
                (1, 6, [12], [s1.shape], 0, SCALE),
                (0, 3, [1], ["shape"], 0, SCALE),
                (1, 3, [1], ["shape"], 0, SCALE),
            ],
            caption=caption,
        ),
        "1": segment(a, 0.0, 0.6, ["A", s2.color, s2.shape, "enters", "."], []),  # no boxes, no caption
        "2": segment(a, 0.3, 0.9, ["The", s0.shape, "moves"], [(0, 0, [1], [s0.shape], 0, SCALE)], caption="Something else entirely."),
    }
    segments_b = {
        "0": segment(
            scenes["v_b"], 0.05, 1.15, ["The", b2.shape, "rises", ";", "it", "stops", "."], [(2, 9, [1, 4], [b2.shape, "it"], 1, 1.0)]
        ),
        # a test-skeleton segment: classes and token indices, boxes withheld
        "1": segment(scenes["v_b"], 0.0, 1.2, ["A", b2.shape, "rises"], []) | {"process_idx": [[1]], "process_clss": [[b2.shape]]},
    }
    data = {
        "vocab": ["shape", "square", "circle", "triangle", "it"],
        "annotations": {
            "v_a": {"duration": 1.2, "segments": segments_a},
            "v_b": {"duration": 1.2, "rwidth": WIDTH, "rheight": HEIGHT, "segments": segments_b},
        },
    }
    path = root / "anet_entities_cleaned_class_thresh50_trainval.json"
    path.write_text(json.dumps(data))
    return {"root": root, "file": path, "data": data, "caption": caption}


def source(anet, **options):
    return ActivityNetEntitiesSource(anet["file"], anet["root"] / "videos", **options)


def only_box(boxes):
    """(frame, box) of a track with a box on exactly one frame."""
    ((frame, box),) = [(t, b) for t, b in enumerate(boxes) if b is not None]
    return frame, box


def test_sampled_frames_are_bin_midpoints():
    # midpoints 0.29, 0.37, ..., 1.01 s at 10 fps: the frame shown at each
    assert [sampled_frame(0.25, 1.05, k, 10.0, NUM_FRAMES) for k in range(10)] == [2, 3, 4, 5, 6, 6, 7, 8, 9, 10]
    assert sampled_frame(0.0, 100.0, 9, 30.0, NUM_FRAMES) == NUM_FRAMES - 1  # timestamps past the video's end


def test_one_video_per_segment(anet):
    src = source(anet)
    assert src.name == "activitynet-entities"
    assert src.video_ids() == ["v_a____0", "v_a____1", "v_a____2", "v_b____0", "v_b____1"]


def test_segment_maps_clip_single_frame_boxes_and_token_phrases(anet, scenes):
    video = source(anet).load("v_a____0")
    scene, (s0, s1, _) = scenes["v_a"], scenes["v_a"].spec.shapes
    assert video.source == "activitynet-entities" and video.video_id == "v_a____0"
    assert video.path == anet["root"] / "videos" / "v_a.mp4"
    assert video.kind is SourceKind.BOXES_CAPTIONS
    assert video.clip == (2, 10)
    assert [(o.object_id, o.label) for o in video.objects] == [(0, s0.shape), (1, s1.shape), (2, "shape"), (3, "shape")]
    for obj, shape, frame in zip(video.objects, (0, 1, 0, 1), (3, 7, 4, 4)):
        assert len(obj.boxes) == NUM_FRAMES and obj.masks is None
        assert only_box(obj.boxes) == (frame, scene.box(shape, frame))  # scaled back from 720 px wide, exactly
    (caption,) = video.captions
    assert caption.text == anet["caption"]
    assert [(caption.text[p.start : p.end], p.object_ids) for p in caption.phrases] == [
        ("shapes", (2, 3)),
        (s0.shape, (0,)),
        (s1.shape, (1,)),
    ]


def test_segment_without_boxes_or_caption_keeps_the_tokens_as_caption(anet, scenes):
    video = source(anet).load("v_a____1")
    s2 = scenes["v_a"].spec.shapes[2]
    assert video.objects == () and video.clip == (0, 6)
    assert video.captions[0].text == f"A {s2.color} {s2.shape} enters ." and video.captions[0].phrases == ()
    assert video.kind is SourceKind.BOXES_CAPTIONS


def test_caption_missing_a_grounded_token_falls_back_to_the_tokens(anet, scenes):
    caption = source(anet).load("v_a____2").captions[0]
    shape = scenes["v_a"].spec.shapes[0].shape
    assert caption.text == f"The {shape} moves"
    assert [(caption.text[p.start : p.end], p.object_ids) for p in caption.phrases] == [(shape, (0,))]


def test_crowd_box_kept_and_marked_with_annotation_frame_size_given(anet, scenes):
    video = source(anet).load("v_b____0")
    scene, shape = scenes["v_b"], scenes["v_b"].spec.shapes[2]
    assert video.path == anet["root"] / "videos" / "v_b.webm"
    assert video.clip == (0, 12)
    (obj,) = video.objects
    assert obj.label == f"{shape.shape} (crowd)"
    assert only_box(obj.boxes) == (10, scene.box(2, 10))
    caption = video.captions[0]
    assert [(caption.text[p.start : p.end], p.object_ids) for p in caption.phrases] == [(shape.shape, (0,)), ("it", (0,))]


def test_withheld_boxes_leave_the_grounded_tokens_as_phrases_without_objects(anet, scenes):
    video = source(anet).load("v_b____1")
    shape = scenes["v_b"].spec.shapes[2].shape
    assert video.objects == () and video.clip == (0, 12)
    caption = video.captions[0]
    assert caption.text == f"A {shape} rises"
    assert [(caption.text[p.start : p.end], p.object_ids) for p in caption.phrases] == [(shape, ())]


SEG = "annotations['v_a'].segments['0']"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda s: s.pop("timestamps"), f"{SEG}.timestamps"),
        (lambda s: s.update(timestamps=[5.0, 6.0]), f"{SEG}.timestamps"),  # past the video's end
        (lambda s: s.update(timestamps=[0.8, 0.2]), f"{SEG}.timestamps"),
        (lambda s: s.pop("tokens"), f"{SEG}.tokens"),
        (lambda s: s["process_bnd_box"].__setitem__(1, [100.0, 10.0, 2000.0, 50.0]), f"{SEG}.process_bnd_box[1]"),
        (lambda s: s["process_bnd_box"].__setitem__(1, [100.0, 10.0, 50.0]), f"{SEG}.process_bnd_box[1]"),
        (lambda s: s["process_idx"].__setitem__(0, [99]), f"{SEG}.process_idx[0]"),
        (lambda s: s["frame_ind"].__setitem__(2, 10), f"{SEG}.frame_ind[2]"),
        (lambda s: s["process_clss"].pop(), f"{SEG}.process_clss"),
    ],
)
def test_bad_segment_fails_naming_file_and_field(anet, tmp_path, change, field):
    data = copy.deepcopy(anet["data"])
    change(data["annotations"]["v_a"]["segments"]["0"])
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(data))
    with pytest.raises(SourceError) as error:
        ActivityNetEntitiesSource(path, anet["root"] / "videos").load("v_a____0")
    assert error.value.path == str(path) and error.value.field == field


def test_missing_video_fails_naming_the_video(anet, tmp_path):
    with pytest.raises(SourceError) as error:
        ActivityNetEntitiesSource(anet["file"], tmp_path).load("v_a____0")
    assert error.value.path == str(tmp_path / "v_a.mp4") and error.value.field == "<video>"


@pytest.mark.parametrize(
    ("content", "field"),
    [
        ("{", "<json>"),
        (json.dumps({"database": {}}), "database"),  # the raw noun-phrase layout
        (json.dumps({"vocab": []}), "annotations"),
        (json.dumps({"annotations": {"v_a": {"duration": 1.0}}}), "annotations['v_a'].segments"),
    ],
)
def test_unusable_file_fails_when_opened(tmp_path, content, field):
    path = tmp_path / "anet.json"
    path.write_text(content)
    with pytest.raises(SourceError) as error:
        ActivityNetEntitiesSource(path, tmp_path)
    assert error.value.path == str(path) and error.value.field == field


def test_missing_file(tmp_path):
    with pytest.raises(SourceError) as error:
        ActivityNetEntitiesSource(tmp_path / "none.json", tmp_path)
    assert error.value.field == "<file>"
