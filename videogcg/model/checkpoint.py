"""Training checkpoints: the trained weights, optimizer and schedule, step, and every rank's RNG state, in
`<output>/checkpoints/step-NNNNNNN/`, made visible by one rename once complete (a crash mid-save leaves the
previous checkpoint as the latest)."""

from __future__ import annotations

import json
import random
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

PREFIX = "step-"


@dataclass
class Checkpoint:
    step: int
    model: dict[str, torch.Tensor]
    optimizer: dict
    scheduler: dict


def checkpoint_dir(output: Path, step: int) -> Path:
    return output / "checkpoints" / f"{PREFIX}{step:07d}"


def latest(output: Path) -> Path | None:
    found = sorted((output / "checkpoints").glob(f"{PREFIX}*")) if (output / "checkpoints").is_dir() else []
    return found[-1] if found else None


def staging_dir(output: Path, step: int) -> Path:
    return output / "checkpoints" / f".partial-{step:07d}"


def rng_state() -> dict:
    state = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_rank_state(staging: Path, rank: int) -> None:
    torch.save(rng_state(), staging / f"rng-rank{rank}.pt")


def save_shared(staging: Path, checkpoint: Checkpoint, metadata: dict) -> None:
    torch.save(checkpoint.model, staging / "trainable.pt")
    torch.save({"optimizer": checkpoint.optimizer, "scheduler": checkpoint.scheduler}, staging / "optimizer.pt")
    (staging / "state.json").write_text(json.dumps({"step": checkpoint.step, **metadata}, indent=2))


def publish(output: Path, step: int, keep: int) -> Path:
    """Rename the staged checkpoint into place and keep only the newest `keep`."""
    target = checkpoint_dir(output, step)
    if target.exists():
        shutil.rmtree(target)
    staging_dir(output, step).rename(target)
    for old in sorted((output / "checkpoints").glob(f"{PREFIX}*"))[:-keep]:
        shutil.rmtree(old)
    return target


def load(path: Path, rank: int) -> tuple[Checkpoint, dict | None]:
    """The checkpoint in `path` and this rank's RNG state (None when it was saved with fewer ranks)."""
    state = json.loads((path / "state.json").read_text())
    optim = torch.load(path / "optimizer.pt", weights_only=False, map_location="cpu")  # rank 0 saved from its device
    rng_file = path / f"rng-rank{rank}.pt"
    rng = torch.load(rng_file, weights_only=False) if rng_file.exists() else None
    weights = torch.load(path / "trainable.pt", map_location="cpu")
    return Checkpoint(state["step"], weights, optim["optimizer"], optim["scheduler"]), rng
