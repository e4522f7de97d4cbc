"""`videogcg build` (a recipe: several sources and splits into one dataset) and `videogcg plan` (what a run
will cost, before it runs)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from videogcg.cli import app, echo_run_summary, spinner, split_extra_args

EXTRA_ARGS = {"allow_extra_args": True, "ignore_unknown_options": True}


def _split_runs(recipe: Path, data: str, output: str, config: Optional[Path], overrides: list[str], only: list[str]):
    from videogcg.pipeline.recipe import split_runs
    from videogcg.pipeline.settings import ConfigError

    try:
        return split_runs(recipe, data, output, config, overrides, only)
    except ConfigError as error:
        raise typer.BadParameter(str(error), param_hint="recipe") from None


@app.command(context_settings=EXTRA_ARGS)
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
