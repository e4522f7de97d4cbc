"""Training throughput beside the loader's own, on the tiny configuration (CPU), side by side in one run.

    .venv/bin/python -m benchmarks.train [--videos 16] [--steps 60] [--batch-size 4] [--workers 0 1]

The data: synthetic moving-shape videos (8 frames, 160x120) run through the pipeline with tiny models. For
each loader worker count: the loader alone (the training stream through a DataLoader, nothing else) and a
training run of the same batches, whose log records how long the loop waited for data. The loader must not
be the bottleneck: its samples/s should be well above training's, and the wait a small share of a step.
Results: benchmarks/results/train-cpu.json (+ .md).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from benchmarks.common import write_results

RESULTS = Path(__file__).resolve().parent / "results"


def loader_alone(config, batches: int) -> float:
    """Samples per second of the training stream alone, after its first batch (workers started)."""
    from torch.utils.data import DataLoader

    from videogcg.model.batches import TrainingBatches
    from videogcg.model.data import ManifestFilter, select
    from videogcg.model.inputs import ExampleEncoder
    from videogcg.model.parts import load_parts

    parts = load_parts(config.model.parts, config.cache_dir)
    encoder = ExampleEncoder(parts.tokenizer, config.model, parts.image_input, parts.video_input, parts.sam_input)
    stream = TrainingBatches(select(list(config.data.shards), ManifestFilter()), encoder, config.optim.batch_size)
    loader = iter(DataLoader(stream, batch_size=None, num_workers=config.data.num_workers))
    next(loader)
    start, samples = time.perf_counter(), 0
    for _ in range(batches):
        samples += len(next(loader))
    return samples / (time.perf_counter() - start)


def training(config, output: Path) -> dict:
    from videogcg.model.trainer import Trainer

    logs = Trainer(config, output).run()[1:]  # the first step includes starting the workers
    seconds = sum(log.step_seconds for log in logs)
    return {
        "training samples/s": round(sum(log.samples for log in logs) / seconds, 2),
        "waiting for data": f"{100 * sum(log.loader_seconds for log in logs) / seconds:.1f}%",
        "first loss": round(logs[0].loss, 3),
        "last loss": round(logs[-1].loss, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--videos", type=int, default=16)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 1])
    args = parser.parse_args()
    from tests.model.synthetic_data import make_gcg_shards
    from videogcg.model.config import TrainConfig

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        shards = make_gcg_shards(root, args.videos, seed=1, model_cache=str(root / "models"))
        for workers in args.workers:
            config = TrainConfig.load(
                Path(__file__).resolve().parents[1] / "configs/train/tiny.yaml",
                [
                    f"cache_dir={root / 'models'}",
                    f"data.shards={json.dumps([str(shards)])}",
                    f"data.num_workers={workers}",
                    f"optim.steps={args.steps}",
                    f"optim.batch_size={args.batch_size}",
                    f"optim.checkpoint_every={args.steps}",
                ],
            )
            loader = loader_alone(config, args.steps)
            trained = training(config, root / f"run-{workers}")
            rows.append(
                {
                    "loader workers": workers,
                    "loader alone samples/s": round(loader, 2),
                    **trained,
                    "loader / training": round(loader / trained["training samples/s"], 2),
                }
            )
            print(json.dumps(rows[-1]))
    notes = [
        f"{args.videos} synthetic videos (8 frames, 160x120) through the pipeline; tiny configuration (configs/train/tiny.yaml), "
        f"batch {args.batch_size}, {args.steps} steps; the first step (worker start-up) is left out of the training figures.",
        "Loader alone: the training stream (shard read, mp4 decode, tokenising, resizing for three inputs, collation) through a DataLoader.",
        "With 0 workers the loader runs in the training process, so its time is part of each step; with 1 or more it overlaps the step.",
    ]
    command = (
        f"python -m benchmarks.train --videos {args.videos} --steps {args.steps} --batch-size {args.batch_size} --workers "
        + " ".join(map(str, args.workers))
    )
    write_results(RESULTS / "train-cpu.json", rows, notes, command)


if __name__ == "__main__":
    main()
