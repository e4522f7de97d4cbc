"""Tiny CLIP vision tower (the architecture of CLIP ViT-L/14-336, VideoGLaMM's image encoder): 32 px, 8 px
patches, so a 4 x 4 grid of patch tokens per frame."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from transformers import CLIPVisionConfig, CLIPVisionModel

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


def write_normalisation(directory: Path, mean: tuple[float, ...], std: tuple[float, ...]) -> None:
    """The normalisation constants, where an image processor would keep them (its loader needs torchvision here)."""
    (directory / "preprocessor_config.json").write_text(json.dumps({"image_mean": mean, "image_std": std}))


def build(directory: Path) -> None:
    torch.manual_seed(0)
    config = CLIPVisionConfig(
        hidden_size=32, intermediate_size=64, num_hidden_layers=3, num_attention_heads=4, image_size=32, patch_size=8, projection_dim=32
    )
    CLIPVisionModel(config).save_pretrained(directory)
    write_normalisation(directory, CLIP_MEAN, CLIP_STD)
