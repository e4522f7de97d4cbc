"""The evaluation metrics against values worked out by hand on small cases."""

import math

import numpy as np
import pytest

from videogcg.model.evaluation import boundary_f, cider_d, greedy_pairs, j_and_f, mask_iou, miou, region_j
from videogcg.model.evaluation.gcg import evaluate, recall_matches
from videogcg.model.evaluation.text import EncoderSimilarity


def box(shape, y0, y1, x0, x1):
    mask = np.zeros(shape, bool)
    mask[..., y0:y1, x0:x1] = True
    return mask


def test_video_level_iou_counts_every_frame():
    a, b = np.zeros((2, 4, 4), bool), np.zeros((2, 4, 4), bool)
    a[0, :2, :2] = True  # 4 pixels on frame 0
    b[0, :2, 1:3] = True  # 4 pixels on frame 0, 2 shared
    b[1, 3, 3] = True  # 1 more pixel on frame 1
    assert mask_iou(a, b) == pytest.approx(2 / 7)
    assert mask_iou(a, np.zeros_like(a)) == 0.0 and mask_iou(np.zeros_like(a), np.zeros_like(a)) == 0.0


def test_greedy_matching_takes_the_best_pair_first_not_the_best_total():
    scores = np.array([[0.9, 0.8], [0.85, 0.1]])
    assert greedy_pairs(scores) == [(0, 0), (1, 1)]  # 0.9 + 0.1, where (0,1) + (1,0) would give 0.8 + 0.85
    assert greedy_pairs(scores, minimum=0.5) == [(0, 0)]
    assert greedy_pairs(scores, admissible=np.array([[False, True], [True, True]])) == [(1, 0), (0, 1)]


def test_miou_averages_matched_pairs_only():
    shape = (1, 10, 10)
    truth = [box(shape, 0, 4, 0, 4), box(shape, 6, 10, 6, 10)]  # 16 px each
    predicted = [box(shape, 0, 4, 0, 2), box(shape, 6, 10, 6, 10), box(shape, 0, 1, 9, 10)]  # 8 px inside the first, exact second, a stray
    assert miou(predicted, truth) == pytest.approx((0.5 + 1.0) / 2)  # the stray is left unmatched, not penalised
    assert miou([], truth) == 0.0


def test_cider_d_by_hand():
    # two images, so every n-gram seen in one image's references has idf log(2/1)
    corpus, scores = cider_d(["a b", "c d"], [["a b"], ["e f"]])
    # image 1: unigrams and the bigram have cosine 1 (no tri- or 4-grams): (1 + 1 + 0 + 0) / 4 * 10
    assert scores == pytest.approx([5.0, 0.0]) and corpus == pytest.approx(2.5)
    # clipping: candidate "a a" against "a b": tf-idf (2L) vs (L, L), L = log 2 -> min(2L, L) * L / (2L * sqrt(2) L)
    _, scores = cider_d(["a a", "c d"], [["a b"], ["e f"]])
    assert scores[0] == pytest.approx(1 / (2 * math.sqrt(2)) / 4 * 10)
    # a length difference of 6 words costs exp(-36 / 72)
    _, scores = cider_d(["a b", "c d"], [["a b", "a b x y z w v u"], ["e f"]])
    assert scores[0] < 5.0
    with pytest.raises(ValueError, match="2 candidates for 1 sets"):
        cider_d(["a", "b"], [["a"]])


def test_region_j_and_boundary_f_by_hand():
    truth = np.zeros((3, 100, 100), bool)
    predicted = np.zeros_like(truth)
    truth[0, 20:40, 20:40] = predicted[0, 20:40, 20:40] = True  # identical
    # frame 1: both empty (J = F = 1); frame 2: far apart (J = F = 0)
    truth[2, 10:20, 10:20] = True
    predicted[2, 70:80, 70:80] = True
    assert region_j(predicted, truth) == pytest.approx(2 / 3)
    assert boundary_f(predicted, truth) == pytest.approx(2 / 3)
    # shifted by one pixel: the boundaries lie within the tolerance (ceil(0.008 * 141.4) = 2 px), the regions do not coincide
    shifted = box((100, 100), 21, 41, 20, 40)
    assert boundary_f(shifted, truth[0]) == 1.0 and region_j(shifted, truth[0]) == pytest.approx(19 * 20 / (21 * 20))
    j, f, jf = j_and_f(shifted, truth[0])
    assert jf == pytest.approx((j + f) / 2)


def test_recall_needs_both_mask_and_text_agreement():
    shape = (1, 10, 10)
    truth = [box(shape, 0, 5, 0, 5), box(shape, 5, 10, 5, 10)]
    predicted = [box(shape, 0, 5, 0, 5), box(shape, 5, 10, 5, 10)]
    texts = {("the red square", "a dog"): 0.1, ("the blue circle", "the blue ball"): 0.8}

    def similarity(a, b):
        return texts.get((a, b), 0.0)

    found = recall_matches(predicted, ["a dog", "the blue ball"], truth, ["the red square", "the blue circle"], similarity)
    assert found == 1  # the first pair's masks agree but its phrases do not


def test_encoder_similarity_loads_through_the_registry(tmp_path):
    similarity = EncoderSimilarity("tiny:text_encoder", cache_dir=str(tmp_path))
    assert similarity("the red square", "the red square") == pytest.approx(1.0)
    assert similarity("the red square", "a blue circle") == pytest.approx(similarity("a blue circle", "the red square"))
    assert similarity.embedding("a dog").shape == (32,)


def test_a_dataset_against_itself_and_against_nothing(gcg_dataset, tmp_path):
    similarity = EncoderSimilarity("tiny:text_encoder", cache_dir=str(tmp_path / "models"))
    same = evaluate(gcg_dataset, gcg_dataset, similarity)
    assert (same.samples, same.referring, same.missing_predictions) == (12, 4, 0)
    assert same.miou == pytest.approx(1.0) and same.recall == pytest.approx(1.0) and same.j_and_f == pytest.approx(1.0)
    assert same.cider > 0.5
    (tmp_path / "empty").mkdir()
    nothing = evaluate(tmp_path / "empty", gcg_dataset, similarity)
    assert (nothing.missing_predictions, nothing.miou, nothing.recall, nothing.cider) == (12, 0.0, 0.0, 0.0)
    assert nothing.j < 0.5 and nothing.j_and_f < same.j_and_f


def test_eval_command(gcg_dataset, tmp_path):
    import json

    from typer.testing import CliRunner

    from videogcg.cli import app

    args = ["eval", "--predictions", str(gcg_dataset), "--references", str(gcg_dataset), "--text-encoder", "tiny:text_encoder"]
    result = CliRunner().invoke(app, [*args, "--cache-dir", str(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["miou"] == pytest.approx(1.0)
    result = CliRunner().invoke(app, [*args, "--by", "frame"])
    assert result.exit_code != 0 and "use key or clip" in result.output
