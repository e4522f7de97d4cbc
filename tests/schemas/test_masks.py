import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from videogcg.schemas import RLE
from videogcg.schemas import masks as rle


@st.composite
def masks(draw, max_side=37):
    h = draw(st.integers(1, max_side))
    w = draw(st.integers(1, max_side))
    return draw(arrays(np.bool_, (h, w)))


@given(masks())
@settings(max_examples=200, deadline=None)
def test_decode_inverts_encode_for_random_masks_of_odd_sizes(mask):
    encoded = rle.encode(mask)
    assert encoded.size == mask.shape
    decoded = rle.decode(encoded)
    assert decoded.dtype == bool
    np.testing.assert_array_equal(decoded, mask)
    assert rle.area(encoded) == int(mask.sum())


@given(masks())
@settings(max_examples=50, deadline=None)
def test_rle_survives_json(mask):
    encoded = rle.encode(mask)
    assert RLE.model_validate_json(encoded.model_dump_json()) == encoded


def test_empty_mask_has_zero_area_no_box_and_round_trips():
    empty = rle.empty(5, 7)
    assert rle.area(empty) == 0
    assert rle.to_box(empty) is None
    assert not rle.decode(empty).any()
    assert rle.decode(empty).shape == (5, 7)


def test_iou_union_intersection_against_numpy():
    a = np.zeros((9, 11), bool)
    b = np.zeros((9, 11), bool)
    a[1:5, 1:6] = True  # 20 px
    b[3:8, 4:9] = True  # 25 px, overlap rows 3-4 cols 4-5 = 4 px
    ra, rb = rle.encode(a), rle.encode(b)
    assert rle.iou(ra, rb) == pytest.approx(4 / 41)
    np.testing.assert_array_equal(rle.decode(rle.union([ra, rb])), a | b)
    np.testing.assert_array_equal(rle.decode(rle.intersection([ra, rb])), a & b)
    assert rle.iou(ra, ra) == 1.0


def test_iou_of_empty_masks():
    empty, full = rle.empty(4, 4), rle.encode(np.ones((4, 4), bool))
    assert rle.iou(empty, empty) == 1.0
    assert rle.iou(empty, full) == 0.0


def test_box_is_tight_xywh():
    m = np.zeros((10, 12), bool)
    m[2:6, 3:10] = True
    assert rle.to_box(rle.encode(m)) == (3.0, 2.0, 7.0, 4.0)


def test_mismatched_sizes_are_errors():
    with pytest.raises(ValueError, match="size"):
        rle.iou(rle.empty(4, 4), rle.empty(4, 5))
    with pytest.raises(ValueError, match="different sizes"):
        rle.union([rle.empty(4, 4), rle.empty(5, 4)])
    with pytest.raises(ValueError, match="2-D"):
        rle.encode(np.zeros((2, 3, 4), bool))


def test_uncompressed_coco_rle_is_accepted():
    m = np.zeros((4, 3), bool)
    m[1:3, 1] = True
    # column-major runs: 5 zeros, 2 ones, 5 zeros
    converted = RLE.from_coco({"size": [4, 3], "counts": [5, 2, 5]})
    np.testing.assert_array_equal(rle.decode(converted), m)


@pytest.mark.parametrize("counts", ["garbage!!", "", "0", "35"])
def test_counts_that_do_not_cover_the_mask_are_rejected(counts):
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="counts: not a compressed COCO RLE of a 4x5 mask"):
        RLE(size=(4, 5), counts=counts)


def test_intersection_checks_sizes():
    with pytest.raises(ValueError, match="different sizes"):
        rle.intersection([rle.empty(4, 4), rle.empty(5, 4)])
