import pytest

from videogcg.pipeline.compose import choose_expressions, compose_answer
from videogcg.pipeline.config import RunConfig
from videogcg.pipeline.frames import uniform_indices
from videogcg.pipeline.sources import SourceExpression


def test_choose_expressions_mentions_each_object_once_in_source_order():
    expressions = (
        SourceExpression("the two dogs", (1, 2)),
        SourceExpression("the brown dog", (1,)),
        SourceExpression("a cat", (3,)),
        SourceExpression("the white dog", (2,)),
    )
    assert [e.text for e in choose_expressions(expressions)] == ["the two dogs", "a cat"]


def test_compose_answer_spans_point_at_the_expressions():
    text, phrases = compose_answer(
        [SourceExpression("a cat", (3,)), SourceExpression("the two dogs", (1, 2)), SourceExpression("a man", (0,))]
    )
    assert text == "The video shows a cat, the two dogs and a man."
    assert [text[p.start : p.end] for p in phrases] == ["a cat", "the two dogs", "a man"]
    assert [p.object_ids for p in phrases] == [(3,), (1, 2), (0,)]


@pytest.mark.parametrize(
    "start, end, count, expected",
    [(0, 24, 6, (2, 6, 10, 14, 18, 22)), (0, 5, 8, (0, 1, 2, 3, 4)), (10, 20, 1, (15,)), (0, 7, 3, (1, 3, 5))],
)
def test_uniform_indices(start, end, count, expected):
    assert uniform_indices(start, end, count) == expected


def test_uniform_indices_rejects_empty_requests():
    with pytest.raises(ValueError, match="empty clip"):
        uniform_indices(5, 5, 2)
    with pytest.raises(ValueError, match="at least one"):
        uniform_indices(0, 5, 0)


def test_config_layers_defaults_yaml_and_overrides(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("num_frames: 4\nsamples_per_shard: 7\n")
    config = RunConfig.load(path, {"num_frames": 12, "source_name": None})
    assert (config.num_frames, config.samples_per_shard, config.crf) == (12, 7, 18)
    path.write_text("num_frame: 4\n")
    with pytest.raises(ValueError, match="num_frame"):
        RunConfig.load(path)


def test_shipped_config_equals_the_embedded_defaults():
    from pathlib import Path

    shipped = Path(__file__).resolve().parents[2] / "configs" / "run.yaml"
    assert RunConfig.load(shipped) == RunConfig()
