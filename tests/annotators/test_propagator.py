"""The SAM2 mask propagator, end to end on the tiny random-weight SAM2 (the real architecture, small), offline.

With random weights the masks say nothing about the objects; what is tested is everything around them:
shapes, ranges, prompts reaching the model, directions and fusion, determinism, independence of objects,
bounded state, provenance and errors.
"""

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from videogcg.annotators import registry, sam2_session
from videogcg.annotators.fusion import mask_iou
from videogcg.annotators.propagator import MaskPropagator, Prompt, PropagationResult, PropagatorConfig
from videogcg.schemas.masks import decode, to_box
from videogcg.synthetic import random_scene, render

REAL_CONFIG = Path(__file__).parents[2] / "configs" / "models" / "sam2.1-hiera-tiny.json"
NUM_FRAMES, HEIGHT, WIDTH = 12, 48, 64


@pytest.fixture(scope="module")
def clip():
    """Two crossing shapes and a third that enters from below mid-clip (64x48, non-square on purpose)."""
    return render(random_scene(np.random.default_rng(5), "clip", width=WIDTH, height=HEIGHT, num_frames=NUM_FRAMES))


@pytest.fixture(scope="module")
def prompts(clip):
    assert clip.masks[2, 0].sum() == 0 and clip.masks[2, 6].sum() > 0  # object 2 is absent at first
    return [
        Prompt(object_id=0, frame=0, box=clip.box(0, 0)),
        Prompt(object_id=1, frame=0, points=((clip.box(1, 0)[0] + 3, clip.box(1, 0)[1] + 3),), point_labels=(1,)),
        Prompt(object_id=2, frame=6, mask=clip.masks[2, 6]),
    ]


@pytest.fixture(scope="module")
def propagator(model_cache):
    return MaskPropagator(PropagatorConfig(cache_dir=model_cache))


@pytest.fixture(scope="module")
def forward_only(model_cache):
    return MaskPropagator(PropagatorConfig(cache_dir=model_cache, bidirectional=False))


@pytest.fixture(scope="module")
def result(propagator, clip, prompts) -> PropagationResult:
    return propagator.propagate(clip.frames, prompts)


def assert_same(a: PropagationResult, b: PropagationResult, object_ids=None):
    for object_id in object_ids or a.object_ids:
        assert np.array_equal(a.masks[object_id], b.masks[object_id]), f"masks of object {object_id} differ"
        np.testing.assert_allclose(a.scores[object_id], b.scores[object_id], atol=1e-6, equal_nan=True)


def test_tiny_checkpoint_loads_strictly_and_once(propagator, model_cache):
    loaded = propagator.load()
    assert propagator.load() is loaded
    assert type(loaded.model).__name__ == "Sam2VideoModel"
    assert loaded.model.config.image_size == 128
    assert (registry.tiny_checkpoint("sam2_video", model_cache) / "model.safetensors").is_file()


def test_result_shapes_dtypes_and_ranges(result):
    assert result.object_ids == [0, 1, 2]
    for object_id in result.object_ids:
        masks, scores = result.masks[object_id], result.scores[object_id]
        assert masks.shape == (NUM_FRAMES, HEIGHT, WIDTH) and masks.dtype == bool
        assert scores.shape == (NUM_FRAMES,) and scores.dtype == np.float32
        assert not np.isnan(scores).any()  # both directions together reach every frame
        assert ((scores >= 0) & (scores <= 1)).all()


def test_a_mask_prompt_comes_back_on_its_frame(result, clip):
    """SAM2 takes a mask prompt as the output on its frame (through the 4x-downsampled mask grid)."""
    assert mask_iou(result.masks[2][6], clip.masks[2, 6]) > 0.8
    assert result.scores[2][6] > 0.99


def test_same_input_gives_identical_output(propagator, clip, prompts, result):
    assert_same(propagator.propagate(clip.frames, prompts), result)


def test_prompt_order_does_not_matter(propagator, clip, prompts, result):
    assert_same(propagator.propagate(clip.frames, prompts[::-1]), result)


def test_frames_as_a_list_equal_frames_as_an_array(propagator, clip, prompts, result):
    assert_same(propagator.propagate(list(clip.frames), prompts), result)


def test_objects_are_tracked_independently(propagator, clip, prompts, result):
    """SAM2 tracks each object from its own prompts and memories: tracked together (sharing the image
    features of each frame) or alone, an object gets the same masks, even one added mid-clip."""
    for prompt in prompts:
        alone = propagator.propagate(clip.frames, [prompt])
        assert alone.object_ids == [prompt.object_id]
        assert_same(alone, result, [prompt.object_id])


def test_forward_only_object_has_no_mask_before_its_prompt_frame(forward_only, clip, prompts):
    result = forward_only.propagate(clip.frames, prompts)
    late = result.masks[2]
    assert not late[:6].any() and np.isnan(result.scores[2][:6]).all()
    assert not np.isnan(result.scores[2][6:]).any()
    assert mask_iou(late[6], clip.masks[2, 6]) > 0.8
    assert not np.isnan(result.scores[0]).any()  # prompted on frame 0


def test_frames_reached_by_one_direction_keep_its_masks(forward_only, clip, prompts, result):
    """The backward pass starts at the last prompted frame (6): after it only the forward pass has masks."""
    forward = forward_only.propagate(clip.frames, prompts)
    for object_id in result.object_ids:
        assert np.array_equal(result.masks[object_id][7:], forward.masks[object_id][7:])
    assert not np.array_equal(result.masks[2][:6], forward.masks[2][:6])  # the backward pass reached them


def test_a_second_keyframe_of_an_object_conditions_its_track(propagator, clip, prompts, result):
    rekeyed = propagator.propagate(clip.frames, [*prompts, Prompt(object_id=0, frame=9, mask=clip.masks[0, 9])])
    assert mask_iou(rekeyed.masks[0][9], clip.masks[0, 9]) > 0.8
    assert_same(rekeyed, result, [1, 2])  # the other objects are untouched


def test_dropping_old_state_does_not_change_the_masks(model_cache, propagator):
    """On a clip longer than SAM2's memory reach (16 frames), state dropped beyond it is never missed."""
    long_clip = render(random_scene(np.random.default_rng(8), "long", width=WIDTH, height=HEIGHT, num_frames=24))
    prompts = [Prompt(object_id=0, frame=0, box=long_clip.box(0, 0)), Prompt(object_id=1, frame=20, box=long_clip.box(1, 20))]
    keep_all = MaskPropagator(PropagatorConfig(cache_dir=model_cache, state_window=10_000))
    assert_same(propagator.propagate(long_clip.frames, prompts), keep_all.propagate(long_clip.frames, prompts))


def test_session_state_stays_within_the_window(propagator, clip):
    """Driving the session frame by frame keeps no frames and at most `history` tracked frames per object."""
    loaded = propagator.load()
    session = sam2_session.ClipSession(clip_length=40, history=5, video_height=HEIGHT, video_width=WIDTH, dtype=torch.float32)
    sam2_session.add_mask(session, 7, 0, sam2_session.resize_mask(clip.masks[0, 0], 128, loaded.device))
    with torch.inference_mode():
        for frame_idx in range(40):
            session.add_new_frame(sam2_session.preprocess(clip.frames[frame_idx % NUM_FRAMES], 128, loaded.device), frame_idx)
            sam2_session.track_frame(loaded.model, session, frame_idx, reverse=False, prompted=[7] if frame_idx == 0 else [])
            session.release(frame_idx, reverse=False)
    outputs = session.output_dict_per_obj[0]
    assert session.processed_frames == {}
    assert sorted(outputs["non_cond_frame_outputs"]) == list(range(35, 40))
    assert sorted(outputs["cond_frame_outputs"]) == [0]
    assert all("high_res_masks" not in out for out in outputs["non_cond_frame_outputs"].values())


def test_bfloat16_runs(model_cache, clip, prompts):
    result = MaskPropagator(PropagatorConfig(cache_dir=model_cache, dtype="bfloat16")).propagate(clip.frames[:8], prompts)
    assert result.masks[2].shape == (8, HEIGHT, WIDTH) and result.masks[2].dtype == bool
    assert mask_iou(result.masks[2][6], clip.masks[2, 6]) > 0.8
    assert result.provenance.parameters["dtype"] == "bfloat16"


def test_provenance_names_the_model_and_parameters(result):
    provenance = result.provenance
    assert provenance.kind == "model" and provenance.name == "tiny:sam2_video"
    assert provenance.revision.startswith("sha256:")
    assert provenance.parameters == {
        "family": "sam2_video",
        "dtype": "float32",
        "image_size": 128,
        "mask_threshold": 0.0,
        "bidirectional": True,
        "fusion_iou": 0.7,
        "prompt_kinds": ["box", "mask", "points"],
    }


def test_masklets_from_a_result(forward_only, clip, prompts):
    result = forward_only.propagate(clip.frames, prompts)
    masklets = result.to_masklets({0: "a red square", 1: "a blue circle", 2: "a green triangle"})
    assert [m.object_id for m in masklets] == [0, 1, 2]
    late = masklets[2]
    assert late.label == "a green triangle" and late.provenance == result.provenance
    assert late.masks[:6] == (None,) * 6 and late.boxes[:6] == (None,) * 6 and late.scores[:6] == (None,) * 6
    for t in range(NUM_FRAMES):
        mask = result.masks[2][t]
        if mask.any():
            assert np.array_equal(decode(late.masks[t]), mask)
            assert late.boxes[t] == to_box(late.masks[t])
        else:
            assert late.masks[t] is None and late.boxes[t] is None
    assert late.scores[6] == pytest.approx(float(result.scores[2][6]))
    assert 0.0 <= late.score <= 1.0
    with pytest.raises(KeyError, match=r"\[2\]"):
        result.to_masklets({0: "a", 1: "b"})


# --- errors: all raised before the model runs ---------------------------------------------------------------


def frames(t=NUM_FRAMES, h=HEIGHT, w=WIDTH):
    return np.zeros((t, h, w, 3), dtype=np.uint8)


@pytest.mark.parametrize("box", [(60.0, 10.0, 20.0, 10.0), (-5.0, 0.0, 10.0, 10.0), (100.0, 100.0, 5.0, 5.0), (0.0, 40.0, 10.0, 10.0)])
def test_a_box_outside_the_frame_is_an_error_that_names_object_and_frame(propagator, box):
    with pytest.raises(ValueError, match=r"object 4 on frame 3: box .* outside the 64x48 frame"):
        propagator.propagate(frames(), [Prompt(object_id=4, frame=3, box=box)])


def test_a_point_outside_the_frame_is_an_error(propagator):
    with pytest.raises(ValueError, match=r"object 1 on frame 0: point \(70.0, 5.0\) lies outside"):
        propagator.propagate(frames(), [Prompt(object_id=1, frame=0, points=((70.0, 5.0),), point_labels=(1,))])


def test_a_box_within_a_pixel_of_the_edge_is_clipped(propagator):
    result = propagator.propagate(frames(t=2), [Prompt(object_id=0, frame=0, box=(-0.5, 0.0, 65.0, 48.5))])
    assert result.masks[0].shape == (2, HEIGHT, WIDTH)


@pytest.mark.parametrize("frame", [12, -1])
def test_a_prompt_frame_outside_the_clip_is_an_error(propagator, frame):
    with pytest.raises(ValueError, match=rf"object 0 on frame {frame}: frame is outside the clip of 12 frames"):
        propagator.propagate(frames(), [Prompt(object_id=0, frame=frame, box=(0, 0, 5, 5))])


def test_frames_of_differing_sizes_are_an_error_that_names_the_frame(propagator):
    clip = [np.zeros((48, 64, 3), np.uint8)] * 3 + [np.zeros((48, 60, 3), np.uint8)]
    with pytest.raises(ValueError, match="frame 3 is 60x48 but frame 0 is 64x48"):
        propagator.propagate(clip, [Prompt(object_id=0, frame=0, box=(0, 0, 5, 5))])


@pytest.mark.parametrize(
    "bad, message",
    [
        (np.zeros((4, 48, 64, 3), np.float32), "uint8"),
        (np.zeros((48, 64, 3), np.uint8), r"\(T, H, W, 3\)"),
        (np.zeros((4, 48, 64), np.uint8), r"\(T, H, W, 3\)"),
        (np.zeros((0, 48, 64, 3), np.uint8), "empty"),
        ([np.zeros((48, 64, 4), np.uint8)], r"frame 0 of frames must be an \(H, W, 3\) uint8 array"),
        ([], "empty"),
    ],
)
def test_frames_that_are_not_uint8_rgb_clips_are_errors(propagator, bad, message):
    with pytest.raises(ValueError, match=message):
        propagator.propagate(bad, [Prompt(object_id=0, frame=0, box=(0, 0, 5, 5))])


def test_an_empty_prompt_list_is_an_error(propagator):
    with pytest.raises(ValueError, match="no prompts"):
        propagator.propagate(frames(), [])


def test_a_mask_prompt_of_another_size_is_an_error(propagator):
    with pytest.raises(ValueError, match="object 2 on frame 1: mask is 32x32, frames are 64x48"):
        propagator.propagate(frames(), [Prompt(object_id=2, frame=1, mask=np.ones((32, 32), bool))])


def test_two_prompts_for_one_object_on_one_frame_are_an_error(propagator):
    twice = [Prompt(object_id=0, frame=2, box=(0, 0, 5, 5)), Prompt(object_id=0, frame=2, box=(1, 1, 5, 5))]
    with pytest.raises(ValueError, match="object 0 on frame 2: more than one prompt"):
        propagator.propagate(frames(), twice)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({}, "give a box, points or a mask"),
        ({"box": (0, 0, 5, 5), "mask": np.ones((4, 4), bool)}, "cannot be combined"),
        ({"mask": np.ones((4, 4), np.uint8)}, "2-D bool"),
        ({"box": (0, 0, 0, 5)}, "positive size"),
        ({"points": ((1, 1),)}, "go together"),
        ({"points": ((1, 1), (2, 2)), "point_labels": (1,)}, "2 points but 1 point_labels"),
        ({"points": ((1, 1),), "point_labels": (2,)}, "1 \\(object\\) or 0 \\(background\\)"),
    ],
)
def test_malformed_prompts_are_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Prompt(object_id=0, frame=0, **kwargs)


def test_config_rejects_unsupported_values():
    with pytest.raises(ValueError, match="dtype"):
        PropagatorConfig(dtype="int8")
    with pytest.raises(ValueError, match="fusion_iou"):
        PropagatorConfig(fusion_iou=1.2)


# --- the real architecture -----------------------------------------------------------------------------------


@pytest.mark.slow
def test_real_sam2_1_hiera_tiny_architecture(tmp_path):
    """configs/models/sam2.1-hiera-tiny.json builds the real 38.9M-parameter SAM2.1 hiera-tiny (random weights,
    no download), and the propagator drives it at its 1024 px input through the same loading path."""
    from transformers import Sam2VideoConfig, Sam2VideoModel

    config = Sam2VideoConfig.from_dict(json.loads(REAL_CONFIG.read_text()))
    torch.manual_seed(0)
    model = Sam2VideoModel(config)
    assert sum(p.numel() for p in model.parameters()) == pytest.approx(38.9e6, rel=0.005)
    model.save_pretrained(tmp_path / "sam2.1-hiera-tiny")
    propagator = MaskPropagator(PropagatorConfig(model=str(tmp_path / "sam2.1-hiera-tiny")))
    clip = render(random_scene(np.random.default_rng(1), "real", width=96, height=72, num_frames=2))
    result = propagator.propagate(clip.frames, [Prompt(object_id=0, frame=0, box=clip.box(0, 0))])
    assert result.masks[0].shape == (2, 72, 96)
    assert result.provenance.parameters["image_size"] == 1024
    assert isinstance(registry.load(str(tmp_path / "sam2.1-hiera-tiny"), "sam2_video").model, Sam2VideoModel)
