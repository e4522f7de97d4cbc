import numpy as np
import pytest

from videogcg.annotators.fusion import fuse_masks, mask_iou


def rect(x0, y0, x1, y1, shape=(10, 10)):
    mask = np.zeros(shape, dtype=bool)
    mask[y0:y1, x0:x1] = True
    return mask


EMPTY = np.zeros((10, 10), dtype=bool)


def test_iou_of_hand_made_masks():
    assert mask_iou(rect(0, 0, 4, 4), rect(0, 0, 4, 4)) == 1.0
    assert mask_iou(rect(0, 0, 4, 4), rect(2, 0, 6, 4)) == pytest.approx(8 / 24)
    assert mask_iou(rect(0, 0, 2, 2), rect(5, 5, 7, 7)) == 0.0
    assert mask_iou(EMPTY, EMPTY) == 1.0  # as videogcg.schemas.masks.iou
    assert mask_iou(EMPTY, rect(0, 0, 1, 1)) == 0.0


def test_iou_of_masks_of_different_shapes_is_an_error():
    with pytest.raises(ValueError, match="shape"):
        mask_iou(np.zeros((4, 4), bool), np.zeros((4, 5), bool))


def test_agreeing_directions_keep_the_intersection():
    forward, backward = rect(0, 0, 10, 10), rect(0, 0, 10, 8)  # IoU 0.8
    assert np.array_equal(fuse_masks(forward, backward), rect(0, 0, 10, 8))


def test_disagreeing_directions_keep_the_union():
    forward, backward = rect(0, 0, 4, 4), rect(2, 0, 6, 4)  # IoU 1/3
    assert np.array_equal(fuse_masks(forward, backward), rect(0, 0, 6, 4))


def test_iou_exactly_at_the_threshold_counts_as_agreement():
    forward, backward = rect(0, 0, 10, 10), rect(0, 0, 10, 7)  # IoU exactly 0.7
    assert np.array_equal(fuse_masks(forward, backward, iou_threshold=0.7), backward)
    assert np.array_equal(fuse_masks(forward, backward, iou_threshold=0.71), forward)


def test_a_direction_that_lost_the_object_does_not_remove_it():
    """An empty mask against a non-empty one: IoU 0, so the union, which is the other direction's mask."""
    assert np.array_equal(fuse_masks(EMPTY, rect(1, 1, 3, 3)), rect(1, 1, 3, 3))
    assert not fuse_masks(EMPTY, EMPTY).any()


def test_a_frame_reached_by_one_direction_takes_its_mask():
    mask = rect(2, 2, 5, 5)
    assert fuse_masks(mask, None) is mask
    assert fuse_masks(None, mask) is mask
    assert fuse_masks(None, None) is None
