"""The training configuration: which parts make the model, what is trained, the data and the optimisation.

Defaults are the tiny configuration (`configs/train/tiny.yaml` shows them); `configs/train/videoglamm.yaml`
names the real parts. Loaded like the pipeline's config: YAML, then dotted ``key=value`` overrides.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from videogcg.configuration import load_config

# What `model.trainable` may name; everything not named is frozen.
TRAINABLE_GROUPS = ("adapters", "lora", "embeddings", "lm_head", "llm", "image_encoder", "video_encoder", "mask_decoder", "sam2_encoder")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PartsConfig(_Section):
    """Model specs as the annotators take them: hf:<repo id>, a local checkpoint directory, or tiny:<family>."""

    image_encoder: str = "tiny:image_encoder"  # CLIP or SigLIP vision tower
    video_encoder: str = "tiny:video_encoder"  # TimeSformer
    llm: str = "tiny:text_llm"  # a causal LM with a chat template (Phi-3, Qwen2, Llama families)
    mask_decoder: str = "tiny:sam2_video"  # SAM2: its image encoder and mask decoder are used
    # Architecture configs (JSON, relative to this file's folder or absolute) for building on the meta device
    # without a download: part name -> config file.
    architectures: dict[str, str] = {}


class LoraConfig(_Section):
    rank: int = Field(8, ge=1)
    alpha: int = 16
    dropout: float = Field(0.05, ge=0, lt=1)
    target_modules: tuple[str, ...] = ("q_proj", "v_proj")  # VideoGLaMM's; Phi-3 fuses them as qkv_proj


class LossWeights(_Section):
    ce: float = Field(1.0, ge=0)
    bce: float = Field(2.0, ge=0)
    dice: float = Field(0.5, ge=0)


class ModelConfig(_Section):
    parts: PartsConfig = PartsConfig()
    num_frames: int = Field(4, ge=1)  # frames for both encoders, linspace-sampled from the clip
    chunk_frames: int = Field(4, ge=1)  # frames per video-encoder chunk (VideoGLaMM: 4)
    image_layer: int = -2  # hidden layer of the image encoder whose patch tokens are used
    image_tokens_per_side: int = Field(2, ge=1)  # image tokens per frame = this squared (VideoGLaMM: 12)
    video_tokens_per_side: int = Field(2, ge=1)  # video tokens per frame = this squared (VideoGLaMM: 8)
    sam_frames: int = Field(4, ge=1)  # frames whose masks are decoded and supervised (VideoGLaMM: 8)
    max_masks: int = Field(4, ge=1)  # masks supervised per sample, the first ones in [SEG] order (VideoGLaMM: 4)
    lora: LoraConfig | None = LoraConfig()
    trainable: tuple[str, ...] = ("adapters", "lora", "embeddings", "lm_head")  # VideoGLaMM's choice
    loss: LossWeights = LossWeights()
    max_length: int = Field(2048, ge=16)  # tokens including the visual ones; longer samples are skipped

    @model_validator(mode="after")
    def _known_groups(self) -> ModelConfig:
        unknown = sorted(set(self.trainable) - set(TRAINABLE_GROUPS))
        if unknown:
            raise ValueError(f"unknown trainable group(s) {unknown}; known: {list(TRAINABLE_GROUPS)}")
        untrained = sorted({"adapters", "embeddings"} - set(self.trainable))
        if untrained:  # new random weights (the adapters, the [SEG] row) that a checkpoint would not keep
            raise ValueError(f"trainable must include {untrained}: they start random and are saved only when trained")
        if "lora" in self.trainable and self.lora is None:
            raise ValueError("'lora' is trainable but lora is null")
        if self.num_frames % self.chunk_frames:
            raise ValueError(f"num_frames {self.num_frames} is not a multiple of chunk_frames {self.chunk_frames}")
        return self


class DataConfig(_Section):
    shards: tuple[str, ...] = ()  # dataset folders (with manifests); `--shards` on the command line sets them
    sources: tuple[str, ...] | None = None
    review_states: tuple[str, ...] | None = None  # e.g. [human_accepted, human_edited]: human-verified data only
    min_confidence: float | None = None
    source_weights: dict[str, float] | None = None  # sampling weight per source (others: 1.0)
    shuffle_buffer: int = Field(64, ge=1)
    num_workers: int = Field(0, ge=0)


class OptimConfig(_Section):
    steps: int = Field(100, ge=1)  # optimizer steps
    batch_size: int = Field(2, ge=1)  # per process and micro-step
    grad_accumulation: int = Field(1, ge=1)
    lr: float = Field(3e-4, gt=0)
    betas: tuple[float, float] = (0.9, 0.95)
    weight_decay: float = Field(0.0, ge=0)
    warmup_steps: int = Field(0, ge=0)
    grad_clip: float | None = 1.0
    seed: int = 0
    precision: Literal["auto", "bf16", "fp32"] = "auto"  # auto: bf16 autocast on CUDA, fp32 on CPU
    log_every: int = Field(1, ge=1)
    checkpoint_every: int = Field(50, ge=1)
    keep_checkpoints: int = Field(2, ge=1)


class TrainConfig(_Section):
    model: ModelConfig = ModelConfig()
    data: DataConfig = DataConfig()
    optim: OptimConfig = OptimConfig()
    cache_dir: str | None = None  # where tiny checkpoints are built (default: $VIDEOGCG_CACHE)

    @classmethod
    def load(cls, path: str | Path | None = None, overrides: list[str] | None = None) -> TrainConfig:
        config = load_config(cls, path, overrides)
        if path is None or not config.model.parts.architectures:
            return config
        folder = Path(path).resolve().parent  # architecture files are relative to the config that names them
        resolved = {part: str(folder / file) for part, file in config.model.parts.architectures.items()}
        return config.model_copy(
            update={"model": config.model.model_copy(update={"parts": config.model.parts.model_copy(update={"architectures": resolved})})}
        )
