"""The prompts the model-backed annotators send. Defaults mirror configs/prompts.yaml; edit that file to change them."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict


class Prompts(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    dense_caption: str = (
        "These are frames of one video, in order. Describe the video in detail: every object, what it looks like and what it is doing."
    )
    object_description: str = (
        "These are crops of one {label} from a video, in order. What does the {label} look like and what is the {label} doing?"
    )
    grounded_caption: str = (
        "These are frames of one video. Its objects are described below, each with its id.\n{objects}\n"
        "Write one dense caption of the video that mentions each object exactly once, written as [phrase](id), "
        "for example [a man in a red shirt](0). Reply with the caption only."
    )
    phrase_extraction: str = (
        "List the noun phrases of the caption below that name visible objects, copied exactly as they appear, in order. "
        'Reply with JSON only: {{"phrases": ["...", "..."]}}.\nCaption: {caption}'
    )
    caption_refinement: str = (
        "Rewrite the caption below into one dense, fluent description of the video. Keep every tag [phrase](ids) with "
        "exactly the same ids; you may reword the phrase inside the brackets. Do not add or drop tags.\n"
        "{context}Caption: {caption}"
    )
    retry_feedback: str = "Your previous reply was rejected: {reason}. Try again."

    @classmethod
    def load(cls, path: str | Path | None = None) -> Prompts:
        if path is None:
            return cls()
        data = yaml.safe_load(Path(path).read_text()) or {}
        if not isinstance(data, dict):
            raise ValueError(f"{path}: prompts must be a mapping of prompt name to text")
        return cls.model_validate(data)
