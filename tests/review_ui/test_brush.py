"""Label Studio brush RLE: ours against Label Studio's own codec, pixel-exact both ways."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from tests.review_ui.conftest import sdk
from videogcg.review_ui import brush


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 40).flatmap(lambda h: st.integers(1, 40).flatmap(lambda w: arrays(bool, (h, w)))))
def test_round_trip(mask):
    assert np.array_equal(brush.decode(brush.encode(mask), *mask.shape), mask)


def test_long_runs_are_split_at_the_field_limit():
    mask = np.ones((300, 300), bool)  # 360,000 equal RGBA values: runs longer than a 16-bit length field
    assert np.array_equal(brush.decode(brush.encode(mask), 300, 300), mask)


def test_same_bytes_and_pixels_as_label_studio():
    rng = np.random.default_rng(0)
    masks = [np.zeros((5, 7), bool), np.ones((9, 4), bool)]
    blob = np.zeros((61, 83), bool)
    blob[10:40, 20:70] = True
    blob[rng.random(blob.shape) > 0.95] = True
    masks.append(blob)
    theirs = sdk(
        {
            "command": "brush",
            "masks": [m.astype(int).tolist() for m in masks],
            "rles": [brush.encode(m) for m in masks],
            "sizes": [m.shape for m in masks],
        }
    )
    for mask, encoded, decoded in zip(masks, theirs["encoded"], theirs["decoded"]):
        assert encoded == brush.encode(mask)  # byte for byte what Label Studio writes
        assert np.array_equal(np.array(decoded, bool), mask)  # what Label Studio reads from ours
        assert np.array_equal(brush.decode(encoded, *mask.shape), mask)


def test_wrong_size_and_truncated_data_fail_clearly():
    encoded = brush.encode(np.ones((4, 4), bool))
    with pytest.raises(brush.BrushFormatError, match="holds 64 RGBA values, an image of 5x4 needs 80"):
        brush.decode(encoded, 4, 5)
    with pytest.raises(brush.BrushFormatError, match="ends at bit"):
        brush.decode(encoded[:-2], 4, 4)
