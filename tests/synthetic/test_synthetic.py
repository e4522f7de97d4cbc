import json

import numpy as np

from videogcg.schemas import masks as rle
from videogcg.synthetic import render
from videogcg.synthetic.scene import COLORS, MovingShape, SceneSpec
from videogcg.video_io import probe, read_frames


def test_masks_are_exactly_the_pixels_painted_in_each_color(scene_video):
    for i, shape in enumerate(scene_video.spec.shapes):
        painted = np.all(scene_video.frames == COLORS[shape.color], axis=-1)
        np.testing.assert_array_equal(scene_video.masks[i], painted)


def test_masks_are_disjoint_and_the_front_shape_occludes():
    back = MovingShape(0, "square", "red", 10, 30, 30, 0, 0)
    front = MovingShape(1, "circle", "blue", 10, 40, 30, 0, 0)
    video = render(SceneSpec("occ", 80, 60, 1, 10.0, (back, front)))
    assert not (video.masks[0] & video.masks[1]).any()
    full_back = back.mask(0, 60, 80)
    hidden = full_back & front.mask(0, 60, 80)
    assert hidden.any()
    np.testing.assert_array_equal(video.masks[0, 0], full_back & ~hidden)


def test_random_scene_has_crossing_and_entering_objects(scene_video):
    overlap_frames = [
        t
        for t in range(scene_video.spec.num_frames)
        if (scene_video.frames[t] == COLORS[scene_video.spec.shapes[1].color]).all(-1).sum() < scene_video.masks[1, t].size
    ]
    assert overlap_frames
    entering = scene_video.masks[2].any(axis=(1, 2))
    assert not entering[0] and entering.any(), "the third shape should enter after the first frame"
    assert scene_video.box(2, 0) is None


def test_boxes_are_tight_around_masks(scene_video):
    for t in range(scene_video.spec.num_frames):
        for i in range(len(scene_video.spec.shapes)):
            box = scene_video.box(i, t)
            mask = scene_video.masks[i, t]
            if mask.any():
                assert box == rle.to_box(rle.encode(mask))


def test_captions_and_expressions_say_what_the_shape_does():
    shape = MovingShape(0, "square", "red", 5, 50, 50, -2.0, 0.5)
    assert shape.caption == "a red square moves left"
    assert shape.expression == "the red square moving left"
    assert MovingShape(1, "circle", "orange", 5, 0, 0, 0, -1).caption == "an orange circle moves up"


def test_three_source_forms_hold_the_same_videos(sources):
    names = {form: sorted(p.name for p in (root / "videos").iterdir()) for form, root in sources.items()}
    assert names["raw"] == names["boxes_captions"] == names["masks_expressions"]
    assert len(names["raw"]) == 4
    info = probe(sources["raw"] / "videos" / names["raw"][0])
    assert (info.num_frames, info.width, info.height, info.fps) == (24, 160, 120, 10.0)


def test_boxes_captions_form_ties_phrases_to_boxes(sources):
    data = json.loads((sources["boxes_captions"] / "annotations.json").read_text())
    video = data["videos"][0]
    for obj in video["objects"]:
        start, end = obj["span"]
        assert video["caption"][start:end] == obj["phrase"]
        assert len(obj["boxes"]) == 24
    assert video["caption"].endswith(".")


def test_masks_expressions_form_is_mevis_layout_with_masks_matching_the_video(sources):
    root = sources["masks_expressions"]
    meta = json.loads((root / "meta_expressions.json").read_text())["videos"]
    mask_dict = json.loads((root / "mask_dict.json").read_text())
    video_id = sorted(meta)[0]
    entry = meta[video_id]
    assert len(entry["frames"]) == 24
    expressions = list(entry["expressions"].values())
    assert any(len(e["obj_id"]) == 2 for e in expressions)
    single = next(e for e in expressions if len(e["obj_id"]) == 1)
    masks = mask_dict[single["anno_id"][0]]
    assert len(masks) == 24
    # where the object is fully in view (largest mask), the decoded video shows its color inside the mask
    decoded = [None if m is None else rle.decode(rle.RLE.from_coco(m)) for m in masks]
    t = max((t for t, m in enumerate(decoded) if m is not None), key=lambda t: decoded[t].sum())
    frame = read_frames(root / "videos" / f"{video_id}.mp4", [t])[0]
    color = np.array(COLORS[single["exp"].split()[1]])
    assert np.abs(frame[decoded[t]].astype(int) - color).mean() < 12
