import pytest

from tests.factories import make_sample
from videogcg.pipeline.settings import VerifyConfig
from videogcg.pipeline.verify import Route, box_iou, temporal_stability, verify
from videogcg.schemas import masks as rle


def test_box_iou_known_values():
    assert box_iou((0, 0, 10, 10), (0, 0, 10, 10)) == 1.0
    assert box_iou((0, 0, 10, 10), (5, 0, 10, 10)) == pytest.approx(50 / 150)
    assert box_iou((0, 0, 10, 10), (20, 20, 5, 5)) == 0.0


def test_a_clean_sample_is_accepted_with_every_check_recorded(scene_video):
    sample = make_sample(scene_video, frame_indices=(4, 5, 6))  # all three shapes in view, small motion
    verdict = verify(sample, VerifyConfig(min_temporal_iou=0.1))
    assert verdict.route is Route.ACCEPT and verdict.confidence == 1.0 and verdict.reasons == ()
    assert verdict.checks["object 0 visible"] == 1.0 and verdict.checks["object 2 score"] == pytest.approx(0.7)
    assert verdict.checks["object 0 stability"] == pytest.approx(temporal_stability(sample.objects[0]), abs=1e-4)


def test_failed_checks_lower_the_confidence_and_say_why(scene_video):
    sample = make_sample(scene_video, frame_indices=(4, 5, 6))
    verdict = verify(sample, VerifyConfig(min_score=0.85, accept_confidence=0.95, review_confidence=0.5))
    assert verdict.route is Route.REVIEW
    assert verdict.confidence == pytest.approx(7 / 9)  # 3 objects x (visible, stability, score); 2 scores too low
    assert "object 1 score 0.80 < 0.85" in verdict.reasons and "object 2 score 0.70 < 0.85" in verdict.reasons
    dropped = verify(sample, VerifyConfig(min_score=0.95, min_temporal_iou=0.9, review_confidence=0.5))
    assert dropped.route is Route.DROP


def test_a_phrase_on_an_object_without_masks_is_flagged(scene_video):
    sample = make_sample(scene_video, frame_indices=(4, 5, 6))
    empty = sample.objects[0].model_copy(update={"masks": (None,) * 3, "boxes": (None,) * 3})
    verdict = verify(sample.model_copy(update={"objects": (empty, *sample.objects[1:])}), VerifyConfig())
    assert verdict.route is not Route.ACCEPT
    assert any("grounded to object 0, which has no mask" in r for r in verdict.reasons)


def test_one_object_tracked_twice_is_flagged(scene_video):
    sample = make_sample(scene_video, frame_indices=(4, 5, 6))
    twin = sample.objects[1].model_copy(update={"object_id": 2, "label": "twin"})
    verdict = verify(sample.model_copy(update={"objects": (*sample.objects[:2], twin)}), VerifyConfig())
    assert "objects 1 and 2 look like one object tracked twice" in verdict.reasons
    assert verdict.route is not Route.ACCEPT


def test_two_phrases_on_one_object_are_flagged(scene_video):
    sample = make_sample(scene_video, frame_indices=(4, 5, 6))
    turn = sample.conversation[0]
    second = turn.phrases[1].model_copy(update={"object_ids": (0,)})
    changed = sample.model_copy(update={"conversation": (turn.model_copy(update={"phrases": (turn.phrases[0], second)}),)})
    assert any("on the same object 0" in r for r in verify(changed, VerifyConfig()).reasons)


def test_masks_are_checked_against_the_source_boxes(scene_video):
    sample = make_sample(scene_video, frame_indices=(4, 5, 6))
    ours = {t.object_id: t.boxes for t in sample.objects}
    same = verify(sample, VerifyConfig(), reference_boxes=ours)
    assert same.checks["object 0 box iou vs source"] == 1.0
    moved = {0: tuple((x + 200, y, w, h) for x, y, w, h in ours[0])}
    verdict = verify(sample, VerifyConfig(), reference_boxes=moved)
    assert verdict.checks["object 0 box iou vs source"] == 0.0 and "object 0 box iou vs source 0.00 < 0.5" in verdict.reasons


def test_stability_of_a_track_with_gaps_uses_consecutive_pairs_only(scene_video):
    sample = make_sample(scene_video, frame_indices=(4, 5, 6))
    track = sample.objects[0]
    gapped = track.model_copy(update={"masks": (track.masks[0], None, track.masks[2])})
    assert temporal_stability(gapped) is None
    assert temporal_stability(track) == pytest.approx((rle.iou(*track.masks[:2]) + rle.iou(*track.masks[1:])) / 2)
