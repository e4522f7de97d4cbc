"""Applying one review to one sample: the logic around SAM2 re-propagation, with a stand-in tracker."""

from datetime import datetime, timezone

import numpy as np
import pytest

from videogcg.review_ui.apply import apply_review
from videogcg.review_ui.tasks import Review, ReviewError, answer_markup, build_task, parse_review
from videogcg.schemas import ReviewState
from videogcg.schemas import masks as rle

AT = datetime(2026, 11, 24, 12, 0, tzinfo=timezone.utc)


def review(sample, decision="accept", answer=None, masks=None):
    return Review(7, sample.key, "ana@example.org", AT, decision, "", answer, masks or {})


def as_drawn(sample, positions):
    """What a reviewer who changes nothing submits: every pre-annotated mask on the keyframes."""
    return {(p, t.object_id): rle.decode(t.masks[p]) for t in sample.objects for p in positions if t.masks[p] is not None}


class StandInTracker:
    """Copies each drawn mask to every frame (what matters here is what apply_review does with the result)."""

    name = "stand-in"

    def __init__(self):
        self.calls = []

    def __call__(self, frames, drawn):
        self.calls.append({o: sorted(d) for o, d in drawn.items()})
        out = {}
        for object_id, masks in drawn.items():
            first = masks[min(masks)]
            out[object_id] = (np.repeat(first[None], len(frames), 0), np.full(len(frames), 0.8, np.float32))
        return out


@pytest.fixture
def frames(sample):
    return np.zeros((len(sample.clip.frame_indices), sample.video.height, sample.video.width, 3), np.uint8)


def test_accept_without_changes_keeps_everything_but_the_review_state(sample, frames):
    tracker = StandInTracker()
    applied = apply_review(sample, frames, review(sample, masks=as_drawn(sample, [0, 2]), answer=answer_markup(sample)), tracker)
    assert applied.changed == () and tracker.calls == []
    assert applied.sample.review == ReviewState.HUMAN_ACCEPTED
    assert [t.masks for t in applied.sample.objects] == [t.masks for t in sample.objects]
    assert applied.sample.meta["review"] == {
        "task": 7,
        "reviewer": "ana@example.org",
        "at": AT.isoformat(),
        "decision": "accept",
        "changed": [],
    }


def test_no_brush_regions_means_the_masks_were_not_reviewed(sample, frames):
    applied = apply_review(sample, frames, review(sample, decision="fixed"), StandInTracker())
    assert applied.changed == () and applied.sample.review == ReviewState.HUMAN_EDITED  # "fixed", nothing to change


def test_removed_object_on_a_keyframe_is_an_edit_kept_as_absent(sample, frames):
    drawn = as_drawn(sample, [0, 2])
    target = sample.objects[1].object_id
    del drawn[(2, target)]
    tracker = StandInTracker()
    applied = apply_review(sample, frames, review(sample, "fixed", masks=drawn), tracker)
    track = next(t for t in applied.sample.objects if t.object_id == target)
    assert applied.changed == (f"masks of object {target}",) and tracker.calls == []  # nothing drawn: no prompt
    assert track.masks[2] is None and track.masks[0] == sample.objects[1].masks[0]
    assert track.provenance.parameters["repropagated_with"] is None and applied.edited_mask_ious == (0.0,)


def test_edited_mask_is_kept_and_the_track_re_propagated(sample, frames):
    drawn = as_drawn(sample, [0, 2])
    target = sample.objects[0].object_id
    new = np.zeros_like(drawn[(0, target)])
    new[2:6, 3:9] = True
    drawn[(0, target)] = new
    tracker = StandInTracker()
    applied = apply_review(sample, frames, review(sample, "fixed", masks=drawn), tracker)
    assert tracker.calls == [{target: [0]}]
    track = next(t for t in applied.sample.objects if t.object_id == target)
    assert all(np.array_equal(rle.decode(m), new) for m in track.masks)
    assert track.scores == (None, 0.800000011920929, 0.800000011920929) and track.score is None
    assert track.provenance.created_at == AT and track.provenance.parameters["previous"] == sample.objects[0].provenance.name


def test_answer_naming_an_unknown_object_is_refused(sample, frames):
    with pytest.raises(ReviewError, match=r"task 7 .*edited answer: .*99"):
        apply_review(sample, frames, review(sample, "fixed", answer="[a ghost](99) floats"), StandInTracker())


def test_reject_keeps_the_reason(sample, frames):
    rejected = Review(7, sample.key, "ana", AT, "reject", "", None, {})
    assert apply_review(sample, frames, rejected, StandInTracker()).rejected_reason == "rejected by the reviewer"


def test_parse_review_checks_labels_and_decision(sample):
    task = build_task(sample, [0, 2], ["/a.jpg", "/b.jpg"], 2)
    task = {
        "id": 3,
        **task,
        "annotations": [{"id": 1, "completed_by": 2, "created_at": "2026-11-24T12:00:00Z", "result": task["predictions"][0]["result"]}],
    }
    with pytest.raises(ReviewError, match="decision must be one of"):
        parse_review(task, sample.video.height, sample.video.width)
    task["annotations"][0]["result"] = [
        {**task["predictions"][0]["result"][0], "value": {**task["predictions"][0]["result"][0]["value"], "brushlabels": ["dog"]}}
    ]
    with pytest.raises(ReviewError, match="needs one 'object <id>' label"):
        parse_review(task, sample.video.height, sample.video.width)
