"""What each model and CPU stage costs per unit of work, per kind of device: the table `videogcg plan` multiplies
its counts by. Every figure says where it comes from: measured here (`benchmarks/results/`), published, or an
assumption (stated as one). Users with their own measurements pass a YAML of the same shape (`plan --costs`).
"""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from videogcg.configuration import ConfigError


class ModelCost(BaseModel):
    """Seconds on one device: per input frame or image, per tracked object per frame (on top of per frame), and per
    generated token of one sequence (at the batch size the basis states)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    per_frame: float = 0.0
    per_object_frame: float = 0.0
    per_token: float = 0.0
    basis: str


class DeviceCosts(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    description: str
    models: dict[str, ModelCost]


class CostTable(BaseModel):
    """`cpu_per_megapixel_frame`: seconds of one CPU core to decode (and to encode) one frame of a megapixel."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    decode_per_megapixel_frame: float
    encode_per_megapixel_frame: float
    stored_bytes_per_pixel: float
    json_bytes_per_object_frame: float
    devices: dict[str, DeviceCosts]

    def model(self, device: str, spec: str) -> ModelCost:
        if device not in self.devices:
            raise ConfigError(f"device {device!r}: no costs; known: {', '.join(sorted(self.devices))}")
        models = self.devices[device].models
        if spec not in models:
            raise ConfigError(f"model {spec!r}: no cost on {device}; known there: {', '.join(sorted(models))}")
        return models[spec]


def load_costs(path: str | Path) -> CostTable:
    try:
        return CostTable.model_validate(yaml.safe_load(Path(path).read_text()))
    except (OSError, yaml.YAMLError) as error:
        raise ConfigError(f"{path}: cannot be read ({error})") from None
    except ValidationError as error:
        first = error.errors()[0]
        raise ConfigError(f"{path}: {'.'.join(str(p) for p in first['loc'])}: {first['msg']}") from None


_CPU = "benchmarks/results/annotators-cpu.md, this 2-core machine"
_SAM2_README = "SAM 2.1 README speed table (facebookresearch/sam2, A100)"
# SAM2's cost splits into a per-frame part (image encoder) and a per-object part (memory attention + mask decoder);
# measured here on CPU for sam2.1-hiera-tiny: 1 object 2.98 s/frame, 4 objects 5.83 s/frame -> 31.8% per object.
_SAM2_OBJECT_SHARE = 0.318
# Token generation with transformers' generate on a GPU is launch-bound for models of <= 2B parameters: about 25 ms
# per step at batch 1 and ~1.3x that at batch 8, i.e. ~4 ms per token per sequence at batch 8 (an assumption).
_GPU_TOKEN = 0.004
_GPU_TOKEN_BASIS = "assumed: 25 ms per decoding step at batch 1, x1.3 at batch 8 -> 4 ms per token per sequence"
# H100 against A100: no published SAM2 / Grounding DINO figures; assumed 1.5x faster across the board.
H100_SPEEDUP = 1.5


def _sam2(fps_one_object: float, basis: str) -> ModelCost:
    frame = 1.0 / fps_one_object
    return ModelCost(per_frame=frame * (1 - _SAM2_OBJECT_SHARE), per_object_frame=frame * _SAM2_OBJECT_SHARE, basis=basis)


_A100 = {
    "hf:facebook/sam2.1-hiera-tiny": _sam2(47.2, f"{_SAM2_README}: 47.2 FPS"),
    "hf:facebook/sam2.1-hiera-small": _sam2(43.3, f"{_SAM2_README}: 43.3 FPS"),
    "hf:facebook/sam2.1-hiera-base-plus": _sam2(34.8, f"{_SAM2_README}: 34.8 FPS"),
    "hf:facebook/sam2.1-hiera-large": _sam2(24.2, f"{_SAM2_README}: 24.2 FPS"),
    "hf:IDEA-Research/grounding-dino-tiny": ModelCost(
        per_frame=0.1, basis="assumed: 10 images/s (transformers, fp16, 800x1333, batch 1); no published A100 figure"
    ),
    "hf:IDEA-Research/grounding-dino-base": ModelCost(per_frame=0.15, basis="assumed: 1.5x grounding-dino-tiny"),
    "hf:llava-hf/llava-interleave-qwen-0.5b-hf": ModelCost(
        per_frame=0.01, per_token=_GPU_TOKEN, basis=f"prefill 729 tokens/frame at ~75 TFLOP/s (assumed); {_GPU_TOKEN_BASIS}"
    ),
    "hf:Qwen/Qwen2.5-1.5B-Instruct": ModelCost(per_token=_GPU_TOKEN, basis=_GPU_TOKEN_BASIS),
}


def _faster(costs: dict[str, ModelCost], factor: float) -> dict[str, ModelCost]:
    return {
        spec: ModelCost(
            per_frame=c.per_frame / factor,
            per_object_frame=c.per_object_frame / factor,
            per_token=c.per_token / factor,
            basis=f"A100 figure / {factor} (assumed H100 speedup); A100: {c.basis}",
        )
        for spec, c in costs.items()
    }


DEFAULT_COSTS = CostTable(
    # benchmarks/results/codec-cpu.md: 1280x720 decode 0.049 s/frame, encode 0.024 s/frame (0.92 MP)
    decode_per_megapixel_frame=0.053,
    encode_per_megapixel_frame=0.026,
    stored_bytes_per_pixel=0.11,  # codec-cpu.md, H.264 crf 18 of sparse frames
    json_bytes_per_object_frame=275.0,  # the demo's MeViS-form shards: RLE of clean masks at 320x240, plus boxes
    devices={
        "cpu": DeviceCosts(
            description="this project's 2-core CI machine, all cores on one model (measured)",
            models={
                "tiny:vlm": ModelCost(per_frame=1 / 182.1, basis=f"{_CPU}: 182 frames/s, 16 new tokens per clip"),
                "tiny:text_llm": ModelCost(per_token=0.0347 / 32, basis=f"{_CPU}: 28.8 captions/s of 32 tokens"),
                "tiny:grounding_dino": ModelCost(per_frame=1 / 66.8, basis=f"{_CPU}: 66.8 frames/s"),
                "tiny:sam2_video": ModelCost(
                    per_frame=0.00799, per_object_frame=0.00484, basis=f"{_CPU}: 77.9 frames/s 1 object, 36.6 with 4"
                ),
                "hf:llava-hf/llava-interleave-qwen-0.5b-hf": ModelCost(
                    per_frame=1 / 0.116, basis=f"{_CPU}, real-size architecture: 0.116 frames/s with 16 new tokens (all on frames)"
                ),
                "hf:Qwen/Qwen2.5-1.5B-Instruct": ModelCost(per_token=59.49 / 128, basis=f"{_CPU}, real size: 4 x 32 tokens in 59.5 s"),
                "hf:IDEA-Research/grounding-dino-tiny": ModelCost(per_frame=1 / 0.152, basis=f"{_CPU}, real size: 0.152 frames/s"),
                "hf:facebook/sam2.1-hiera-tiny": ModelCost(
                    per_frame=2.03, per_object_frame=0.95, basis=f"{_CPU}, real size: 2.98 s/frame 1 object, 5.83 with 4"
                ),
            },
        ),
        "a100": DeviceCosts(description="one NVIDIA A100 (published and assumed figures)", models=_A100),
        "h100": DeviceCosts(description="one NVIDIA H100 (A100 figures / 1.5, assumed)", models=_faster(_A100, H100_SPEEDUP)),
    },
)
