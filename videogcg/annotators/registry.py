"""One factory from a model spec to a loaded model + processor.

A spec is one of:

- ``hf:<repo id>[@revision]``: a real checkpoint, from the hub or the local Hugging Face cache;
- a local directory (``/path``, ``./path`` or ``local:path``) holding a ``save_pretrained`` checkpoint;
- ``tiny:<family>``: a small random-weight model of the family's architecture, built from a config with a
  fixed seed, saved to a cache directory and then loaded through the same ``from_pretrained`` path as a
  real checkpoint, so the loading code is the code under test.

Loading is strict: a checkpoint of another architecture, or one with missing or mis-shaped weights, is an
error that names the spec (sam2's ``build_sam.py`` is as strict).
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from videogcg.schemas import Provenance

logger = logging.getLogger(__name__)

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


class ModelSpecError(ValueError):
    """A spec that cannot be resolved: unknown scheme, unknown family, missing directory."""


class ModelLoadError(RuntimeError):
    """A checkpoint that resolved but does not load cleanly into the family's architecture."""


@dataclass(frozen=True)
class ModelSpec:
    scheme: str  # "hf" | "local" | "tiny"
    name: str
    revision: str | None = None

    @classmethod
    def parse(cls, text: str) -> ModelSpec:
        text = text.strip()
        if text.startswith("hf:"):
            repo, _, revision = text[3:].partition("@")
            if not repo or repo.count("/") > 1:
                raise ModelSpecError(f"model spec {text!r}: expected hf:<org>/<name>[@revision]")
            return cls("hf", repo, revision or None)
        if text.startswith("tiny:"):
            if not text[5:]:
                raise ModelSpecError(f"model spec {text!r}: expected tiny:<family>")
            return cls("tiny", text[5:])
        if text.startswith("local:"):
            return cls("local", text[6:])
        if text.startswith(("/", "./", "../", "~")):
            return cls("local", text)
        raise ModelSpecError(f"unknown model spec {text!r}: use hf:<repo id>[@revision], tiny:<family>, or a local directory path")

    def __str__(self) -> str:
        if self.scheme == "hf":
            return f"hf:{self.name}" + (f"@{self.revision}" if self.revision else "")
        return f"{self.scheme}:{self.name}"


@dataclass(frozen=True)
class Family:
    """An architecture family: what config types it accepts, how to load it, and how to build a tiny one."""

    name: str
    model_types: tuple[str, ...]
    load_model: Callable[..., Any]  # (path_or_repo, **kwargs) -> (model, loading_info), like from_pretrained
    load_processor: Callable[..., Any] | None  # (path_or_repo, **kwargs) -> processor / tokenizer
    build_tiny: Callable[[Path], None]  # writes a seeded random-weight checkpoint into a directory
    # Checkpoint weights this family may leave unused (a CLIP checkpoint's text tower, when loading its vision tower).
    unused_weight_prefixes: tuple[str, ...] = ()


_FAMILIES: dict[str, Family] = {}


def register_family(family: Family) -> Family:
    _FAMILIES[family.name] = family
    return family


def family(name: str) -> Family:
    from videogcg.annotators import families  # noqa: F401  (registers the built-in families)

    if name not in _FAMILIES:
        raise ModelSpecError(f"unknown model family {name!r}; known: {sorted(_FAMILIES)}")
    return _FAMILIES[name]


@dataclass
class LoadedModel:
    spec: ModelSpec
    family: str
    model: Any
    processor: Any
    revision: str | None
    device: torch.device
    dtype: torch.dtype

    def provenance(self, **parameters: Any) -> Provenance:
        """Provenance for what this model produces, with the call's parameters."""
        return Provenance(
            kind="model",
            name=str(self.spec),
            revision=self.revision,
            parameters={"family": self.family, "dtype": str(self.dtype).removeprefix("torch."), **parameters},
        )


def default_cache_dir() -> Path:
    return Path(os.environ.get("VIDEOGCG_CACHE", Path.home() / ".cache" / "videogcg"))


def tiny_builders_hash() -> str:
    """A hash of the tiny builders' code: a changed builder gets a new cache folder, never a stale checkpoint."""
    digest = hashlib.sha256()
    for path in sorted((Path(__file__).parent / "tiny").glob("*.py")):
        digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()[:16]


def tiny_checkpoint(family_name: str, cache_dir: str | Path | None = None) -> Path:
    """The tiny checkpoint directory of a family, built once (atomically) and reused."""
    fam = family(family_name)
    target = Path(cache_dir or default_cache_dir()) / "tiny" / f"{family_name}-{tiny_builders_hash()}"
    if (target / "config.json").exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{family_name}-", dir=target.parent))
    try:
        fam.build_tiny(staging)
        try:
            os.replace(staging, target)
        except OSError:  # another process published it first (between our build and this rename)
            if not (target / "config.json").exists():
                raise
            shutil.rmtree(staging)
            return target
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    logger.info("built tiny %s checkpoint in %s", family_name, target)
    return target


def _config_revision(path: Path) -> str:
    return "sha256:" + hashlib.sha256((path / "config.json").read_bytes()).hexdigest()[:16]


@dataclass(frozen=True)
class ResolvedSpec:
    """A spec whose checkpoint was found and whose config matches the family; no weights read yet."""

    spec: ModelSpec
    family: Family
    source: str | Path
    kwargs: dict[str, Any]
    config: Any


def resolve(spec: str | ModelSpec, family_name: str, cache_dir: str | Path | None = None) -> ResolvedSpec:
    """Find `spec`'s checkpoint and check its config against `family_name`, reading no weights (a tiny spec
    builds its checkpoint once). Every error here names the spec."""
    spec = ModelSpec.parse(spec) if isinstance(spec, str) else spec
    fam = family(family_name)
    kwargs: dict[str, Any] = {}
    if spec.scheme == "tiny":
        if spec.name != family_name:
            raise ModelSpecError(f"model spec {spec} is not a {family_name} model (use tiny:{family_name})")
        source: str | Path = tiny_checkpoint(family_name, cache_dir)
    elif spec.scheme == "local":
        source = Path(spec.name).expanduser()
        if not (source / "config.json").is_file():
            raise ModelSpecError(f"model spec {spec}: {source} is not a checkpoint directory (no config.json)")
    else:
        source = spec.name
        if spec.revision:
            kwargs["revision"] = spec.revision
    return ResolvedSpec(spec, fam, source, kwargs, _check_architecture(spec, fam, source, kwargs))


def load(
    spec: str | ModelSpec | ResolvedSpec,
    family_name: str,
    device: str = "cpu",
    dtype: str = "float32",
    cache_dir: str | Path | None = None,
) -> LoadedModel:
    """Resolve `spec` and load it as a model of `family_name` on `device` in `dtype`."""
    if dtype not in DTYPES:
        raise ModelSpecError(f"model spec {spec}: unknown dtype {dtype!r}; use one of {sorted(DTYPES)}")
    resolved = spec if isinstance(spec, ResolvedSpec) else resolve(spec, family_name, cache_dir)
    spec, fam, source, kwargs = resolved.spec, resolved.family, resolved.source, resolved.kwargs
    try:
        model, info = fam.load_model(str(source), dtype=DTYPES[dtype], output_loading_info=True, **kwargs)
    except (OSError, RuntimeError) as error:  # RuntimeError: transformers' verdict on mis-shaped weights
        raise ModelLoadError(f"model spec {spec}: cannot load into the {family_name} architecture ({error})") from error
    info["unexpected_keys"] = [k for k in info.get("unexpected_keys") or () if not k.startswith(fam.unused_weight_prefixes)]
    problems = {k: sorted(map(str, v)) for k in ("missing_keys", "unexpected_keys", "mismatched_keys") if (v := info.get(k))}
    if problems:
        raise ModelLoadError(f"model spec {spec}: checkpoint does not match the {family_name} architecture: {problems}")
    processor = fam.load_processor(str(source), **kwargs) if fam.load_processor else None
    model = model.to(device).eval()
    if spec.scheme == "hf":
        revision = getattr(model.config, "_commit_hash", None) or spec.revision
    elif spec.scheme == "tiny":
        revision = f"sha256:{tiny_builders_hash()}"  # seeded builders: the same code gives the same weights
    else:
        revision = _config_revision(Path(source))
    return LoadedModel(spec, family_name, model, processor, revision, torch.device(device), DTYPES[dtype])


def _check_architecture(spec: ModelSpec, fam: Family, source: str | Path, kwargs: dict) -> Any:
    from transformers import AutoConfig

    try:
        config = AutoConfig.from_pretrained(str(source), **kwargs)
    except (OSError, ValueError) as error:
        raise ModelSpecError(f"model spec {spec}: cannot read its config ({error})") from error
    if config.model_type not in fam.model_types:
        raise ModelLoadError(
            f"model spec {spec} is a {config.model_type!r} checkpoint; family {fam.name} needs one of {list(fam.model_types)}"
        )
    return config
