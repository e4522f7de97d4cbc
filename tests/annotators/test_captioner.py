import numpy as np
import pytest

from videogcg.annotators.captioner import Captioner, ObjectToDescribe, check_all_ids, evenly_spaced
from videogcg.annotators.crops import best_views, crop_around
from videogcg.schemas import MarkupError, TextField


@pytest.fixture(scope="module")
def captioner(model_cache):
    return Captioner(cache_dir=model_cache, max_new_tokens=6, num_frames=4)


def objects_of(video):
    n = video.spec.num_frames
    return [ObjectToDescribe(i, s.shape, [video.box(i, t) for t in range(n)]) for i, s in enumerate(video.spec.shapes)]


def test_dense_captions_are_text_with_provenance_and_deterministic(captioner, scene_video):
    clips = [scene_video.frames, scene_video.frames[:5]]
    first = captioner.caption_clips(clips)
    assert len(first) == 2 and all(isinstance(c, TextField) and c.text for c in first)
    assert first[0].provenance.name == "tiny:vlm" and first[0].provenance.parameters["num_frames"] == 4
    assert first[0].provenance.revision.startswith("sha256:")
    assert [c.text for c in captioner.caption_clips(clips)] == [c.text for c in first]


def test_batched_equals_one_by_one(captioner, scene_video):
    clips = [scene_video.frames, scene_video.frames[3:9], scene_video.frames[::-1].copy()]
    batched = [c.text for c in captioner.caption_clips(clips)]
    single = [captioner.caption_clips([clip])[0].text for clip in clips]
    assert batched == single
    assert len(set(batched)) == 3  # the replies depend on the frames


def test_object_descriptions_one_per_object(captioner, scene_video):
    descriptions = captioner.describe_objects(scene_video.frames, objects_of(scene_video))
    assert len(descriptions) == 3
    assert descriptions[0].provenance.parameters["crops_per_object"] == 3


def test_objects_from_masklets_take_boxes_from_their_masks(scene_video):
    from tests.factories import make_sample

    sample = make_sample(scene_video, frame_indices=tuple(range(12)))
    track = sample.objects[2].model_copy(update={"boxes": (None,) * 12})
    described = ObjectToDescribe.from_masklet(track)
    assert described.boxes == [scene_video.box(2, t) for t in range(12)]
    assert (described.object_id, described.label) == (2, track.label)


def test_grounded_caption_from_a_random_model_is_rejected_with_a_reason(captioner, scene_video):
    [result] = captioner.grounded_captions([scene_video.frames], [{0: "a square", 1: "a circle"}])
    assert result.markup is None and result.attempts == captioner.max_attempts
    assert result.reason


def test_bad_inputs_are_named(captioner, scene_video):
    with pytest.raises(ValueError, match=r"clip 1 must be a \(T, H, W, 3\) uint8 array"):
        captioner.caption_clips([scene_video.frames, scene_video.frames.astype(np.float32)])
    never_seen = ObjectToDescribe(7, "ghost", [None] * scene_video.spec.num_frames)
    with pytest.raises(ValueError, match="object 7: no frame shows it"):
        captioner.describe_objects(scene_video.frames, [never_seen])
    with pytest.raises(ValueError, match="object 7: 2 boxes for 12 frames"):
        captioner.describe_objects(scene_video.frames, [ObjectToDescribe(7, "x", [None, None])])
    with pytest.raises(ValueError, match="clip 0: no object descriptions"):
        captioner.grounded_captions([scene_video.frames], [{}])


def test_every_object_must_be_tagged_once():
    assert [s.object_ids for s in check_all_ids("[a dog](0) chases [a cat](1).", {0, 1}).spans] == [(0,), (1,)]
    with pytest.raises(ValueError, match=r"objects not tagged: \[1\]"):
        check_all_ids("[a dog](0) sleeps.", {0, 1})
    with pytest.raises(ValueError, match=r"objects tagged twice: \[0\]"):
        check_all_ids("[a dog](0) and [the dog](0) and [a cat](1).", {0, 1})
    with pytest.raises(MarkupError, match="object id 4 has no track"):
        check_all_ids("[a dog](4).", {0})


def test_crop_is_twice_the_box_centred_and_clipped():
    frame = np.arange(100 * 120 * 3, dtype=np.uint32).reshape(100, 120, 3).astype(np.uint8)
    crop = crop_around(frame, (40, 30, 20, 10))
    assert crop.shape == (20, 40, 3)
    np.testing.assert_array_equal(crop, frame[25:45, 30:70])
    assert crop_around(frame, (0, 0, 20, 10)).shape == (15, 30, 3)  # clipped at the corner
    with pytest.raises(ValueError, match="outside"):
        crop_around(frame, (130, 10, 5, 5))


def test_best_views_pick_the_largest_in_time_order():
    boxes = [None, (0, 0, 10, 10), (0, 0, 30, 30), (0, 0, 20, 20), None, (0, 0, 30, 30)]
    assert best_views(boxes, 2) == [2, 5]
    assert best_views(boxes, 3, min_area=150) == [2, 3, 5]
    assert best_views([None, None], 3) == []


def test_evenly_spaced_frames():
    assert evenly_spaced(4, 10) == [0, 3, 6, 9]
    assert evenly_spaced(8, 3) == [0, 1, 2]
