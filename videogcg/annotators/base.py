"""What the generative annotators (captioner, LLM phrase extractor, caption refiner) share.

Each holds a model spec and runtime options, loads once, and asks its model in batches; `ask_validated`
re-asks for the items whose reply fails validation, telling the model why.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import ClassVar, TypeVar

import numpy as np
from PIL import Image

from videogcg.annotators.generation import SamplingOptions, Validated, generate_chat, generate_validated
from videogcg.annotators.prompts import Prompts
from videogcg.annotators.registry import LoadedModel, load

T = TypeVar("T")
Images = Sequence[np.ndarray | Image.Image]


@dataclass
class GenerativeAnnotator:
    family: ClassVar[str] = "text_llm"

    model: str = "tiny:text_llm"
    device: str = "cpu"
    dtype: str = "float32"
    max_attempts: int = 3
    max_new_tokens: int = 128
    batch_size: int = 8
    prompts: Prompts = field(default_factory=Prompts.load)
    cache_dir: str | None = None
    _loaded: LoadedModel | None = field(default=None, init=False, repr=False)

    @classmethod
    def from_loaded(cls, loaded: LoadedModel, **options):
        """An annotator around an already loaded model, e.g. one text LLM shared by the phrase extractor and the refiner."""
        if loaded.family != cls.family:
            raise ValueError(f"{cls.__name__} needs a {cls.family} model, got {loaded.spec} ({loaded.family})")
        annotator = cls(model=str(loaded.spec), **options)
        annotator._loaded = loaded
        return annotator

    def load(self) -> LoadedModel:
        if self._loaded is None:
            self._loaded = load(self.model, self.family, self.device, self.dtype, cache_dir=self.cache_dir)
        return self._loaded

    def provenance(self, **parameters):
        return self.load().provenance(max_new_tokens=self.max_new_tokens, **parameters)

    @staticmethod
    def _conversation(text: str, images: int) -> list[dict]:
        if not images:
            return [{"role": "user", "content": text}]
        return [{"role": "user", "content": [{"type": "image"}] * images + [{"type": "text", "text": text}]}]

    def ask(self, texts: Sequence[str], images: Sequence[Images] | None = None, attempt: int = 0) -> list[str]:
        """One reply per prompt text (with its images, for a vision-language model). Greedy on attempt 0."""
        conversations = [self._conversation(t, len(images[i]) if images else 0) for i, t in enumerate(texts)]
        options = SamplingOptions(self.max_new_tokens, do_sample=attempt > 0, seed=attempt)
        return generate_chat(self.load(), conversations, images, options, self.batch_size)

    def ask_validated(
        self, texts: Sequence[str], validate: Callable[[int, str], T], images: Sequence[Images] | None = None
    ) -> list[Validated[T]]:
        feedback: dict[int, str] = {}

        def generate(indices: list[int], attempt: int) -> list[str]:
            prompts = [texts[i] + ("\n" + self.prompts.retry_feedback.format(reason=feedback[i]) if i in feedback else "") for i in indices]
            return self.ask(prompts, [images[i] for i in indices] if images else None, attempt)

        def checked(index: int, reply: str) -> T:
            try:
                return validate(index, reply)
            except ValueError as error:
                feedback[index] = str(error)
                raise

        return generate_validated(generate, checked, len(texts), self.max_attempts)
