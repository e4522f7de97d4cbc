"""Training data of moving shapes with exact masks: the synthetic generator's MeViS-layout source run through
the pipeline (tiny models), as a user would make it. Used by the learning test and benchmarks/train.py."""

from __future__ import annotations

from pathlib import Path


def make_gcg_shards(directory: Path, num_videos: int, seed: int, model_cache: str, conversations: int = 2, referring: int = 2) -> Path:
    """Shards of `num_videos` 8-frame 160x120 videos, with `conversations` GCG and `referring` referring
    samples per video, in `directory / "shards"`."""
    from videogcg.pipeline.beam_pipeline import run_pipeline
    from videogcg.pipeline.settings import PipelineConfig
    from videogcg.pipeline.source_registry import SourceSpec
    from videogcg.synthetic import generate_sources

    roots = generate_sources(directory / "sources", num_videos=num_videos, seed=seed, num_frames=8, width=160, height=120)
    config = PipelineConfig.load(
        overrides=[
            f"models.cache_dir={model_cache}",
            "sampling.num_frames=8",
            f"compose.conversations_per_video={conversations}",
            f"compose.referring_per_video={referring}",
        ]
    )
    summary = run_pipeline(SourceSpec("mevis", str(roots["masks_expressions"])), directory / "shards", config)
    if summary["failed"]:
        raise RuntimeError(f"pipeline failures while making training data: {summary['failures_by_reason']}")
    return directory / "shards"
