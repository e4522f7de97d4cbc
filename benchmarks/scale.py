"""`videogcg plan`'s arithmetic applied to two datasets nobody can count here: the 38k-triplet VideoGLaMM GCG
dataset (through configs/recipes/videoglamm-gcg.yaml) and one million raw videos (the fully automatic flow), on
A100 and H100 workers. Writes benchmarks/scale.md; every assumption is in the tables or the notes.

    python -m benchmarks.scale
"""

from __future__ import annotations

from pathlib import Path

from videogcg.pipeline.plan import SourceCount, VideoWork, Workers, make_plan
from videogcg.pipeline.recipe import split_runs
from videogcg.pipeline.settings import PipelineConfig
from videogcg.pipeline.sources import SourceKind
from videogcg.pipeline.stage_costs import DEFAULT_COSTS

OUT = Path(__file__).parent / "scale.md"
RECIPE = Path(__file__).resolve().parents[1] / "configs" / "recipes" / "videoglamm-gcg.yaml"

# The 38k triplets: VideoGLaMM publishes totals only (38k triplets, 83k objects, 671k masks). Assumed: one triplet
# per video, split evenly over the five GCG sources, 2.2 objects per video (83k / 38k); frames sampled per the
# recipe, from typical clip lengths; the source's usual frame size.
VIDEOGLAMM_SOURCES = {
    # recipe source: (videos, kind, sampled frames, width, height, objects, has a caption)
    "video_gcg": (7_600, SourceKind.MASKS, 30, 1280, 720, 2.2, True),  # YouTube-VIS: ~30 annotated frames; captions in the files
    "activitynet_entities": (7_600, SourceKind.BOXES_CAPTIONS, 10, 1280, 720, 2.2, True),
    "vidstg": (7_600, SourceKind.BOXES_CAPTIONS, 20, 640, 360, 2.0, True),  # VidOR is mostly 640x360; tubes > 20 frames
    "hcstvg": (7_600, SourceKind.BOXES_CAPTIONS, 27, 1280, 720, 1.0, True),  # ~5.4 s tubes at 5 fps
    "mevis": (7_600, SourceKind.MASKS_EXPRESSIONS, 78, 1280, 720, 2.2, False),  # every frame: ~78 per MeViS video
}
WORKERS = 8


def _count(label: str, config: PipelineConfig, videos: int, work: VideoWork) -> SourceCount:
    """`videos` videos like `work`: one counted, standing for all."""
    return SourceCount(label, config, videos, counted=1, works=[work])


def videoglamm_counts() -> list[SourceCount]:
    configs = {run.source: run.config for run in split_runs(RECIPE, "/data", "/out", only=list(VIDEOGLAMM_SOURCES))}
    counts = []
    for name, (videos, kind, sampled, width, height, objects, captioned) in VIDEOGLAMM_SOURCES.items():
        config = configs[name]
        samples = config.compose.conversations_per_video + (
            config.compose.referring_per_video if kind is SourceKind.MASKS_EXPRESSIONS else 0
        )
        counts.append(_count(name, config, videos, VideoWork(kind, sampled, width * height / 1e6, objects, samples, captioned)))
    return counts


def raw_counts(propagator: str) -> list[SourceCount]:
    """One million raw 720p videos, 8 frames each, 3 objects found per video; configs/pretrained.yaml's models."""
    config = PipelineConfig.load(Path(__file__).resolve().parents[1] / "configs" / "pretrained.yaml", [f"models.propagator={propagator}"])
    return [_count("raw (1M videos)", config, 1_000_000, VideoWork(SourceKind.RAW, 8, 1280 * 720 / 1e6, 3, 1, False))]


def _hours(seconds: float) -> str:
    return f"{seconds / 3600:,.1f}"


def _row(name: str, device: str, plan) -> str:
    by_stage: dict[str, float] = {}
    for stage in plan.stages:
        by_stage[stage.stage] = by_stage.get(stage.stage, 0.0) + stage.seconds
    stages = ", ".join(f"{k} {_hours(v)}" for k, v in by_stage.items() if v)
    return (
        f"| {name} | {device} | {_hours(plan.accelerator_seconds)} | {_hours(plan.cpu_seconds)} | {plan.output_bytes / 1e12:,.2f} | "
        f"{_hours(plan.wall_seconds)} | {stages} |"
    )


def main() -> None:
    rows = []
    for device in ("a100", "h100"):
        workers = Workers(device, count=WORKERS, accelerators=1, cores=12, startup_seconds=120)
        rows.append(_row("VideoGLaMM GCG (38k triplets)", device, make_plan(videoglamm_counts(), workers, DEFAULT_COSTS)))
        for propagator in ("hf:facebook/sam2.1-hiera-tiny", "hf:facebook/sam2.1-hiera-large"):
            plan = make_plan(raw_counts(propagator), workers, DEFAULT_COSTS)
            rows.append(_row(f"1M raw videos, {propagator.split('/')[-1]}", device, plan))
    costs = DEFAULT_COSTS.devices["a100"].models
    basis = "\n".join(
        f"| `{spec}` | {c.per_frame:.4f} | {c.per_object_frame:.4f} | {c.per_token:.4f} | {c.basis} |" for spec, c in costs.items()
    )
    sources = "\n".join(
        f"| {name} | {v:,} | {kind.value} | {s} | {w}x{h} | {o} |" for name, (v, kind, s, w, h, o, _) in VIDEOGLAMM_SOURCES.items()
    )
    OUT.write_text(f"""# What a full run costs: `videogcg plan` at scale

Reproduce: `python -m benchmarks.scale` (the arithmetic of `videogcg.pipeline.plan` on the stated counts; on real
data, `videogcg plan --recipe configs/recipes/videoglamm-gcg.yaml --data $DATA --device a100 --workers 8` counts
the files themselves).

## Results: {WORKERS} workers, each 1 GPU and 12 CPU cores

| dataset | device | GPU-hours | CPU core-hours (decode, encode) | output (TB) | wall hours | hours by stage (decode, encode: CPU core-hours) |
|---|---|---|---|---|---|---|
{chr(10).join(rows)}

## Counts assumed

The VideoGLaMM GCG dataset, through `configs/recipes/videoglamm-gcg.yaml` (its sampling per source; `configs/pretrained.yaml`'s models):

| source | videos | kind | sampled frames per video | frame size | objects per video |
|---|---|---|---|---|---|
{sources}

- VideoGLaMM publishes totals only: 38k triplets, 83k objects, 671k masks. One triplet per video, an even split
  over the five GCG sources and 2.2 objects per video (83k / 38k) are assumptions. Ref-YouTube-VOS trains
  referring segmentation, not GCG, and is left out here.
- video_gcg's files carry grounded captions, so the captioner does not run; MeViS needs no model at all (source
  masks and expressions). The GPU work is SAM2 on the box sources and the caption refinement.
- One million raw videos: 720p, 8 sampled frames, 3 objects found per video, every model of
  `configs/pretrained.yaml` (llava-interleave-qwen-0.5b captions, Qwen2.5-1.5B phrases, Grounding DINO tiny on
  3 keyframes, SAM2.1 tiny or large forward and backward).

## Cost per unit on an A100 (`videogcg/pipeline/stage_costs.py`)

| model | s per frame | s per object-frame | s per generated token | basis |
|---|---|---|---|---|
{basis}

- H100: every A100 figure divided by 1.5 (assumed: neither SAM2 nor Grounding DINO publish H100 speeds).
- CPU stages (per core, measured here, `benchmarks/results/codec-cpu.md`): decoding
  {DEFAULT_COSTS.decode_per_megapixel_frame} s and encoding {DEFAULT_COSTS.encode_per_megapixel_frame} s per
  megapixel-frame; stored clips {DEFAULT_COSTS.stored_bytes_per_pixel} bytes per pixel (H.264 crf 18 of sparse frames).
- Generated tokens per call = `models.max_new_tokens` (256 in `configs/pretrained.yaml`): an upper bound.
- Wall time = the larger of GPU-seconds / GPUs and CPU core-seconds / cores, plus 120 s start-up per worker
  (image pull, model loads; assumed). It assumes the work spreads evenly (many more videos than workers) and
  that reading from object storage keeps up; it leaves out failed and retried bundles.
- Not measured: no GPU was lent to this project when these figures were made, so no GPU figure here is ours.
""")


if __name__ == "__main__":
    main()
