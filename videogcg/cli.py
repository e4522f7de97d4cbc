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
    input_path: str = typer.Option(
        ..., "--input", "-i", help="The source: a dataset folder or annotation file, per --format (local, s3://, gs://, hdfs://)."
    ),
    output: str = typer.Option(..., "--output", "-o", help="Folder for shards, manifests, dead letters and run stats (local or URL)."),
    config: Optional[Path] = typer.Option(None, "--config", "-c", help="YAML pipeline config (configs/tiny.yaml; defaults are embedded)."),
    source_format: str = typer.Option("mevis", "--format", "-f", help="Source format: " + ", ".join(sorted(FORMATS)) + "."),
    source_name: Optional[str] = typer.Option(None, help="Source name recorded on samples (default: the input's name)."),
    media: Optional[str] = typer.Option(None, help="Frames or videos folder, for formats that keep them apart (ytvis: JPEGImages)."),
) -> None:
    """Run (or resume) the annotation pipeline: videos in, GCG shards out.

    Extra arguments: `key=value` config overrides (e.g. sampling.num_frames=4) and Beam pipeline options
    (e.g. --runner=DataflowRunner --project=...); without --runner, Beam's local in-memory runner.
    """
    from videogcg.pipeline.beam_pipeline import run_pipeline
    from videogcg.pipeline.settings import ConfigError, PipelineConfig
    from videogcg.pipeline.source_registry import SourceSpec

    overrides, beam_args = split_extra_args(ctx.args)
    try:
        settings = PipelineConfig.load(config, overrides)
    except ConfigError as error:
        raise typer.BadParameter(str(error), param_hint="config") from None
    with spinner(f"annotating {input_path}"):
        summary = run_pipeline(SourceSpec(source_format, input_path, source_name, media), output, settings, beam_args)
    echo_run_summary(summary, output)


def split_extra_args(args: list[str]) -> tuple[list[str], list[str]]:
    """A command's extra arguments: `key=value` config overrides, and Beam options (the local runner unless named)."""
    from videogcg.pipeline.beam_pipeline import LOCAL_RUNNER

    overrides = [a for a in args if not a.startswith("-")]
    beam_args = [a for a in args if a.startswith("-")]
    if not any(a.startswith("--runner") for a in beam_args):
        beam_args = LOCAL_RUNNER + beam_args
    return overrides, beam_args


def echo_run_summary(summary: dict, output: str, indent: str = "") -> None:
    routes = summary["routes"]
    typer.echo(
        f"{indent}{summary['videos']} videos ({summary['videos_processed_this_run']} this run): {summary['samples']} samples in "
        f"{len(summary['shards'])} shards (accept {routes['accept']}, review {routes['review']}, dropped {routes['drop']}); "
        f"{summary['failed']} failed"
    )
    for reason, count in summary["failures_by_reason"].items():
        typer.echo(f"{indent}  failed at {reason}: {count} (details in {output}/shard-*.records.jsonl)")


@contextmanager
def spinner(description: str):
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


@app.command()
def report(
    directory: Path,
    output: Path = typer.Option(..., "--output", "-o", help="HTML file to write (one page, everything embedded)."),
    max_samples: int = typer.Option(
        200, min=0, help="Samples read from the tars for the mask-level statistics (seeded, spread over shards)."
    ),
    gallery: int = typer.Option(12, min=0, help="Samples shown with their previews (drawn from those read)."),
    seed: int = typer.Option(0, help="Seed of the choice of samples."),
) -> None:
    """Write a static HTML report of a dataset: counts, plots, dead letters and a gallery of previews."""
    from videogcg.report import write_report

    if not directory.is_dir():
        raise typer.BadParameter(f"{directory} is not a folder", param_hint="DIRECTORY")
    write_report(directory, output, max_samples=max_samples, gallery=gallery, seed=seed)
    typer.echo(f"report of {directory} -> {output}")


export_app = typer.Typer(help="Write a dataset in the layouts other tools read.", no_args_is_help=True)
app.add_typer(export_app, name="export")


def _dataset_dir(directory: Path, hint: str = "--input") -> Path:
    if not directory.is_dir():
        raise typer.BadParameter(f"{directory} is not a folder", param_hint=hint)
    return directory


@export_app.command("videoglamm")
def export_videoglamm_command(
    input: Path = typer.Option(..., "--input", "-i", help="Dataset folder (shards + manifests)."),
    output: Path = typer.Option(..., "--output", "-o", help="Folder for instruction_data/ and JPEGImages/."),
    val: float = typer.Option(0.1, min=0, max=1, help="Fraction of videos in the val split."),
    test: float = typer.Option(0.1, min=0, max=1, help="Fraction of videos in the test split."),
) -> None:
    """VideoGLaMM's video_gcg layout: train / val / test YouTube-VIS JSON with dense captions, and JPEG frames."""
    from videogcg.interop.videoglamm import SplitFractions, export_videoglamm

    try:
        fractions = SplitFractions(val=val, test=test)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--val/--test") from None
    counts = export_videoglamm(_dataset_dir(input), output, fractions)
    typer.echo(f"{output}: {counts['splits']} clips, {counts['annotations']} annotations")


@export_app.command("ytvis")
def export_ytvis_command(
    input: Path = typer.Option(..., "--input", "-i", help="Dataset folder (shards + manifests)."),
    output: Path = typer.Option(..., "--output", "-o", help="Folder for instances.json and JPEGImages/."),
) -> None:
    """YouTube-VIS / COCO-video JSON (CVAT, FiftyOne, X-AnyLabeling import it), and JPEG frames."""
    from videogcg.interop.ytvis import export_ytvis

    counts = export_ytvis(_dataset_dir(input), output)
    typer.echo(f"{output}: {counts['videos']} clips, {counts['annotations']} annotations, {counts['categories']} categories")


review_app = typer.Typer(help="Human review in Label Studio: serve, export samples as tasks, import the reviews.", no_args_is_help=True)
app.add_typer(review_app, name="review")


def _client(url: Optional[str], data_dir: Optional[Path]):
    import os

    from videogcg.review_ui.client import LabelStudioClient
    from videogcg.review_ui.server import DEFAULT_PORT, HOST, default_data_dir, load_credentials

    data_dir = data_dir or default_data_dir()
    url = url or os.environ.get("VIDEOGCG_LS_URL") or f"http://{HOST}:{DEFAULT_PORT}"
    return LabelStudioClient(url, load_credentials(data_dir).token), data_dir


_URL = typer.Option(None, help="Label Studio URL (default: $VIDEOGCG_LS_URL or the local server's).")
_DATA = typer.Option(None, help="The local server's folder: credentials and served frames (default: $VIDEOGCG_LS_DATA).")


@review_app.command("serve")
def review_serve(
    port: int = typer.Option(8089, help="Port on 127.0.0.1."),
    data_dir: Optional[Path] = _DATA,
) -> None:
    """Start Label Studio (from .ls-venv) on 127.0.0.1 and keep it running until Ctrl-C."""
    import signal

    from videogcg.review_ui.server import LabelStudioServer, ServerError, default_data_dir, default_venv

    server = LabelStudioServer(data_dir or default_data_dir(), port=port, venv=default_venv())
    try:
        url = server.start()
    except ServerError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"Label Studio at {url} (user and token in {server.data_dir / 'credentials.json'} or $VIDEOGCG_LS_*); Ctrl-C stops it")
    try:
        signal.sigwait({signal.SIGINT, signal.SIGTERM})
    finally:
        server.stop()


@review_app.command("export")
def review_export(
    input: Path = typer.Option(..., "--input", "-i", help="Dataset folder (shards + manifests)."),
    project: str = typer.Option(..., help="Label Studio project name (created if missing, reused otherwise)."),
    route: str = typer.Option("review", help="Which samples: review, accept or all."),
    budget: Optional[int] = typer.Option(None, min=0, help="At most this many samples, lowest confidence first."),
    keyframes: int = typer.Option(3, min=1, help="Keyframes per task (for a new project)."),
    url: Optional[str] = _URL,
    data_dir: Optional[Path] = _DATA,
) -> None:
    """Create review tasks with the pipeline's masks and answers as pre-annotations (no duplicates)."""
    from videogcg.review_ui.client import LabelStudioError
    from videogcg.review_ui.export import ExportOptions, export_for_review
    from videogcg.review_ui.server import files_root

    try:
        options = ExportOptions(route=route, budget=budget, num_keyframes=keyframes)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--route") from None
    client, data_dir = _client(url, data_dir)
    try:
        counts = export_for_review(client, _dataset_dir(input), project, files_root(data_dir), options)
    except LabelStudioError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"project {project!r}: {counts['added']} tasks added, {counts['already_exported']} already there ({client.url})")


@review_app.command("import")
def review_import(
    project: str = typer.Option(..., help="Label Studio project name."),
    input: Path = typer.Option(..., "--input", "-i", help="The dataset folder the tasks were exported from."),
    output: Path = typer.Option(..., "--output", "-o", help="Folder for the reviewed shards."),
    config: Optional[Path] = typer.Option(None, help="Pipeline config naming the SAM2 model that re-propagates edited masks."),
    url: Optional[str] = _URL,
    data_dir: Optional[Path] = _DATA,
) -> None:
    """Apply the submitted reviews and write reviewed shards and review_stats.json."""
    from videogcg.annotators.propagator import MaskPropagator, PropagatorConfig
    from videogcg.pipeline.settings import PipelineConfig
    from videogcg.review_ui.apply import SAM2Repropagation
    from videogcg.review_ui.client import LabelStudioError
    from videogcg.review_ui.import_reviews import import_reviews

    models = PipelineConfig.load(config).models
    propagator = MaskPropagator(
        PropagatorConfig(model=models.propagator, device=models.device, dtype=models.dtype, cache_dir=models.cache_dir)
    )
    client, _ = _client(url, data_dir)
    try:
        stats = import_reviews(client, project, _dataset_dir(input), output, SAM2Repropagation(propagator))
    except LabelStudioError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from None
    iou = stats["mean_iou_auto_vs_human"]
    typer.echo(
        f"{stats['tasks']} tasks, {stats['reviewed']} reviewed: {stats['accepted']} accepted, {stats['fixed']} fixed, "
        f"{stats['rejected']} rejected, {stats['edited']} edited; automatic vs human mask IoU on edited keyframes: "
        f"{'n/a' if iou is None else f'{iou:.3f}'}; {len(stats['problems'])} problems -> {output}"
    )


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def train(
    ctx: typer.Context,
    config: Optional[Path] = typer.Option(
        None, "--config", "-c", help="YAML training config (configs/train/tiny.yaml; defaults are embedded)."
    ),
    shards: Optional[list[Path]] = typer.Option(None, "--shards", help="Dataset folder (shards + manifests); repeat for several."),
    output: Optional[Path] = typer.Option(
        None, "--output", "-o", help="Folder for checkpoints, the log and the trained weights; resumes from it."
    ),
    meta: bool = typer.Option(
        False, "--meta", help="Build the model on the meta device from the config's architectures and print its parameter counts."
    ),
) -> None:
    """Train the grounding model on GCG shards, in one process or under torchrun (DDP).

    Extra arguments are `key=value` config overrides (e.g. optim.steps=200 model.lora.rank=16). An output folder
    with checkpoints resumes from the latest one.
    """
    from videogcg.configuration import ConfigError
    from videogcg.model.config import TrainConfig

    overrides = list(ctx.args) + ([f"data.shards={json.dumps([str(s) for s in shards])}"] if shards else [])
    try:
        settings = TrainConfig.load(config, overrides)
    except ConfigError as error:
        raise typer.BadParameter(str(error), param_hint="config") from None
    if meta:
        _print_parameter_counts(settings)
        return
    if output is None:
        raise typer.BadParameter("an output folder is needed to train", param_hint="--output")
    _train(settings, output)


def _print_parameter_counts(settings) -> None:
    from videogcg.model.architecture import build_on_meta, parameter_counts
    from videogcg.model.parts import PartError

    try:
        counts = parameter_counts(build_on_meta(settings.model))
    except PartError as error:
        raise typer.BadParameter(str(error), param_hint="config") from None
    for name, count in counts.items():
        typer.echo(f"{name:<15}{count['total']:>16,} parameters {count['trainable']:>16,} trained")


def _train(settings, output: Path) -> None:
    from videogcg.model.parts import PartError
    from videogcg.model.trainer import Trainer, TrainingSetupError

    bar = None

    def progress(log) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(total=settings.optim.steps, initial=log.step - 1, desc="training", unit="step")
        bar.update(1)
        bar.set_postfix(loss=f"{log.loss:.4f}", samples_s=f"{log.samples_per_second:.2f}")

    try:
        trainer = Trainer(settings, output, on_step=progress)
        logs = trainer.run()
    except (PartError, TrainingSetupError) as error:
        raise typer.BadParameter(str(error), param_hint="config") from None
    if bar is not None:
        bar.close()
    if trainer.dist.main and logs:
        last = logs[-1]
        seconds = sum(log.step_seconds for log in logs)
        waited = sum(log.loader_seconds for log in logs)
        typer.echo(
            f"step {last.step}: loss {last.loss:.4f} (ce {last.ce:.4f}, bce {last.bce:.4f}, dice {last.dice:.4f}); "
            f"{sum(log.samples for log in logs) / seconds:.2f} samples/s, {100 * waited / seconds:.1f}% waiting for data; "
            f"skipped {last.skipped or 'none'}; weights in {output / 'trainable.pt'}"
        )


@app.command()
def predict(
    model: Path = typer.Option(..., "--model", "-m", help="A `videogcg train` output folder."),
    input_path: Path = typer.Option(..., "--input", "-i", help="Dataset folder whose questions to answer."),
    output: Path = typer.Option(..., "--output", "-o", help="Folder for the answers, as a dataset (score it with `videogcg eval`)."),
    max_new_tokens: int = typer.Option(256, min=1),
    device: str = typer.Option("cpu", help="cpu, cuda, cuda:1, ..."),
) -> None:
    """Answer each sample's question with the trained model: a grounded answer and a mask per phrase on every frame."""
    from videogcg.model.inference import write_predictions

    try:
        with spinner(f"answering {input_path}"):
            written = write_predictions(model, _dataset_dir(input_path), output, max_new_tokens, device)
    except FileNotFoundError as error:
        raise typer.BadParameter(str(error), param_hint="--model") from None
    typer.echo(f"{written} answers in {output}; score them with: videogcg eval --predictions {output} --references {input_path}")


@app.command("eval")
def evaluate_command(
    predictions: Path = typer.Option(..., help="Dataset folder with the predicted samples (a model's, or the pipeline's)."),
    references: Path = typer.Option(..., help="Dataset folder with the ground truth."),
    by: str = typer.Option("key", help="Pair samples by 'key', or by 'clip' (video id, clip and frames) across sources."),
    text_encoder: str = typer.Option("hf:bert-base-uncased", help="Model comparing phrases for recall (as VideoGLaMM)."),
    cache_dir: Optional[str] = typer.Option(None, help="Where tiny models are built."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """GCG metrics (mIoU, recall, CIDEr-D) and referring J&F of predictions against ground truth."""
    from videogcg.model.evaluation.gcg import evaluate
    from videogcg.model.evaluation.text import EncoderSimilarity

    if by not in ("key", "clip"):
        raise typer.BadParameter("use key or clip", param_hint="--by")
    result = evaluate(
        _dataset_dir(predictions), _dataset_dir(references), EncoderSimilarity(text_encoder, cache_dir=cache_dir), by=by
    ).as_dict()
    if as_json:
        typer.echo(json.dumps(result, indent=2))
        return
    for name, value in result.items():
        typer.echo(f"{name:<20}{'n/a' if value is None else (f'{value:.4f}' if isinstance(value, float) else value)}")


from videogcg.cli_recipes import register  # noqa: E402 - its commands use the helpers above

register(app)

if __name__ == "__main__":
    app()
