"""Tiny SAM2 video model: the real Hiera + memory-attention architecture at 128 px with narrow layers.

Constraints of transformers' Sam2Video code that a small config must respect: the memory encoder emits 64
channels (`memory_encoder_output_channels=64`); the model's hidden size must be a multiple larger than that,
since object pointers are split into memory-sized tokens; and a Hiera stage must not start with a
global-attention block. Feature sizes follow the image size: strides 4, 8 and 16 give 32, 16 and 8 at 128 px.
"""

from __future__ import annotations

from pathlib import Path

import torch
from transformers import Sam2VideoConfig, Sam2VideoModel

IMAGE_SIZE = 128
HIDDEN_SIZE = 128
MEMORY_CHANNELS = 64


def tiny_config() -> Sam2VideoConfig:
    feature_sizes = [[IMAGE_SIZE // stride] * 2 for stride in (4, 8, 16)]
    backbone = {
        "model_type": "sam2_hiera_det_model",
        "hidden_size": 16,
        "num_attention_heads": 1,
        "image_size": [IMAGE_SIZE, IMAGE_SIZE],
        "blocks_per_stage": [1, 1, 2, 1],
        "embed_dim_per_stage": [16, 32, 64, 128],
        "num_attention_heads_per_stage": [1, 1, 2, 2],
        "window_size_per_stage": [8, 4, 4, 2],
        "global_attention_blocks": [3],  # the second block of stage 3, never a stage's first block
        "window_positional_embedding_background_size": [4, 4],
    }
    vision = {
        "model_type": "sam2_vision_model",
        "backbone_config": backbone,
        "backbone_channel_list": [128, 64, 32, 16],
        "backbone_feature_sizes": feature_sizes,
        "fpn_hidden_size": HIDDEN_SIZE,
    }
    return Sam2VideoConfig(
        vision_config=vision,
        prompt_encoder_config={"hidden_size": HIDDEN_SIZE, "image_size": IMAGE_SIZE, "patch_size": 16},
        mask_decoder_config={
            "hidden_size": HIDDEN_SIZE,
            "mlp_dim": 256,
            "num_hidden_layers": 2,
            "num_attention_heads": 4,
            "iou_head_hidden_dim": 64,
        },
        image_size=IMAGE_SIZE,
        memory_attention_hidden_size=HIDDEN_SIZE,
        memory_attention_num_layers=2,
        memory_attention_feed_forward_hidden_size=256,
        memory_attention_rope_feat_sizes=feature_sizes[-1],
        memory_encoder_hidden_size=HIDDEN_SIZE,
        memory_encoder_output_channels=MEMORY_CHANNELS,
        mask_downsampler_embed_dim=HIDDEN_SIZE,
        memory_fuser_embed_dim=HIDDEN_SIZE,
        memory_fuser_intermediate_dim=256,
    )


def build(directory: Path) -> None:
    torch.manual_seed(0)
    Sam2VideoModel(tiny_config()).save_pretrained(directory)
