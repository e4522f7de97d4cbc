import json

import pytest

from tests.factories import make_sample
from videogcg.schemas import InvalidSampleError, ReviewState, Sample, sample_key


def test_json_round_trip_is_exact(sample):
    text = sample.to_json()
    back = Sample.from_json(text)
    assert back == sample
    assert back.to_json() == text
    assert back.objects[1].masks == sample.objects[1].masks
    assert back.caption.provenance.created_at == sample.caption.provenance.created_at
    assert back.meta == {"split": "train", "weights": [1, 2.5]}


def test_every_track_and_text_carries_provenance_and_review(sample):
    data = json.loads(sample.to_json())
    for track in data["objects"]:
        assert track["provenance"]["kind"] == "source" and track["review"] == "auto"
    turn = data["conversation"][0]
    for field in ("question", "answer"):
        assert turn[field]["provenance"]["name"] == "synthetic"
    assert data["caption"]["provenance"] == {**data["caption"]["provenance"], "kind": "model", "name": "tiny:captioner", "revision": "abc"}


def test_key_is_deterministic_and_wds_safe():
    key = sample_key("mevis", "a.b/c d", 0, 24, 1)
    assert key == sample_key("mevis", "a.b/c d", 0, 24, 1)
    assert "." not in key and "/" not in key and " " not in key
    assert key != sample_key("mevis", "a-b/c d", 0, 24, 1)  # same slug, different id
    assert key != sample_key("mevis", "a.b/c d", 0, 24, 2)
    assert key != sample_key("mevis", "a.b/c d", 1, 24, 1)


def test_review_states_are_the_five_of_the_contract():
    assert [s.value for s in ReviewState] == ["auto", "auto_verified", "human_accepted", "human_edited", "rejected"]


def _mask_of_size(height, width):
    import numpy as np

    from videogcg.schemas import masks

    return masks.encode(np.ones((height, width), bool)).model_dump(mode="json")


def _move_phrase(data, index, start):
    phrase = data["conversation"][0]["phrases"][index]
    phrase.update(start=start, end=start + len(phrase["text"]))


def _broken(sample, change):
    data = json.loads(sample.to_json())
    change(data)
    return json.dumps(data)


@pytest.mark.parametrize(
    "change, field, message",
    [
        (lambda d: d["objects"][0]["masks"].__setitem__(0, _mask_of_size(100, 160)), "objects[0].masks[0]", "differs from the video"),
        (lambda d: d["objects"][0]["masks"][0].update(counts="garbage!!"), "objects[0].masks[0].counts", "not a compressed COCO RLE"),
        (lambda d: d["objects"][0]["masks"][0].update(size=[100, 160]), "objects[0].masks[0].counts", "of a 100x160 mask"),
        (lambda d: d["objects"][0]["scores"].__setitem__(0, float("nan")), "objects[0].scores[0]", "finite"),
        (lambda d: d["conversation"][0]["phrases"][0].update(end=999), "conversation[0].phrases[0].end", "length"),
        (lambda d: _move_phrase(d, 1, 200), "conversation[0].phrases[1]", "outside the answer"),
        (
            lambda d: d["conversation"][0]["phrases"][1].update(object_ids=[1, 7]),
            "conversation[0].phrases[1].object_ids",
            r"no object track with id \[7\]",
        ),
        (lambda d: d["conversation"][0]["phrases"].reverse(), "conversation[0].phrases[1]", "overlaps or precedes"),
        (lambda d: d["objects"][1].update(object_id=0), "objects[1].object_id", "appears twice"),
        (lambda d: d["objects"][0]["boxes"].pop(), "objects[0].boxes", "has 2 entries"),
        (lambda d: [d["objects"][0][f].pop() for f in ("masks", "boxes", "scores")], "objects[0].masks", "for 3 sampled frames"),
        (lambda d: d["clip"].update(frame_indices=[4, 0, 8]), "clip.frame_indices[1]", "not after 4"),
        (lambda d: d["clip"].update(end=99), "clip.end", "beyond"),
        (lambda d: d["video"].update(fps=0), "video.fps", "greater than 0"),
        (lambda d: d["video"].update(content_hash="md5:x"), "video.content_hash", "pattern"),
        (lambda d: d.update(key="other"), "key", "does not match"),
        (lambda d: d.update(review="approved"), "review", "auto"),
        (lambda d: d.update(surprise=1), "surprise", "Extra inputs"),
    ],
)
def test_invalid_data_names_the_sample_and_field(sample, change, field, message):
    with pytest.raises(InvalidSampleError, match=message) as info:
        Sample.from_json(_broken(sample, change))
    assert info.value.field == field
    expected_key = "other" if field == "key" else sample.key
    assert info.value.key == expected_key
    assert f"sample {expected_key!r}" in str(info.value) and field in str(info.value)


def test_direct_construction_validates_too(scene_video):
    good = make_sample(scene_video)
    with pytest.raises(InvalidSampleError, match="video_id"):
        Sample(**{**dict(good), "video_id": ""})


def test_lookup_of_a_track(sample):
    assert sample.track(2).object_id == 2
    with pytest.raises(KeyError, match="no object 9"):
        sample.track(9)
