"""The real checkpoints named in configs/models.yaml, built from their configs without downloading."""

import json
from pathlib import Path

import pytest
import torch
import transformers
import yaml

from videogcg.annotators.registry import ModelSpec, family

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
MODELS = yaml.safe_load((CONFIGS / "models.yaml").read_text())


def build_on_meta(architecture: str, model_class: str):
    data = json.loads((CONFIGS / architecture).read_text())
    config = transformers.CONFIG_MAPPING[data.pop("model_type")](**{k: v for k, v in data.items() if k != "architectures"})
    with torch.device("meta"):  # shapes only: counts the parameters of a 1.5B model without allocating 6 GB
        return getattr(transformers, model_class)(config)


@pytest.mark.parametrize("annotator", sorted(MODELS))
def test_each_annotator_names_a_hub_checkpoint_of_its_family(annotator):
    entry = MODELS[annotator]
    assert ModelSpec.parse(entry["spec"]).scheme == "hf"
    data = json.loads((CONFIGS / entry["architecture"]).read_text())
    assert data["model_type"] in family(entry["family"]).model_types


@pytest.mark.slow
@pytest.mark.parametrize("annotator", sorted(MODELS))
def test_real_architecture_parameter_counts(annotator):
    entry = MODELS[annotator]
    model = build_on_meta(entry["architecture"], entry["model_class"])
    exact = entry["parameters"] % 100_000 != 0  # published exactly, or rounded ("172M")
    assert model.num_parameters() == (entry["parameters"] if exact else pytest.approx(entry["parameters"], rel=0.01))


@pytest.mark.slow
def test_real_vlm_geometry():
    model = build_on_meta(MODELS["captioner"]["architecture"], "LlavaForConditionalGeneration")
    vision = model.config.vision_config
    assert (vision.image_size, vision.patch_size, (vision.image_size // vision.patch_size) ** 2) == (384, 14, 729)
