import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from videogcg.annotators import registry
from videogcg.annotators.clips import uniform_indices
from videogcg.annotators.grounder import (
    Detection,
    Grounder,
    GrounderConfig,
    GroundingResult,
    Prompt,
    phrase_token_mask,
    select_detections,
)
from videogcg.annotators.tiny import grounding_dino as tiny_grounding_dino
from videogcg.synthetic import random_scene, render

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def grounder(model_cache):
    grounder = Grounder(GrounderConfig(cache_dir=model_cache))
    grounder.load()
    return grounder


def with_config(grounder, **changes):
    """The same model (from the same cache) with other thresholds or batching."""
    return Grounder(dataclasses.replace(grounder.config, **changes))


def phrases_of(video):
    return [shape.noun_phrase for shape in video.spec.shapes]


def assert_same_detections(a, b, atol=1e-4):
    assert [(d.phrase_index, d.phrase, d.frame) for d in a] == [(d.phrase_index, d.phrase, d.frame) for d in b]
    np.testing.assert_allclose([d.box for d in a], [d.box for d in b], atol=atol)
    np.testing.assert_allclose([d.score for d in a], [d.score for d in b], atol=atol)


# The tiny checkpoint


def test_tiny_checkpoint_loads_strictly_with_a_working_tokenizer(model_cache):
    loaded = registry.load("tiny:grounding_dino", "grounding_dino", cache_dir=model_cache)
    assert type(loaded.model).__name__ == "GroundingDinoForObjectDetection"
    assert type(loaded.processor.image_processor).__name__ == "GroundingDinoImageProcessorPil"
    tokenizer = loaded.processor.tokenizer
    ids = tokenizer("A red square moves left. the purple triangle moving up.")["input_ids"]
    assert " ".join(tokenizer.convert_ids_to_tokens(ids)) == "[CLS] a red square moves left . the purple triangle moving up . [SEP]"
    assert "[UNK]" not in tokenizer.tokenize("an unusual xylophone")  # unknown words split into letters


def test_tiny_vocabulary_keeps_the_separator_ids_the_model_hard_codes(model_cache):
    from transformers.models.grounding_dino.modeling_grounding_dino import SPECIAL_TOKENS

    tokenizer = registry.load("tiny:grounding_dino", "grounding_dino", cache_dir=model_cache).processor.tokenizer
    assert tokenizer.convert_tokens_to_ids(["[CLS]", "[SEP]", ".", "?"]) == SPECIAL_TOKENS
    assert tokenizer.pad_token_id == 0


def test_tiny_build_is_reproducible(tmp_path):
    tiny_grounding_dino.build(tmp_path / "a")
    tiny_grounding_dino.build(tmp_path / "b")
    for name in ("model.safetensors", "config.json", "tokenizer.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


# Prompt and token spans


def test_prompt_joins_phrases_grounding_dino_style_with_exact_spans():
    prompt = Prompt.from_phrases(["a red square", "  the blue   circle ", "Mr. Smith?"])
    assert prompt.text == "a red square. the blue circle. Mr Smith."  # "." and "?" would split a phrase in two
    assert [prompt.text[s:e] for s, e in prompt.char_spans] == ["a red square", "the blue circle", "Mr Smith"]


def test_token_spans_cover_exactly_each_phrase(grounder):
    prompt = Prompt.from_phrases(["a red square", "an orange circle", "the purple triangle"])
    tokenizer = grounder.load().processor.tokenizer
    encoded = tokenizer(prompt.text, return_offsets_mapping=True, return_tensors="pt")
    mask = phrase_token_mask(encoded["offset_mapping"][0], prompt.char_spans)
    ids = encoded["input_ids"][0]
    assert [tokenizer.decode(ids[row]) for row in mask] == ["a red square", "an orange circle", "the purple triangle"]
    assert not mask.any(dim=0)[[0, -1]].any()  # [CLS] and [SEP] belong to no phrase
    assert not mask[:, ids == tokenizer.convert_tokens_to_ids(".")].any()


# Phrase/box assignment with hand-made model outputs

# "[CLS] a cat . a dog . [SEP]": phrase 0 is tokens 1-2, phrase 1 is tokens 4-5.
SPANS = torch.tensor([[0, 1, 1, 0, 0, 0, 0, 0], [0, 0, 0, 0, 1, 1, 0, 0]], dtype=torch.bool)
PHRASES = ["a cat", "a dog"]
LOW = -6.0  # sigmoid 0.0025


def logit(p):
    return float(np.log(p / (1 - p)))


def query(token_probabilities):
    """One query's logits over the 8 prompt tokens, then -inf padding as the model gives it up to max_text_len."""
    row = torch.full((12,), float("-inf"))
    row[:8] = LOW
    for token, p in token_probabilities.items():
        row[token] = logit(p)
    return row


def select(logits, boxes, frame_size=(100, 200), **config):
    config = GrounderConfig(**{"box_threshold": 0.35, "text_threshold": 0.25, "nms_iou": 0.5, **config})
    return select_detections(torch.stack(logits), torch.tensor(boxes), SPANS, PHRASES, 7, frame_size, config)


def test_hand_made_spans_are_the_tokenizers(grounder):
    prompt = Prompt.from_phrases(PHRASES)
    encoded = grounder.load().processor.tokenizer(prompt.text, return_offsets_mapping=True, return_tensors="pt")
    assert torch.equal(phrase_token_mask(encoded["offset_mapping"][0], prompt.char_spans), SPANS)


def test_each_box_goes_to_the_phrase_whose_tokens_it_scores():
    found = select([query({2: 0.9}), query({5: 0.8})], [[0.25, 0.25, 0.1, 0.1], [0.75, 0.75, 0.1, 0.1]])
    assert [(d.phrase_index, d.phrase, d.frame) for d in found] == [(0, "a cat", 7), (1, "a dog", 7)]
    assert found[0].score == pytest.approx(0.9) and found[1].score == pytest.approx(0.8)


def test_phrase_score_is_the_maximum_over_the_phrase_tokens():
    (found,) = select([query({1: 0.4, 2: 0.7})], [[0.5, 0.5, 0.2, 0.2]])
    assert found.score == pytest.approx(0.7)


def test_scores_on_separator_and_special_tokens_do_not_make_a_box():
    assert select([query({0: 0.99, 3: 0.99, 6: 0.99, 7: 0.99})], [[0.5, 0.5, 0.2, 0.2]]) == []


def test_box_threshold_applies_to_the_best_phrase_score():
    assert select([query({2: 0.34})], [[0.5, 0.5, 0.2, 0.2]]) == []
    assert len(select([query({2: 0.36})], [[0.5, 0.5, 0.2, 0.2]])) == 1


def test_a_box_is_a_detection_of_every_phrase_above_the_text_threshold():
    logits, box = [query({2: 0.6, 5: 0.3})], [[0.5, 0.5, 0.2, 0.2]]
    assert [(d.phrase_index, round(d.score, 3)) for d in select(logits, box)] == [(0, 0.6), (1, 0.3)]
    assert [d.phrase_index for d in select(logits, box, text_threshold=0.4)] == [0]


def test_boxes_are_scaled_to_the_original_frame_in_xywh():
    (found,) = select([query({2: 0.9})], [[0.5, 0.5, 0.5, 0.5]], frame_size=(100, 200))  # (height, width)
    assert found.box == pytest.approx((50.0, 25.0, 100.0, 50.0))


def test_boxes_are_clipped_to_the_frame_and_empty_ones_dropped():
    found = select([query({2: 0.9}), query({2: 0.8})], [[0.9, 0.1, 0.4, 0.4], [1.2, 0.5, 0.2, 0.2]])
    assert len(found) == 1
    assert found[0].box == pytest.approx((140.0, 0.0, 60.0, 30.0))


def test_nms_runs_per_phrase():
    overlapping = [[0.5, 0.5, 0.4, 0.4], [0.51, 0.5, 0.4, 0.4]]
    same_phrase = select([query({2: 0.9}), query({1: 0.8})], overlapping)
    assert [(d.phrase_index, round(d.score, 3)) for d in same_phrase] == [(0, 0.9)]
    other_phrase = select([query({2: 0.9}), query({5: 0.8})], overlapping)
    assert [d.phrase_index for d in other_phrase] == [0, 1]
    assert len(select([query({2: 0.9}), query({1: 0.8})], overlapping, nms_iou=1.0)) == 2


def test_at_most_max_detections_per_phrase_best_first():
    logits = [query({2: p}) for p in (0.5, 0.9, 0.7)]
    boxes = [[0.1, 0.1, 0.1, 0.1], [0.5, 0.5, 0.1, 0.1], [0.9, 0.9, 0.1, 0.1]]
    assert [round(d.score, 3) for d in select(logits, boxes, max_detections_per_phrase=2)] == [0.9, 0.7]


# Keyframes


def test_keyframes_are_the_centres_of_equal_segments():
    assert uniform_indices(0, 12, 3) == (2, 6, 10)
    assert uniform_indices(0, 12, 1) == (6,)
    assert uniform_indices(0, 2, 5) == (0, 1)
    assert uniform_indices(0, 24, 4) == (3, 9, 15, 21)


# End to end with the tiny model


def test_ground_finds_boxes_inside_the_frame(grounder, scene_video):
    frames = scene_video.frames
    height, width = frames.shape[1:3]
    result = grounder.ground(frames, phrases_of(scene_video))
    assert isinstance(result, GroundingResult) and result.detections
    assert result.keyframes == (2, 6, 10)
    for d in result.detections:
        assert isinstance(d, Detection) and d.phrase == phrases_of(scene_video)[d.phrase_index]
        x, y, w, h = d.box
        assert 0 <= x and 0 <= y and w > 0 and h > 0 and x + w <= width + 1e-4 and y + h <= height + 1e-4
        assert 0.0 <= d.score <= 1.0 and d.score > grounder.config.text_threshold
        assert d.frame in result.keyframes
    assert {d.frame for d in result.detections} == set(result.keyframes)  # every keyframe was looked at
    keys = [(d.frame, d.phrase_index, -d.score) for d in result.detections]
    assert keys == sorted(keys)


def test_ground_is_deterministic(grounder, scene_video, model_cache):
    phrases = phrases_of(scene_video)
    first = grounder.ground(scene_video.frames, phrases)
    assert first.detections, "nothing detected: determinism would hold trivially"
    assert_same_detections(first.detections, grounder.ground(scene_video.frames, phrases).detections, atol=0)
    fresh = Grounder(GrounderConfig(cache_dir=model_cache))
    assert_same_detections(first.detections, fresh.ground(scene_video.frames, phrases).detections, atol=0)


def test_thresholds_are_respected(grounder, scene_video):
    frames, phrases = scene_video.frames, phrases_of(scene_video)
    everything = with_config(grounder, box_threshold=0.0, text_threshold=0.0).ground(frames, phrases)
    assert everything.detections
    assert with_config(grounder, box_threshold=1.01).ground(frames, phrases).detections == ()
    assert with_config(grounder, text_threshold=1.01).ground(frames, phrases).detections == ()
    strict = with_config(grounder, box_threshold=0.0, text_threshold=0.99).ground(frames, phrases)
    assert all(d.score > 0.99 for d in strict.detections)
    assert len(strict.detections) <= len(everything.detections)


def test_max_detections_per_phrase_and_frame(grounder, scene_video):
    one = with_config(grounder, box_threshold=0.0, text_threshold=0.0, max_detections_per_phrase=1)
    result = one.ground(scene_video.frames, phrases_of(scene_video))
    pairs = [(d.frame, d.phrase_index) for d in result.detections]
    assert len(pairs) == len(set(pairs)) == len(result.keyframes) * 3


def test_provenance_names_the_model_and_the_thresholds(grounder, scene_video):
    result = grounder.ground(scene_video.frames, phrases_of(scene_video))
    provenance = result.provenance
    assert provenance.kind == "model" and provenance.name == "tiny:grounding_dino"
    assert provenance.revision.startswith("sha256:")
    parameters = provenance.parameters
    assert (parameters["box_threshold"], parameters["text_threshold"], parameters["nms_iou"]) == (0.35, 0.25, 0.5)
    assert parameters["keyframes"] == [2, 6, 10] and parameters["family"] == "grounding_dino"
    assert parameters["prompt"] == ". ".join(phrases_of(scene_video)) + "."
    json.dumps(provenance.model_dump(mode="json"))


def test_given_keyframes_are_the_only_frames_looked_at(grounder, scene_video):
    result = grounder.ground(scene_video.frames, phrases_of(scene_video), keyframes=[11, 0, 11])
    assert result.keyframes == (0, 11)
    assert {d.frame for d in result.detections} <= {0, 11}
    more = with_config(grounder, num_keyframes=6).ground(scene_video.frames, phrases_of(scene_video))
    assert more.keyframes == (1, 3, 5, 7, 9, 11)


def test_a_list_of_frames_gives_the_same_result_as_an_array(grounder, scene_video):
    phrases = phrases_of(scene_video)
    from_array = grounder.ground(scene_video.frames, phrases)
    from_list = grounder.ground(list(scene_video.frames), phrases)
    assert_same_detections(from_array.detections, from_list.detections, atol=0)


def test_batched_grounding_equals_one_by_one(grounder, scene_video):
    small = render(random_scene(np.random.default_rng(5), "small", width=96, height=80, num_frames=7))
    clips = [
        (scene_video.frames, phrases_of(scene_video)),
        (small.frames, ["a dog", "the purple triangle moving up"]),  # another size, another prompt length
        (scene_video.frames[:5], ["a red square"]),  # same size as the first: shares its forward passes
    ]
    one_by_one = [with_config(grounder, batch_size=1).ground(frames, phrases) for frames, phrases in clips]
    batched = with_config(grounder, batch_size=4).ground_batch(clips)
    assert len(batched) == len(clips)
    for alone, together in zip(one_by_one, batched):
        assert alone.keyframes == together.keyframes
        assert alone.provenance.parameters == together.provenance.parameters
        assert_same_detections(alone.detections, together.detections)


def test_bfloat16_runs(grounder, scene_video, model_cache):
    half = Grounder(GrounderConfig(cache_dir=model_cache, dtype="bfloat16", box_threshold=0.0, text_threshold=0.0))
    result = half.ground(scene_video.frames, phrases_of(scene_video), keyframes=[0])
    assert result.detections and result.provenance.parameters["dtype"] == "bfloat16"
    assert all(0.0 <= d.score <= 1.0 for d in result.detections)


# Errors


def test_no_phrases_is_an_error(grounder, scene_video):
    with pytest.raises(ValueError, match="phrases is empty"):
        grounder.ground(scene_video.frames, [])
    with pytest.raises(ValueError, match=r"phrase 1 \('  '\) is empty"):
        grounder.ground(scene_video.frames, ["a dog", "  "])
    with pytest.raises(TypeError, match="list of strings"):
        grounder.ground(scene_video.frames, "a dog")


def test_frames_of_different_sizes_name_the_frame(grounder, scene_video):
    frames = list(scene_video.frames[:3]) + [scene_video.frames[3, :60]]
    with pytest.raises(ValueError, match="frame 3 is 160x60 but frame 0 is 160x120"):
        grounder.ground(frames, ["a dog"])


@pytest.mark.parametrize(
    "make_frames, message",
    [
        (lambda f: f.astype(np.float32), "uint8"),
        (lambda f: f[..., 0], r"\(T, H, W, 3\)"),
        (lambda f: f[:0], r"T, H, W >= 1"),
        (lambda f: f[:, :0], r"T, H, W >= 1"),
        (lambda f: [f[0], f[1].astype(np.int64)], "frame 1 of frames must be an \\(H, W, 3\\) uint8"),
        (lambda f: [], "frames is empty"),
    ],
)
def test_frames_must_be_uint8_rgb(grounder, scene_video, make_frames, message):
    with pytest.raises(ValueError, match=message):
        grounder.ground(make_frames(scene_video.frames), ["a dog"])


def test_keyframes_outside_the_clip_are_an_error(grounder, scene_video):
    with pytest.raises(ValueError, match=r"keyframe 12 is outside the clip \(frames 0 to 11\)"):
        grounder.ground(scene_video.frames, ["a dog"], keyframes=[0, 12])
    with pytest.raises(ValueError, match="keyframe -1"):
        grounder.ground(scene_video.frames, ["a dog"], keyframes=[-1])
    with pytest.raises(ValueError, match="keyframes is empty"):
        grounder.ground(scene_video.frames, ["a dog"], keyframes=[])
    with pytest.raises(TypeError, match="integers"):
        grounder.ground(scene_video.frames, ["a dog"], keyframes=[1.5])


def test_batch_errors_name_the_clip(grounder, scene_video):
    with pytest.raises(ValueError, match="clip 1: phrases is empty"):
        grounder.ground_batch([(scene_video.frames, ["a dog"]), (scene_video.frames, [])])
    with pytest.raises(ValueError, match="keyframes for 1 clips, but 2"):
        grounder.ground_batch([(scene_video.frames, ["a dog"])] * 2, keyframes=[None])


def test_a_prompt_longer_than_the_model_reads_is_an_error(grounder, scene_video):
    with pytest.raises(ValueError, match="reads at most 256"):
        grounder.ground(scene_video.frames, ["a red square moving left"] * 60, keyframes=[0])


@pytest.mark.parametrize(
    "field, value",
    [("box_threshold", -0.1), ("nms_iou", 1.5), ("num_keyframes", 0), ("batch_size", 0), ("max_detections_per_phrase", 0)],
)
def test_config_rejects_nonsense(field, value):
    with pytest.raises(ValueError, match=field):
        GrounderConfig(**{field: value})


# The real architecture


@pytest.mark.slow
def test_real_grounding_dino_tiny_architecture_from_config():
    from transformers import GroundingDinoConfig, GroundingDinoForObjectDetection

    config = GroundingDinoConfig.from_json_file(REPO / "configs" / "models" / "grounding-dino-tiny.json")
    swin, bert = config.backbone_config, config.text_config
    assert (swin.model_type, swin.embed_dim, swin.depths, swin.num_heads) == ("swin", 96, [2, 2, 6, 2], [3, 6, 12, 24])
    assert (bert.model_type, bert.hidden_size, bert.num_hidden_layers, bert.vocab_size) == ("bert", 768, 12, 30522)
    assert (config.num_queries, config.d_model, config.encoder_layers, config.decoder_layers) == (900, 256, 6, 6)
    torch.manual_seed(0)
    model = GroundingDinoForObjectDetection(config).eval()
    assert model.num_parameters() == pytest.approx(172e6, rel=0.01)
    with torch.inference_mode():
        outputs = model(pixel_values=torch.randn(1, 3, 224, 224), input_ids=torch.tensor([[101, 1037, 4937, 1012, 102]]))
    assert outputs.logits.shape == (1, 900, 256) and outputs.pred_boxes.shape == (1, 900, 4)
