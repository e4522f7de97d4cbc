"""Tiny Qwen2 causal LM (the architecture of the Qwen2.5 instruct models named in configs/)."""

from __future__ import annotations

from pathlib import Path

import torch
from transformers import GenerationConfig, Qwen2Config, Qwen2ForCausalLM

from videogcg.annotators.tiny.tokenizer import build_tokenizer


def text_config(vocab_size: int, eos_token_id: int, pad_token_id: int) -> Qwen2Config:
    return Qwen2Config(
        vocab_size=vocab_size,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=2048,
        eos_token_id=eos_token_id,
        pad_token_id=pad_token_id,
        tie_word_embeddings=True,
        initializer_range=0.5,  # larger random weights: greedy replies then depend on the input instead of repeating one token
    )


def build(directory: Path) -> None:
    torch.manual_seed(0)
    tokenizer = build_tokenizer()
    model = Qwen2ForCausalLM(text_config(len(tokenizer), tokenizer.eos_token_id, tokenizer.pad_token_id))
    # min_new_tokens: a random model tends to end at once; a few tokens make its replies worth comparing in tests.
    model.generation_config = GenerationConfig(eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id, min_new_tokens=4)
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
