"""Answers, frame choice and config layering: the plain logic under the pipeline."""

import pytest

from videogcg.annotators.clips import uniform_indices
from videogcg.pipeline.frames import sampled_indices
from videogcg.pipeline.grounded_answer import caption_answer, choose_expressions, listing_answer
from videogcg.pipeline.settings import ConfigError, PipelineConfig
from videogcg.pipeline.sources import SourceCaption, SourceExpression, SourcePhrase


def test_choose_expressions_mentions_each_object_once_in_source_order():
    expressions = (
        SourceExpression("the two dogs", (1, 2)),
        SourceExpression("the brown dog", (1,)),
        SourceExpression("a cat", (3,)),
        SourceExpression("the white dog", (2,)),
    )
    assert [e.text for e in choose_expressions(expressions)] == ["the two dogs", "a cat"]


def test_listing_answer_spans_point_at_the_mentions():
    text, phrases = listing_answer([("a cat", (3,)), ("the two dogs", (1, 2)), ("a man", (0,))])
    assert text == "The video shows a cat, the two dogs and a man."
    assert [text[p.start : p.end] for p in phrases] == ["a cat", "the two dogs", "a man"]
    assert [p.object_ids for p in phrases] == [(3,), (1, 2), (0,)]


def test_caption_answer_grounds_only_known_objects_and_skips_bad_spans():
    caption = SourceCaption(
        "A man walks a dog past a cat.",
        (SourcePhrase(0, 5, (0,)), SourcePhrase(12, 17, (1, 9)), SourcePhrase(13, 17, (1,)), SourcePhrase(23, 28, (7,))),
    )
    text, phrases = caption_answer(caption, {0, 1})
    assert text == caption.text
    assert [(p.text, p.object_ids) for p in phrases] == [("A man", (0,)), ("a dog", (1,))]  # overlap and unknown id dropped


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


def test_sampling_policies():
    assert sampled_indices(0, 24, 10.0, "count", 6, 2.0, 32) == (2, 6, 10, 14, 18, 22)
    assert sampled_indices(0, 100, 10.0, "fps", 8, 2.0, 32) == uniform_indices(0, 100, 20)  # 10 s at 2 frames/s
    assert len(sampled_indices(0, 1000, 10.0, "fps", 8, 2.0, 32)) == 32  # capped
    assert sampled_indices(5, 25, 10.0, "all", 8, 2.0, 40) == tuple(range(5, 25))  # every frame (MeViS, VideoGLaMM)
    assert sampled_indices(0, 80, 10.0, "all", 8, 2.0, 40) == tuple(range(1, 80, 2))  # thinned to 40 (YouTube-VIS)
    config = PipelineConfig.load(overrides=["sampling.policy=all", "sampling.max_frames=40"])
    assert config.sampling.indices(0, 80, 10.0) == tuple(range(1, 80, 2))  # what the run and `plan` both call
    with pytest.raises(ValueError, match="unknown sampling policy"):
        sampled_indices(0, 10, 10.0, "random", 4, 2.0, 32)


def test_config_layers_defaults_yaml_and_overrides(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("sampling:\n  num_frames: 4\noutput:\n  videos_per_shard: 7\n")
    config = PipelineConfig.load(path, ["sampling.num_frames=12", "models.device=cuda"])
    assert (config.sampling.num_frames, config.output.videos_per_shard, config.output.crf) == (12, 7, 18)
    assert config.models.device == "cuda"
    path.write_text("sampling:\n  num_frame: 4\n")
    with pytest.raises(ConfigError, match=r"^sampling\.num_frame: Extra inputs"):
        PipelineConfig.load(path)
    with pytest.raises(ConfigError, match=r"^models\.box_threshold: "):
        PipelineConfig.load(None, ["models.box_threshold=high"])
    with pytest.raises(ConfigError, match="expected key=value"):
        PipelineConfig.load(None, ["models.device"])
