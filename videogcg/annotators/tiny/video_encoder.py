"""Tiny TimeSformer (divided space-time attention, one token grid per frame): 32 px, 8 px patches, 4 frames."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from transformers import TimesformerConfig, TimesformerModel

KINETICS_MEAN = (0.45, 0.45, 0.45)
KINETICS_STD = (0.225, 0.225, 0.225)


def build(directory: Path) -> None:
    torch.manual_seed(0)
    config = TimesformerConfig(
        image_size=32, patch_size=8, num_frames=4, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4
    )
    TimesformerModel(config).save_pretrained(directory)
    (directory / "preprocessor_config.json").write_text(json.dumps({"image_mean": KINETICS_MEAN, "image_std": KINETICS_STD}))
