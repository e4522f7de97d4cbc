"""Teacher-forced segmentation scores: the wiring from predicted masks to the matched mIoU."""

import json

import numpy as np
import pytest
import torch

from videogcg.model import predict
from videogcg.model.data import ShardExamples
from videogcg.model.inputs import sample_indices


@pytest.fixture
def held_out(gcg_dataset):
    return list(ShardExamples.from_directories([gcg_dataset]))[:5]


def test_true_masks_score_one_and_empty_masks_zero(tiny_model, held_out, monkeypatch):
    model, encoder = tiny_model
    frames = sample_indices(len(held_out[0].frames), encoder.config.sam_frames)
    by_key = {e.key: e.masks[: encoder.config.max_masks][:, frames].astype(bool) for e in held_out}
    # the true masks in reverse order: matching pairs them back
    monkeypatch.setattr(predict, "segment", lambda model, encoder, encoded: [by_key[e.key][::-1] for e in encoded])
    perfect = predict.evaluate_segmentation(model, encoder, held_out, batch_size=2)
    assert (perfect.miou, perfect.samples, perfect.skipped) == (1.0, 5, 0)
    monkeypatch.setattr(predict, "segment", lambda model, encoder, encoded: [np.zeros_like(by_key[e.key]) for e in encoded])
    assert predict.evaluate_segmentation(model, encoder, held_out).miou == 0.0


def test_segment_gives_boolean_masks_at_the_clips_frame_size(tiny_model, held_out):
    model, encoder = tiny_model
    masks = predict.segment(model, encoder, [encoder(e) for e in held_out[:2]])
    for example, predicted in zip(held_out, masks):
        assert predicted.dtype == bool
        assert predicted.shape == (len(example.masks), encoder.config.sam_frames, *example.frames.shape[1:3])


@pytest.fixture
def generating(tiny_model, monkeypatch):
    """The tiny model, its LLM made to 'generate' a given markup (what generation returns is HF's business;
    what we do with it is ours)."""
    model, encoder = tiny_model

    def generate_as(markup: str):
        ids = encoder.tokenizer(markup, add_special_tokens=False)["input_ids"] + [encoder.tokenizer.eos_token_id]
        monkeypatch.setattr(model.llm, "generate", lambda **kwargs: torch.tensor([ids]))

    return model, encoder, generate_as


def test_answer_parses_the_generated_markup_and_masks_every_frame(generating, held_out):
    model, encoder, generate_as = generating
    generate_as("<p> the red square </p> [SEG] moves left of <p> a blue circle </p> [SEG].")
    frames = held_out[0].frames
    result = predict.answer(model, encoder, held_out[0].question, frames)
    assert result.text == "the red square moves left of a blue circle."
    assert [(s.text, s.start, s.end) for s in result.phrases] == [("the red square", 0, 14), ("a blue circle", 29, 42)]
    assert result.masks.shape == (2, *frames.shape[:3]) and result.masks.dtype == bool
    assert result.scores.shape == (2, len(frames))


@pytest.mark.parametrize("markup", ["<p> a square moving [SEG]", "<p> a square </p> [SEG] and <p> a circle </p> moving"])
def test_unreadable_markup_or_a_missing_seg_gives_text_without_phrases(generating, held_out, markup):
    model, encoder, generate_as = generating
    generate_as(markup)
    result = predict.answer(model, encoder, held_out[0].question, held_out[0].frames)
    assert result.phrases == () and result.masks.shape[0] == 0 and result.text


def test_predict_writes_answers_that_eval_scores(gcg_dataset, model_cache, tmp_path):
    from typer.testing import CliRunner

    from videogcg.cli import app
    from videogcg.shards import iter_dataset

    runner = CliRunner()
    trained = runner.invoke(
        app, ["train", "--shards", str(gcg_dataset), "--output", str(tmp_path / "run"), f"cache_dir={model_cache}", "optim.steps=2"]
    )
    assert trained.exit_code == 0, trained.output
    predicted = runner.invoke(
        app,
        [
            "predict",
            "--model",
            str(tmp_path / "run"),
            "--input",
            str(gcg_dataset),
            "--output",
            str(tmp_path / "pred"),
            "--max-new-tokens",
            "6",
        ],
    )
    assert predicted.exit_code == 0, predicted.output
    assert "12 answers" in predicted.output
    answers = {s.key: s for s in iter_dataset(tmp_path / "pred", decode=False)}
    references = {s.key: s for s in iter_dataset(gcg_dataset, decode=False)}
    assert sorted(answers) == sorted(references)
    for key, sample in answers.items():
        assert sample.conversation[0].question == references[key].conversation[0].question
        assert sample.conversation[0].answer.provenance.name == "videogcg-grounding:run"
        assert len(sample.objects) == len(sample.conversation[0].phrases)
    scored = runner.invoke(
        app,
        [
            "eval",
            "--predictions",
            str(tmp_path / "pred"),
            "--references",
            str(gcg_dataset),
            "--text-encoder",
            "tiny:text_encoder",
            "--cache-dir",
            model_cache,
            "--json",
        ],
    )
    assert scored.exit_code == 0, scored.output
    assert json.loads(scored.output)["samples"] == 12


def test_predict_refuses_a_run_without_weights(tmp_path):
    from videogcg.model.inference import load_trained

    with pytest.raises(FileNotFoundError, match="no trained weights"):
        load_trained(tmp_path)


def test_the_chat_templates_end_of_turn_stops_generation(tiny_model):
    _, encoder = tiny_model
    assert encoder.tokenizer.convert_tokens_to_ids("<|im_end|>") in encoder.stop_ids()


def test_a_predicted_sample_has_an_object_per_phrase_with_a_mask_per_frame(generating, gcg_dataset):
    from videogcg.model.inference import predicted_sample
    from videogcg.schemas import Provenance
    from videogcg.shards import iter_dataset

    model, encoder, generate_as = generating
    generate_as("<p> the red square </p> [SEG] moves left of <p> a blue circle </p> [SEG].")
    item = next(iter(iter_dataset(gcg_dataset)))
    provenance = Provenance(kind="model", name="videogcg-grounding:test")
    sample = predicted_sample(item.sample, item.frames, model, encoder, provenance, max_new_tokens=32)
    turn = sample.conversation[0]
    assert turn.answer.text == "the red square moves left of a blue circle." and turn.question == item.sample.conversation[0].question
    assert [(p.text, p.object_ids) for p in turn.phrases] == [("the red square", (0,)), ("a blue circle", (1,))]
    assert [o.label for o in sample.objects] == ["the red square", "a blue circle"]
    assert all(len(o.masks) == len(item.sample.clip.frame_indices) for o in sample.objects)
    assert sample.key == item.sample.key and sample.meta["generated"].startswith("<p> the red square </p> [SEG]")
