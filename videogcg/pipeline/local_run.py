"""The model-free run: a masks + referring-expressions source straight to GCG shards, in this process.

Each video that fails (unreadable file, malformed labels, masks that do not fit the video) is recorded in
``failures.jsonl`` with its reason and the run goes on with the others.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from pathlib import Path

from videogcg.pipeline.compose import compose_expression_sample
from videogcg.pipeline.config import RunConfig
from videogcg.pipeline.frames import uniform_indices
from videogcg.pipeline.run_report import FAILURES_FILE, STATS_FILE, Failure, RunStats
from videogcg.pipeline.sources import MevisSource, SourceError
from videogcg.schemas import InvalidSampleError, VideoRef, content_hash
from videogcg.shards import ShardWriter, ShardWriterConfig, list_shards
from videogcg.shards.layout import PARTIAL_SUFFIX
from videogcg.video_io import VideoReadError, probe, read_frames

logger = logging.getLogger(__name__)

# Per-video problems that are recorded as failures; anything else is a bug and stops the run.
RECORDED_ERRORS = (SourceError, VideoReadError, InvalidSampleError)


def prepare_output(output: Path, overwrite: bool) -> None:
    """Refuse to mix a new run into an old one's shards unless asked to replace them."""
    output.mkdir(parents=True, exist_ok=True)
    old = list_shards(output) + list(output.glob(f"*{PARTIAL_SUFFIX}"))
    if old and not overwrite:
        raise FileExistsError(f"{output} already holds shards ({old[0].name}, ...); pass overwrite to replace them")
    for path in old + list(output.glob("*.parquet")) + [output / FAILURES_FILE, output / STATS_FILE]:
        path.unlink(missing_ok=True)


def run_masks_expressions(
    input_dir: str | Path,
    output_dir: str | Path,
    config: RunConfig = RunConfig(),
    overwrite: bool = False,
    progress: Callable[[Iterable[str]], Iterable[str]] = lambda items: items,
) -> RunStats:
    output = Path(output_dir)
    prepare_output(output, overwrite)
    source = MevisSource(input_dir, name=config.source_name or Path(input_dir).resolve().name)
    stats = RunStats()
    writer_config = ShardWriterConfig(max_samples=config.samples_per_shard, max_bytes=config.max_shard_bytes, crf=config.crf)
    with ShardWriter(output, writer_config) as writer:
        for video_id in progress(source.video_ids()):
            stats.inputs += 1
            stage = "read_source"
            try:
                video = source.load(video_id)
                stage = "read_video"
                with stats.timed(stage):
                    info = probe(video.path)
                    indices = tuple(uniform_indices(0, info.num_frames, config.num_frames))
                    frames = read_frames(video.path, list(indices))
                    ref = VideoRef(
                        uri=str(video.path),
                        fps=info.fps,
                        num_frames=info.num_frames,
                        width=info.width,
                        height=info.height,
                        content_hash=content_hash(video.path),
                    )
                stage = "compose"
                with stats.timed(stage):
                    sample = compose_expression_sample(video, ref, indices, config)
                stage = "write"
                with stats.timed(stage):
                    writer.write(sample, frames)
                stats.written += 1
            except RECORDED_ERRORS as error:
                logger.warning("%s %s failed at %s: %s", source.name, video_id, stage, error)
                stats.failures.append(Failure(source.name, video_id, stage, type(error).__name__, str(error)))
    stats.shards = [path.name for path in writer.finished]
    stats.save(output)
    return stats
