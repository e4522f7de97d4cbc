"""A tiny random BERT (the architecture of bert-base-uncased, which VideoGLaMM's GCG recall uses to compare
phrases), with the tiny Grounding DINO's uncased word-piece vocabulary."""

from __future__ import annotations

from pathlib import Path

import torch
from transformers import BertConfig, BertModel, BertTokenizer

from videogcg.annotators.tiny.grounding_dino import vocabulary


def build(directory: Path) -> None:
    torch.manual_seed(0)
    tokenizer = BertTokenizer(vocab={token: i for i, token in enumerate(vocabulary())})
    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
    )
    BertModel(config).save_pretrained(directory)
    tokenizer.save_pretrained(directory)
