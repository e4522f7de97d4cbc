"""`videogcg build` (a recipe: several sources and splits into one dataset) and `videogcg plan` (what a run
will cost, before it runs)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

EXTRA_ARGS = {"allow_extra_args": True, "ignore_unknown_options": True}


def _split_runs(recipe: Path, data: str, output: str, config: Optional[Path], overrides: list[str], only: list[str]):
    from videogcg.pipeline.recipe import split_runs
    from videogcg.pipeline.settings import ConfigError

    try:
        return split_runs(recipe, data, output, config, overrides, only)
    except ConfigError as error:
        raise typer.BadParameter(str(error), param_hint="recipe") from None


def build(
    ctx: typer.Context,
    recipe: Path = typer.Option(..., "--recipe", "-r", help="A recipe YAML (configs/recipes/videoglamm-gcg.yaml)."),
    data: str = typer.Option(..., "--data", "-d", help="The data root the recipe's paths are relative to (local or URL)."),
    output: str = typer.Option(..., "--output", "-o", help="Dataset root: one folder per source and split (local or URL)."),
    config: Optional[Path] = typer.Option(None, "--config", "-c", help="Base pipeline config instead of the recipe's."),
    only: list[str] = typer.Option([], "--only", help="Only this source, or source/split (repeatable)."),
) -> None:
    """Make a dataset from a recipe: each split of each source is a pipeline run into OUTPUT/<source>/<split>/.

    Rerunning skips finished splits and resumes an interrupted one. Extra arguments as for `run`: `key=value`
    overrides (applied after the recipe's own) and Beam options.
    """
    from videogcg.cli import echo_run_summary, spinner, split_extra_args
    from videogcg.pipeline.recipe import RECIPE_STATS_FILE, run_recipe

    overrides, beam_args = split_extra_args(ctx.args)
    runs = _split_runs(recipe, data, output, config, overrides, only)

    def done(run, summary):
        typer.echo(f"{run.label}:")
        echo_run_summary(summary, run.output, indent="  ")

    with spinner(f"building {recipe.stem} ({len(runs)} splits)"):
        result = run_recipe(runs, output, beam_args, on_done=done)
    totals = result["totals"]
    typer.echo(f"{totals['videos']} videos, {totals['samples']} samples, {totals['failed']} failed; see {output}/{RECIPE_STATS_FILE}")


def plan(
    ctx: typer.Context,
    config: Optional[Path] = typer.Option(None, "--config", "-c", help="Pipeline config (with --input), or the recipe's base."),
    input_path: Optional[str] = typer.Option(None, "--input", "-i", help="One source, as `run --input` takes it."),
    source_format: str = typer.Option("mevis", "--format", "-f", help="Its format, as for `run`."),
    media: Optional[str] = typer.Option(None, help="Its frames or videos folder, as for `run`."),
    recipe: Optional[Path] = typer.Option(None, "--recipe", "-r", help="A recipe instead of one source (with --data)."),
    data: Optional[str] = typer.Option(None, "--data", "-d", help="The recipe's data root."),
    device: str = typer.Option("cpu", help="Worker accelerator: cpu, a100 or h100 (a --costs file may name others)."),
    workers: int = typer.Option(1, min=1, help="Number of workers."),
    accelerators: int = typer.Option(1, min=1, help="Accelerators per worker."),
    cores: int = typer.Option(8, min=1, help="CPU cores per worker (decoding, encoding)."),
    raw_objects: int = typer.Option(3, min=0, help="Objects assumed per raw video (its phrases are not known before captioning)."),
    sample: Optional[int] = typer.Option(None, min=1, help="Count this many videos per source, spread evenly, standing for all."),
    costs: Optional[Path] = typer.Option(
        None, help="A cost table YAML (videogcg.pipeline.stage_costs's shape) instead of the built-in one."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of tables."),
) -> None:
    """Estimate a run before it runs: videos and sampled frames per source (from annotation files and container
    headers, nothing decoded), accelerator-seconds per stage, output bytes and wall time on N workers.

    Extra arguments: Beam options for object storage (e.g. --s3_endpoint_url=...)."""
    import json

    from apache_beam.options.pipeline_options import PipelineOptions

    from videogcg import storage
    from videogcg.cli import spinner
    from videogcg.pipeline.plan import Workers, count_source, format_plan, make_plan
    from videogcg.pipeline.settings import ConfigError, PipelineConfig
    from videogcg.pipeline.source_registry import SourceSpec
    from videogcg.pipeline.stage_costs import DEFAULT_COSTS, load_costs

    storage.configure(PipelineOptions([a for a in ctx.args if a.startswith("-")]))
    if (recipe is None) == (input_path is None):
        raise typer.BadParameter("give either --input (one source) or --recipe with --data", param_hint="--input / --recipe")
    try:
        table = load_costs(costs) if costs else DEFAULT_COSTS
        if recipe is not None:
            if data is None:
                raise typer.BadParameter("--recipe needs --data", param_hint="--data")
            sources = [(r.label, r.spec, r.config) for r in _split_runs(recipe, data, "plan", config, [], [])]
        else:
            sources = [(input_path, SourceSpec(source_format, input_path, media=media), PipelineConfig.load(config))]
        with spinner("counting"):
            counts = [count_source(label, spec, settings, raw_objects, sample) for label, spec, settings in sources]
        result = make_plan(counts, Workers(device, workers, accelerators, cores), table, raw_objects)
    except ConfigError as error:
        raise typer.BadParameter(str(error)) from None
    typer.echo(json.dumps(result.as_dict(), indent=2, default=str) if as_json else format_plan(result))


def register(app: typer.Typer) -> None:
    """Add `build` and `plan` to the command line (`videogcg.cli` calls this; so does `python -m videogcg.cli`)."""
    app.command(context_settings=EXTRA_ARGS)(build)
    app.command(context_settings=EXTRA_ARGS)(plan)
