"""Run configuration: validated data with embedded defaults, loadable from YAML and overridable."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field

# Phrased after VideoGLaMM's six GCG prompts: ask for a description with masks interleaved.
DEFAULT_QUESTIONS = (
    "Could you please give me a detailed description of the video? Please respond with interleaved segmentation masks for the corresponding parts of the answer.",
    "Can you provide a thorough description of this video? Please output with interleaved segmentation masks for the corresponding phrases.",
    "Please describe in detail the contents of the video. Please respond with interleaved segmentation masks for the corresponding parts of the answer.",
    "Could you give a comprehensive explanation of what can be found in this video? Please output with interleaved segmentation masks for the corresponding phrases.",
    "Could you give me an elaborate explanation of this video? Please respond with interleaved segmentation masks for the corresponding phrases.",
    "Could you provide me with a detailed analysis of this video? Please output with interleaved segmentation masks for the corresponding parts of the answer.",
)


class RunConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source_name: str | None = Field(default=None, description="source name recorded on samples; default: the input folder's name")
    num_frames: int = Field(default=8, ge=1, description="frames sampled per clip")
    samples_per_shard: int = Field(default=100, ge=1)
    max_shard_bytes: int = Field(default=256 << 20, ge=1)
    crf: int = Field(default=18, ge=0, le=51, description="H.264 quality of stored clips")
    question_templates: tuple[str, ...] = Field(default=DEFAULT_QUESTIONS, min_length=1)

    @classmethod
    def load(cls, path: str | Path | None = None, overrides: dict[str, Any] | None = None) -> RunConfig:
        """Defaults, then the YAML file (if any), then explicit overrides (None values are ignored)."""
        data: dict[str, Any] = {}
        if path is not None:
            loaded = yaml.safe_load(Path(path).read_text()) or {}
            if not isinstance(loaded, dict):
                raise ValueError(f"{path}: a run config must be a mapping, got {type(loaded).__name__}")
            data.update(loaded)
        data.update({k: v for k, v in (overrides or {}).items() if v is not None})
        return cls.model_validate(data)
