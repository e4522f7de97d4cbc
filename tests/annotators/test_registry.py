import json
import os

import pytest
import torch

from videogcg.annotators import registry
from videogcg.annotators.registry import ModelLoadError, ModelSpec, ModelSpecError, load


@pytest.mark.parametrize(
    "text, expected",
    [
        ("hf:IDEA-Research/grounding-dino-tiny", ModelSpec("hf", "IDEA-Research/grounding-dino-tiny")),
        ("hf:facebook/sam2.1-hiera-tiny@abc123", ModelSpec("hf", "facebook/sam2.1-hiera-tiny", "abc123")),
        ("tiny:vlm", ModelSpec("tiny", "vlm")),
        ("/models/x", ModelSpec("local", "/models/x")),
        ("./x", ModelSpec("local", "./x")),
        ("local:rel/dir", ModelSpec("local", "rel/dir")),
    ],
)
def test_spec_parsing_round_trips(text, expected):
    spec = ModelSpec.parse(text)
    assert spec == expected
    assert ModelSpec.parse(str(spec)) == spec


@pytest.mark.parametrize("text", ["gpt-4o", "hf:", "hf:a/b/c", "tiny:"])
def test_unknown_specs_are_errors_that_name_the_spec(text):
    with pytest.raises(ModelSpecError, match="spec"):
        ModelSpec.parse(text)


def test_tiny_model_loads_through_from_pretrained_with_provenance(model_cache):
    loaded = load("tiny:text_llm", "text_llm", cache_dir=model_cache)
    assert type(loaded.model).__name__ == "Qwen2ForCausalLM"
    assert (registry.tiny_checkpoint("text_llm", model_cache) / "model.safetensors").is_file()
    assert registry.tiny_checkpoint("text_llm", model_cache).name == f"text_llm-{registry.tiny_builders_hash()}"
    assert not loaded.model.training
    provenance = loaded.provenance(temperature=0.0)
    assert provenance.kind == "model" and provenance.name == "tiny:text_llm"
    assert provenance.revision.startswith("sha256:")
    assert provenance.parameters == {"family": "text_llm", "dtype": "float32", "temperature": 0.0}


def test_tiny_checkpoint_is_built_once_and_is_deterministic(model_cache, tmp_path):
    first = registry.tiny_checkpoint("text_llm", model_cache)
    stamp = (first / "model.safetensors").stat().st_mtime_ns
    assert registry.tiny_checkpoint("text_llm", model_cache) == first
    assert (first / "model.safetensors").stat().st_mtime_ns == stamp
    again = registry.tiny_checkpoint("text_llm", tmp_path)  # built anew elsewhere: same weights
    a = load(f"local:{first}", "text_llm").model.state_dict()
    b = load(f"local:{again}", "text_llm").model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_bfloat16_dtype(model_cache):
    loaded = load("tiny:text_llm", "text_llm", dtype="bfloat16", cache_dir=model_cache)
    assert next(loaded.model.parameters()).dtype == torch.bfloat16
    assert loaded.provenance().parameters["dtype"] == "bfloat16"


def test_wrong_family_and_wrong_architecture_are_errors(model_cache):
    with pytest.raises(ModelSpecError, match="tiny:vlm is not a text_llm model"):
        load("tiny:vlm", "text_llm", cache_dir=model_cache)
    path = registry.tiny_checkpoint("text_llm", model_cache)
    with pytest.raises(ModelLoadError, match=r"'qwen2' checkpoint; family vlm needs one of"):
        load(f"local:{path}", "vlm")
    with pytest.raises(ModelSpecError, match="unknown model family 'sam3'"):
        load("tiny:sam3", "sam3")
    with pytest.raises(ModelSpecError, match="unknown dtype"):
        load("tiny:text_llm", "text_llm", dtype="int3", cache_dir=model_cache)


def test_missing_directory_is_an_error(tmp_path):
    with pytest.raises(ModelSpecError, match="not a checkpoint directory"):
        load(f"local:{tmp_path}", "text_llm")


def test_missing_weights_are_an_error_not_a_warning(model_cache, tmp_path):
    from safetensors.torch import load_file, save_file

    loaded = load("tiny:text_llm", "text_llm", cache_dir=model_cache)
    loaded.model.save_pretrained(tmp_path)
    weights = load_file(tmp_path / "model.safetensors")
    dropped = next(k for k in weights if "layers.1.mlp" in k)
    del weights[dropped]
    save_file(weights, tmp_path / "model.safetensors", metadata={"format": "pt"})
    with pytest.raises(ModelLoadError, match=dropped):
        load(f"local:{tmp_path}", "text_llm")


def test_mis_shaped_weights_are_an_error(model_cache, tmp_path):
    loaded = load("tiny:text_llm", "text_llm", cache_dir=model_cache)
    loaded.model.save_pretrained(tmp_path)
    loaded.processor.save_pretrained(tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    config["intermediate_size"] = 48
    (tmp_path / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelLoadError, match="cannot load into the text_llm architecture"):
        load(f"local:{tmp_path}", "text_llm")


def test_hub_specs_stay_offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelSpecError, match="hf:nobody/not-cached"):
        load("hf:nobody/not-cached", "text_llm")


def test_a_tiny_checkpoint_published_by_another_process_meanwhile_is_used(tmp_path, monkeypatch):
    """Two workers build the same tiny checkpoint at once: the one that renames second finds the folder there
    (the rename fails on a non-empty folder) and uses it, instead of failing its first video."""
    real_replace = os.replace
    target = tmp_path / "tiny" / f"text_llm-{registry.tiny_builders_hash()}"

    def competitor_first(source, destination):
        target.mkdir()
        (target / "config.json").write_text("{}")  # the other worker's checkpoint, published just now
        real_replace(source, destination)

    monkeypatch.setattr(registry.os, "replace", competitor_first)
    assert registry.tiny_checkpoint("text_llm", tmp_path) == target
    assert (target / "config.json").read_text() == "{}"  # theirs is kept
    assert [p.name for p in target.parent.iterdir()] == [target.name]  # our staging folder is gone
