import pytest

from tests.annotators.teaching import teach_text_llm
from videogcg.annotators.prompts import Prompts
from videogcg.annotators.refiner import CaptionRefiner, RefinementRequest, check_tags
from videogcg.schemas import MarkupError
from videogcg.schemas.markup import parse_bracketed

ORIGINAL = parse_bracketed("[a man](0) walks [two dogs](1, 2).")
IDS = {0, 1, 2}


def test_reworded_caption_with_the_same_tags_passes():
    parsed = check_tags(ORIGINAL, "In the park, [a tall man](0) is walking [his two small dogs](2, 1).", IDS)
    assert [s.text for s in parsed.spans] == ["a tall man", "his two small dogs"]


@pytest.mark.parametrize(
    "candidate, error",
    [
        ("[a man](0) walks two dogs.", r"tags lost: \[\(1, 2\)\]"),
        ("[a man](0) walks [two dogs](1, 2) with [a dog](1).", r"tags invented: \[\(1,\)\]"),
        ("[a man](0) walks [a dog](1) and [a dog](2).", r"tags lost: \[\(1, 2\)\]; tags invented: \[\(1,\), \(2,\)\]"),
        ("[a man](0) walks [two dogs](1, 7).", "object id 7 has no track"),
        ("[a man](0) walks [two dogs(1, 2).", "unbalanced"),
    ],
)
def test_tag_problems_are_named(candidate, error):
    with pytest.raises(ValueError, match=error):
        check_tags(ORIGINAL, candidate, IDS)


def test_bad_input_caption_is_an_error_before_any_model_call(model_cache):
    refiner = CaptionRefiner(cache_dir=model_cache)
    with pytest.raises(MarkupError, match="object id 5 has no track"):
        refiner.refine([RefinementRequest("[a cat](5) sleeps", frozenset({0}))])


def test_random_tiny_model_never_validates_and_is_rejected_with_a_reason(model_cache):
    refiner = CaptionRefiner(cache_dir=model_cache, max_new_tokens=8, max_attempts=2)
    [result] = refiner.refine([RefinementRequest("[a man](0) walks.", frozenset({0}))])
    assert result.markup is None and result.parsed is None
    assert result.attempts == 2 and "tags lost" in result.reason
    assert result.provenance.name == "tiny:text_llm"


def test_refiner_keeps_tags_of_a_real_reply(model_cache, tmp_path):
    request = RefinementRequest("[a man](0) walks [a dog](1).", frozenset({0, 1}), context="a person with a pet outdoors")
    prompt = Prompts.load().caption_refinement.format(caption=request.caption, context=f"Reference descriptions: {request.context}\n")
    reply = "Outdoors, [a man in a coat](0) slowly walks [his brown dog](1) along a path."
    spec = teach_text_llm([(prompt, reply)], tmp_path / "taught", model_cache)
    [result] = CaptionRefiner(model=spec, max_new_tokens=96).refine([request])
    assert result.reason is None and result.attempts == 1
    assert result.markup == reply
    assert [(s.text, s.object_ids) for s in result.parsed.spans] == [("a man in a coat", (0,)), ("his brown dog", (1,))]


def test_refiner_and_extractor_can_share_one_loaded_model(model_cache):
    from videogcg.annotators.phrases import LLMPhraseExtractor
    from videogcg.annotators.registry import load

    loaded = load("tiny:text_llm", "text_llm", cache_dir=model_cache)
    refiner = CaptionRefiner.from_loaded(loaded, max_attempts=1)
    extractor = LLMPhraseExtractor.from_loaded(loaded, max_attempts=1)
    assert refiner.load() is extractor.load() is loaded
    with pytest.raises(ValueError, match="needs a vlm model"):
        __import__("videogcg.annotators.captioner", fromlist=["Captioner"]).Captioner.from_loaded(loaded)
