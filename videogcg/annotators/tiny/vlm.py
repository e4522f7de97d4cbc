"""Tiny LLaVA (SigLIP vision tower + Qwen2 language model), the architecture of llava-interleave-qwen."""

from __future__ import annotations

from pathlib import Path

import torch
from transformers import GenerationConfig, LlavaConfig, LlavaForConditionalGeneration, LlavaProcessor, SiglipVisionConfig
from transformers.models.siglip.image_processing_pil_siglip import SiglipImageProcessorPil

from videogcg.annotators.tiny.text_llm import text_config
from videogcg.annotators.tiny.tokenizer import CHAT_TEMPLATE, IMAGE_TOKEN, build_tokenizer

IMAGE_SIZE, PATCH_SIZE = 32, 8


def build(directory: Path) -> None:
    torch.manual_seed(0)
    tokenizer = build_tokenizer()
    vision = SiglipVisionConfig(
        hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2, image_size=IMAGE_SIZE, patch_size=PATCH_SIZE
    )
    config = LlavaConfig(
        vision_config=vision,
        text_config=text_config(len(tokenizer), tokenizer.eos_token_id, tokenizer.pad_token_id),
        image_token_id=tokenizer.convert_tokens_to_ids(IMAGE_TOKEN),
        vision_feature_select_strategy="full",
        vision_feature_layer=-1,
    )
    model = LlavaForConditionalGeneration(config)
    # min_new_tokens: a random model tends to end at once; a few tokens make its replies worth comparing in tests.
    model.generation_config = GenerationConfig(eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id, min_new_tokens=4)
    processor = LlavaProcessor(
        image_processor=SiglipImageProcessorPil(size={"height": IMAGE_SIZE, "width": IMAGE_SIZE}),
        tokenizer=tokenizer,
        patch_size=PATCH_SIZE,
        vision_feature_select_strategy="full",
        num_additional_image_tokens=0,
        chat_template=CHAT_TEMPLATE,
        image_token=IMAGE_TOKEN,
    )
    model.save_pretrained(directory)
    processor.save_pretrained(directory)
