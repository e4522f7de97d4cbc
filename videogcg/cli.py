"""The `videogcg` command line."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Optional

import typer
from tqdm import tqdm

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


@app.command()
def run(
    input_dir: Path = typer.Argument(..., help="A masks + referring-expressions source (MeViS layout)."),
    output: Path = typer.Option(..., "--output", "-o", help="Folder for shards, manifests and run reports."),
    config: Optional[Path] = typer.Option(None, "--config", "-c", help="YAML run config (defaults are embedded)."),
    num_frames: Optional[int] = typer.Option(None, help="Override: frames sampled per clip."),
    samples_per_shard: Optional[int] = typer.Option(None, help="Override: samples per shard."),
    source_name: Optional[str] = typer.Option(None, help="Override: source name recorded on samples."),
    overwrite: bool = typer.Option(False, help="Replace shards already in the output folder."),
) -> None:
    """Turn a source that already has masks + expressions into GCG shards (no models involved)."""
    from videogcg.pipeline.config import RunConfig
    from videogcg.pipeline.local_run import run_masks_expressions

    overrides = {"num_frames": num_frames, "samples_per_shard": samples_per_shard, "source_name": source_name}
    stats = run_masks_expressions(
        input_dir,
        output,
        RunConfig.load(config, overrides),
        overwrite=overwrite,
        progress=lambda items: tqdm(items, desc="videos", unit="video"),
    )
    summary = stats.summary()
    typer.echo(f"wrote {summary['written']} samples to {len(summary['shards'])} shards in {output}; {summary['failed']} failed")
    for reason, count in summary["failures_by_reason"].items():
        typer.echo(f"  failed at {reason}: {count} (details in {output / 'failures.jsonl'})")


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
