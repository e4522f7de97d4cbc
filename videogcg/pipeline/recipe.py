"""A recipe: several sources, each with its splits and its own settings, made into one dataset by one command.

    name: videoglamm-gcg
    config: ../pretrained.yaml            # the pipeline config every source starts from (relative to this file)
    sources:
      - name: mevis
        format: mevis
        overrides: {sampling.policy: all, sampling.max_frames: 200}
        splits:
          train: {path: mevis/train}
          valid_u: {path: mevis/valid_u}

Split paths are relative to the data root given on the command line (a local folder or a URL). Each split is
one pipeline run into ``<output>/<source>/<split>/``, with its own shards: a rerun skips finished splits and
resumes an interrupted one. Settings apply in this order: the base config, the recipe's `overrides`, the
source's, then the command line's.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from videogcg import storage
from videogcg.pipeline.settings import ConfigError, PipelineConfig
from videogcg.pipeline.source_registry import FORMATS, SourceSpec

logger = logging.getLogger(__name__)

RECIPE_STATS_FILE = "recipe_stats.json"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SplitInput(_Strict):
    """Where one split of a source lies, relative to the data root."""

    path: str = Field(description="the dataset folder or annotation file, as `videogcg run --input` takes it")
    media: str | None = Field(default=None, description="frames or videos folder, for formats that keep them apart")
    vidor_annotations: str | None = Field(default=None, description="VidSTG: VidOR's annotation folder (the box trajectories)")
    ids: str | None = Field(default=None, description="a JSON file listing the split's video ids (e.g. ActivityNet-Entities')")
    ids_key: str | None = Field(default=None, description="the key of that file holding the list")


class RecipeSource(_Strict):
    name: str
    format: str
    overrides: dict[str, Any] = {}
    splits: dict[str, SplitInput] = Field(min_length=1)


class Recipe(_Strict):
    name: str
    description: str = ""
    config: str | None = Field(default=None, description="base pipeline config, relative to the recipe file")
    overrides: dict[str, Any] = {}
    sources: list[RecipeSource] = Field(min_length=1)


@dataclass(frozen=True)
class SplitRun:
    """One split of one source: what `run_pipeline` is called with."""

    source: str
    split: str
    spec: SourceSpec
    config: PipelineConfig
    output: str

    @property
    def label(self) -> str:
        return f"{self.source}/{self.split}"


def load_recipe(path: str | Path) -> Recipe:
    try:
        data = yaml.safe_load(Path(path).read_text())
    except (OSError, yaml.YAMLError) as error:
        raise ConfigError(f"{path}: cannot be read as YAML ({error})") from None
    try:
        recipe = Recipe.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        raise ConfigError(f"{path}: {'.'.join(str(p) for p in first['loc'])}: {first['msg']}") from None
    for n, source in enumerate(recipe.sources):
        if source.format not in FORMATS:
            raise ConfigError(f"{path}: sources.{n}.format: unknown format {source.format!r}; known: {sorted(FORMATS)}")
    return recipe


def _as_overrides(values: dict[str, Any]) -> list[str]:
    return [f"{key}={json.dumps(value)}" for key, value in values.items()]  # JSON is YAML: values keep their types


def split_runs(
    recipe_path: str | Path,
    data_root: str,
    output: str,
    config: str | Path | None = None,
    overrides: list[str] | None = None,
    only: list[str] | None = None,
) -> list[SplitRun]:
    """The runs a recipe stands for, each with its config resolved. `only`: source names or ``source/split``."""
    recipe = load_recipe(recipe_path)
    base = config if config is not None else (Path(recipe_path).parent / recipe.config if recipe.config else None)
    known = {s.name for s in recipe.sources} | {f"{s.name}/{split}" for s in recipe.sources for split in s.splits}
    unknown = sorted(set(only or []) - known)
    if unknown:
        raise ConfigError(f"--only {', '.join(unknown)}: not in the recipe; it has {', '.join(sorted(known))}")

    def at_root(relative: str | None) -> str | None:
        return None if relative is None else storage.join(data_root, relative)

    runs = []
    for source in recipe.sources:
        layered = _as_overrides(recipe.overrides) + _as_overrides(source.overrides) + list(overrides or [])
        try:
            settings = PipelineConfig.load(base, layered)
        except ConfigError as error:
            raise ConfigError(f"source {source.name}: {error}") from None
        for split, where in source.splits.items():
            if only and source.name not in only and f"{source.name}/{split}" not in only:
                continue
            spec = SourceSpec(
                source.format,
                at_root(where.path),
                name=source.name,
                media=at_root(where.media),
                vidor_annotations=at_root(where.vidor_annotations),
                ids=at_root(where.ids),
                ids_key=where.ids_key,
            )
            runs.append(SplitRun(source.name, split, spec, settings, storage.join(output, source.name, split)))
    return runs


def run_recipe(
    runs: list[SplitRun], output: str, beam_args: list[str] | None = None, on_done: Callable[[SplitRun, dict], None] | None = None
) -> dict:
    """Run every split in turn; returns (and writes to recipe_stats.json) the summary of each. Splits recorded by
    earlier invocations (e.g. with `--only`) stay in the file, so its totals describe the whole dataset."""
    from videogcg.pipeline.beam_pipeline import run_pipeline

    stats_file = storage.join(output, RECIPE_STATS_FILE)
    summaries = json.loads(storage.read_text(stats_file))["splits"] if storage.exists(stats_file) else {}
    for run in runs:
        logger.info("recipe: %s -> %s", run.label, run.output)
        summary = run_pipeline(run.spec, run.output, run.config, beam_args)
        summaries[run.label] = {k: summary[k] for k in ("videos", "samples", "routes", "failed", "failures_by_reason", "wall_seconds")}
        if on_done:
            on_done(run, summary)
    totals = {key: sum(s[key] for s in summaries.values()) for key in ("videos", "samples", "failed")}
    result = {"splits": summaries, "totals": totals}
    storage.publish_text(stats_file, json.dumps(result, indent=2))
    return result
