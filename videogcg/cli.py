"""The `videogcg` command line."""

from __future__ import annotations

import json
import logging
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Optional

import typer
from tqdm import tqdm

from videogcg.pipeline.source_registry import FORMATS

app = typer.Typer(help="Build grounded video-conversation (GCG) datasets.", no_args_is_help=True, add_completion=False)


@app.callback()
def main(verbose: bool = typer.Option(False, "--verbose", "-v", help="Log at INFO level.")) -> None:
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")


@app.command()
def samples(
    output: Path = typer.Option(..., "--output", "-o", help="Folder to write the source forms into."),
    num_videos: int = typer.Option(4, min=1),
    seed: int = typer.Option(0),
    num_frames: int = typer.Option(24, min=2),
    width: int = typer.Option(320, min=32),
    height: int = typer.Option(240, min=32),
) -> None:
    """Generate synthetic videos of moving shapes in the three source forms (raw, boxes+captions, masks+expressions)."""
    from videogcg.synthetic import generate_sources

    roots = generate_sources(output, num_videos=num_videos, seed=seed, num_frames=num_frames, width=width, height=height)
    for form, root in roots.items():
        typer.echo(f"{form:<18} {root}")


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def run(
    ctx: typer.Context,
    input_path: Path = typer.Option(..., "--input", "-i", help="The source: a dataset folder or annotation file, per --format."),
    output: Path = typer.Option(..., "--output", "-o", help="Folder for shards, manifests, dead letters and run stats."),
    config: Optional[Path] = typer.Option(None, "--config", "-c", help="YAML pipeline config (configs/tiny.yaml; defaults are embedded)."),
    source_format: str = typer.Option("mevis", "--format", "-f", help="Source format: " + ", ".join(sorted(FORMATS)) + "."),
    source_name: Optional[str] = typer.Option(None, help="Source name recorded on samples (default: the input's name)."),
    media: Optional[Path] = typer.Option(None, help="Frames or videos folder, for formats that keep them apart (ytvis: JPEGImages)."),
) -> None:
    """Run (or resume) the annotation pipeline: videos in, GCG shards out.

    Extra arguments: `key=value` config overrides (e.g. sampling.num_frames=4) and Beam pipeline options
    (e.g. --runner=DataflowRunner --project=...); without --runner, Beam's local in-memory runner.
    """
    from videogcg.pipeline.beam_pipeline import LOCAL_RUNNER, run_pipeline
    from videogcg.pipeline.settings import ConfigError, PipelineConfig
    from videogcg.pipeline.source_registry import SourceSpec

    overrides = [a for a in ctx.args if not a.startswith("-")]
    beam_args = [a for a in ctx.args if a.startswith("-")]
    if not any(a.startswith("--runner") for a in beam_args):
        beam_args = LOCAL_RUNNER + beam_args
    try:
        settings = PipelineConfig.load(config, overrides)
    except ConfigError as error:
        raise typer.BadParameter(str(error), param_hint="config") from None
    with _spinner(f"annotating {input_path}"):
        summary = run_pipeline(
            SourceSpec(source_format, str(input_path), source_name, str(media) if media else None), output, settings, beam_args
        )
    routes = summary["routes"]
    typer.echo(
        f"{summary['videos']} videos ({summary['videos_processed_this_run']} this run): {summary['samples']} samples in "
        f"{len(summary['shards'])} shards (accept {routes['accept']}, review {routes['review']}, dropped {routes['drop']}); "
        f"{summary['failed']} failed"
    )
    for reason, count in summary["failures_by_reason"].items():
        typer.echo(f"  failed at {reason}: {count} (details in {output}/shard-*.records.jsonl)")


@contextmanager
def _spinner(description: str):
    """A progress line that ticks while Beam runs (its own progress is per-bundle and silent in-process)."""
    stop = threading.Event()

    def tick():
        with tqdm(desc=description, unit="s", bar_format="{desc}: {elapsed}") as bar:
            while not stop.wait(1.0):
                bar.update(1)

    thread = threading.Thread(target=tick, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


@app.command()
def inspect(directory: Path, as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table.")) -> None:
    """Summarise a dataset from its manifests: samples, objects, masks, frames, sources, review states."""
    from videogcg.inspect_dataset import format_summary, summarize

    if not directory.is_dir():
        raise typer.BadParameter(f"{directory} is not a folder", param_hint="DIRECTORY")
    summary = summarize(directory)
    typer.echo(json.dumps(summary, indent=2) if as_json else format_summary(summary))


@app.command()
def preview(
    directory: Path,
    output: Path = typer.Option(..., "--output", "-o", help="PNG file to write."),
    key: Optional[str] = typer.Option(None, help="Sample key (default: the first sample)."),
    max_frames: int = typer.Option(8, min=1),
) -> None:
    """Draw one sample's frames with mask overlays and its grounded answer into a PNG."""
    from videogcg.preview import render_preview
    from videogcg.shards import find_sample, iter_dataset

    if key is None:
        item = next(iter_dataset(directory), None)
        if item is None:
            raise typer.BadParameter(f"no samples in {directory}", param_hint="DIRECTORY")
    else:
        try:
            item = find_sample(directory, key)
        except KeyError as error:
            raise typer.BadParameter(str(error.args[0]), param_hint="--key") from None
    output.parent.mkdir(parents=True, exist_ok=True)
    render_preview(item, max_frames=max_frames).save(output)
    typer.echo(f"{item.sample.key} -> {output}")


if __name__ == "__main__":
    app()
