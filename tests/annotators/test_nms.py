import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from videogcg.annotators.nms import batched_nms, box_area, box_iou, nms


def boxes(*rows):
    return torch.tensor(rows, dtype=torch.float32)


def test_iou_of_known_boxes():
    a = boxes((0, 0, 10, 10))
    b = boxes((0, 0, 10, 10), (5, 0, 15, 10), (1, 1, 11, 11), (20, 20, 30, 30), (0, 0, 5, 5))
    expected = torch.tensor([[1.0, 50 / 150, 81 / 119, 0.0, 25 / 100]])
    torch.testing.assert_close(box_iou(a, b), expected)


def test_empty_and_inverted_boxes_have_zero_area_and_iou_not_nan():
    degenerate = boxes((3, 3, 3, 3), (5, 5, 2, 2))
    assert box_area(degenerate).tolist() == [0.0, 0.0]
    iou = box_iou(degenerate, degenerate)
    assert not iou.isnan().any() and (iou == 0).all()


def test_overlapping_lower_score_box_is_suppressed():
    b = boxes((0, 0, 10, 10), (1, 1, 11, 11), (20, 20, 30, 30))  # IoU(0, 1) = 0.68
    scores = torch.tensor([0.9, 0.8, 0.7])
    assert nms(b, scores, 0.5).tolist() == [0, 2]
    assert nms(b, scores, 0.7).tolist() == [0, 1, 2]


def test_result_is_ordered_by_decreasing_score():
    b = boxes((0, 0, 10, 10), (20, 20, 30, 30), (40, 40, 50, 50))
    assert nms(b, torch.tensor([0.1, 0.9, 0.5]), 0.5).tolist() == [1, 2, 0]


def test_greedy_suppressed_box_does_not_suppress_others():
    # A overlaps B, B overlaps C, A and C do not touch: A is kept, B goes, so C stays.
    b = boxes((0, 0, 10, 10), (5, 0, 15, 10), (10, 0, 20, 10))
    assert nms(b, torch.tensor([0.9, 0.8, 0.7]), 0.3).tolist() == [0, 2]


def test_the_highest_scoring_box_wins_whatever_its_index():
    b = boxes((0, 0, 10, 10), (1, 1, 11, 11))
    assert nms(b, torch.tensor([0.2, 0.9]), 0.5).tolist() == [1]


def test_ties_keep_the_lower_index():
    b = boxes((0, 0, 10, 10), (0, 0, 10, 10))
    assert nms(b, torch.tensor([0.5, 0.5]), 0.5).tolist() == [0]


def test_iou_equal_to_threshold_is_kept():
    b = boxes((0, 0, 10, 10), (0, 0, 10, 5))  # IoU 0.5 exactly
    assert nms(b, torch.tensor([0.9, 0.8]), 0.5).tolist() == [0, 1]


def test_empty_input():
    assert nms(torch.zeros((0, 4)), torch.zeros(0), 0.5).tolist() == []


def test_groups_never_suppress_each_other():
    b = boxes((0, 0, 10, 10), (1, 1, 11, 11), (0, 0, 10, 10), (1, 1, 11, 11))
    scores = torch.tensor([0.9, 0.8, 0.7, 0.95])
    groups = torch.tensor([0, 0, 1, 1])
    assert batched_nms(b, scores, groups, 0.5).tolist() == [3, 0]


def test_shape_errors_name_the_shapes():
    with pytest.raises(ValueError, match=r"\(N, 4\)"):
        nms(torch.zeros((3, 5)), torch.zeros(3), 0.5)
    with pytest.raises(ValueError, match="scores"):
        nms(torch.zeros((3, 4)), torch.zeros(2), 0.5)


def reference_nms(rows, scores, groups, threshold):
    """Textbook greedy NMS on Python lists."""

    def iou(a, b):
        w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
        h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
        union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - w * h
        return w * h / union if union > 0 else 0.0

    order = sorted(range(len(rows)), key=lambda i: (-scores[i], i))
    keep = []
    for i in order:
        if all(groups[i] != groups[k] or iou(rows[i], rows[k]) <= threshold for k in keep):
            keep.append(i)
    return keep


box_strategy = st.tuples(*[st.integers(0, 40)] * 2, *[st.integers(1, 25)] * 2).map(lambda b: (b[0], b[1], b[0] + b[2], b[1] + b[3]))


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(box_strategy, st.integers(0, 20), st.integers(0, 2)), max_size=25),
    st.sampled_from([0.0, 0.3, 0.5, 0.7, 1.0]),
)
def test_matches_textbook_greedy_nms(entries, threshold):
    rows = [list(map(float, b)) for b, _, _ in entries]
    scores = [s / 20 for _, s, _ in entries]  # coarse scores, so ties happen
    groups = [g for _, _, g in entries]
    kept = batched_nms(torch.tensor(rows).reshape(-1, 4), torch.tensor(scores), torch.tensor(groups, dtype=torch.long), threshold)
    assert kept.tolist() == reference_nms(rows, scores, groups, threshold)
