"""Tiny TimeSformer (divided space-time attention, one token grid per frame): 32 px, 8 px patches, 4 frames."""

from __future__ import annotations

from pathlib import Path

import torch
from transformers import TimesformerConfig, TimesformerModel

from videogcg.annotators.tiny.image_encoder import write_normalisation

KINETICS_MEAN = (0.45, 0.45, 0.45)
KINETICS_STD = (0.225, 0.225, 0.225)


def build(directory: Path) -> None:
    torch.manual_seed(0)
    config = TimesformerConfig(
        image_size=32, patch_size=8, num_frames=4, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4
    )
    TimesformerModel(config).save_pretrained(directory)
    write_normalisation(directory, KINETICS_MEAN, KINETICS_STD)
