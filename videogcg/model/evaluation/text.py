"""Phrase similarity for GCG recall: cosine of mean-pooled last hidden states of a BERT-family encoder
(`bert-base-uncased` in VideoGLaMM; `tiny:text_encoder` offline)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import torch

from videogcg.annotators.registry import LoadedModel, load

VIDEOGLAMM_TEXT_ENCODER = "hf:bert-base-uncased"


@dataclass
class EncoderSimilarity:
    model: str = VIDEOGLAMM_TEXT_ENCODER
    cache_dir: str | None = None
    _loaded: LoadedModel | None = field(default=None, init=False, repr=False)

    def embedding(self, text: str) -> torch.Tensor:
        return self._embed(text)

    def __call__(self, a: str, b: str) -> float:
        return float(torch.nn.functional.cosine_similarity(self._embed(a), self._embed(b), dim=0))

    def __post_init__(self) -> None:
        self._embed = lru_cache(maxsize=4096)(self._compute)

    def _compute(self, text: str) -> torch.Tensor:
        if self._loaded is None:
            self._loaded = load(self.model, "text_encoder", cache_dir=self.cache_dir)
        tokens = self._loaded.processor(text, return_tensors="pt", truncation=True, max_length=512)
        with torch.inference_mode():
            hidden = self._loaded.model(**tokens).last_hidden_state[0]
        return hidden.mean(dim=0)
