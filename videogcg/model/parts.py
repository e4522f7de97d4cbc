"""The model's parts, each loaded through the annotators' model registry (so `tiny:`, local and `hf:` specs
behave as they do there), or built on the meta device from architecture configs to count parameters.

Every part is resolved and its config checked before any part's weights load, so a config naming an
unknown or mismatched part fails at once, naming the part.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from videogcg.annotators import registry
from videogcg.model.config import PartsConfig

logger = logging.getLogger(__name__)

# Which registry family each part is.
PART_FAMILIES = {"image_encoder": "image_encoder", "video_encoder": "video_encoder", "llm": "text_llm", "mask_decoder": "sam2_video"}
# CLIP's normalisation, for checkpoints that ship no preprocessor config.
DEFAULT_MEAN = (0.48145466, 0.4578275, 0.40821073)
DEFAULT_STD = (0.26862954, 0.26130258, 0.27577711)
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class PartError(ValueError):
    """A part that cannot be used; the message starts with the config key (model.parts.<part>)."""


@dataclass(frozen=True)
class Normalisation:
    """How frames are prepared for an encoder: square size and per-channel mean / std on [0, 1] pixels."""

    size: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]


@dataclass
class Parts:
    image_encoder: nn.Module
    video_encoder: nn.Module
    llm: nn.Module
    sam: nn.Module  # a Sam2VideoModel: its image encoder and mask decoder are used, not its memory
    tokenizer: Any | None  # None on the meta device
    image_input: Normalisation
    video_input: Normalisation
    sam_input: Normalisation
    revisions: dict[str, str]  # part -> "spec@revision", recorded with checkpoints


def resolve_parts(config: PartsConfig, cache_dir: str | None = None) -> dict[str, registry.ResolvedSpec]:
    resolved = {}
    for part, family in PART_FAMILIES.items():
        try:
            resolved[part] = registry.resolve(getattr(config, part), family, cache_dir)
        except (registry.ModelSpecError, registry.ModelLoadError) as error:
            raise PartError(f"model.parts.{part}: {error}") from None
    return resolved


def load_parts(config: PartsConfig, cache_dir: str | None = None, device: str = "cpu") -> Parts:
    """Check every part, then load them all (weights in float32; autocast decides compute precision)."""
    resolved = resolve_parts(config, cache_dir)
    loaded = {part: registry.load(spec, PART_FAMILIES[part], device=device) for part, spec in resolved.items()}
    return Parts(
        image_encoder=loaded["image_encoder"].model,
        video_encoder=loaded["video_encoder"].model,
        llm=loaded["llm"].model,
        sam=loaded["mask_decoder"].model,
        tokenizer=loaded["llm"].processor,
        image_input=_normalisation(resolved["image_encoder"], DEFAULT_MEAN, DEFAULT_STD),
        video_input=_normalisation(resolved["video_encoder"], IMAGENET_MEAN, IMAGENET_STD),
        sam_input=Normalisation(loaded["mask_decoder"].model.config.image_size, IMAGENET_MEAN, IMAGENET_STD),
        revisions={part: f"{m.spec}@{m.revision}" for part, m in loaded.items()},
    )


def _normalisation(resolved: registry.ResolvedSpec, mean: tuple, std: tuple) -> Normalisation:
    from transformers.utils import cached_file

    size = resolved.config.image_size
    path = cached_file(str(resolved.source), "preprocessor_config.json", _raise_exceptions_for_missing_entries=False, **resolved.kwargs)
    if path is not None:
        stats = json.loads(Path(path).read_text())
        mean, std = stats.get("image_mean", mean), stats.get("image_std", std)
    return Normalisation(int(size if isinstance(size, int) else size[0]), tuple(mean), tuple(std))


def build_parts_on_meta(config: PartsConfig) -> Parts:
    """The parts' architectures with no weights (torch's meta device), from `config.architectures`."""
    from transformers import AutoConfig, AutoModel, AutoModelForCausalLM, Sam2VideoModel

    missing = sorted(set(PART_FAMILIES) - set(config.architectures))
    if missing:
        raise PartError(f"model.parts.architectures: no architecture config for {missing}")
    configs = {}
    for part, file in config.architectures.items():
        if part not in PART_FAMILIES:
            raise PartError(f"model.parts.architectures.{part}: not a part; parts are {list(PART_FAMILIES)}")
        data = json.loads(Path(file).read_text())
        configs[part] = AutoConfig.for_model(data.pop("model_type"), **data)
        family = registry.family(PART_FAMILIES[part])
        if configs[part].model_type not in family.model_types:
            raise PartError(
                f"model.parts.architectures.{part}: a {configs[part].model_type!r} config; expected one of {list(family.model_types)}"
            )
    with torch.device("meta"):
        parts = Parts(
            image_encoder=AutoModel.from_config(configs["image_encoder"]),
            video_encoder=AutoModel.from_config(configs["video_encoder"]),
            llm=AutoModelForCausalLM.from_config(configs["llm"]),
            sam=Sam2VideoModel(configs["mask_decoder"]),
            tokenizer=None,
            image_input=Normalisation(configs["image_encoder"].image_size, DEFAULT_MEAN, DEFAULT_STD),
            video_input=Normalisation(configs["video_encoder"].image_size, IMAGENET_MEAN, IMAGENET_STD),
            sam_input=Normalisation(configs["mask_decoder"].image_size, IMAGENET_MEAN, IMAGENET_STD),
            revisions={part: f"architecture:{Path(file).name}" for part, file in config.architectures.items()},
        )
    return parts
