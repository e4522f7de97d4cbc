"""The prompts the model-backed annotators send. Their text lives in configs/prompts.yaml, not in code:
`Prompts.load()` reads that file, `Prompts.load(path)` an edited copy."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict

DEFAULT_PROMPTS = Path(__file__).resolve().parents[2] / "configs" / "prompts.yaml"


class Prompts(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    dense_caption: str
    object_description: str  # {label}
    grounded_caption: str  # {objects}
    phrase_extraction: str  # {caption}
    caption_refinement: str  # {caption}, {context}
    retry_feedback: str  # {reason}

    @classmethod
    def load(cls, path: str | Path | None = None) -> Prompts:
        path = Path(path) if path is not None else DEFAULT_PROMPTS
        data = yaml.safe_load(path.read_text()) or {}
        if not isinstance(data, dict):
            raise ValueError(f"{path}: prompts must be a mapping of prompt name to text")
        return cls.model_validate(data)
