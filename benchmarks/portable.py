"""The demo flow on Beam's portable runner path against the in-process runner, in one run.

    .venv/bin/python -m benchmarks.portable [--videos 4]

Portable: a job service and an SDK worker pool on 127.0.0.1 (`videogcg.pipeline.local_services`), as Flink,
Spark and Dataflow run the pipeline: serialized, each DoFn set up (models loaded) in a worker process.
In-process: Beam's local runner, as `make demo` runs. The tiny checkpoints are built before either is timed.
Results: benchmarks/results/portable-cpu.json (+ .md).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import write_results
from videogcg.shards import iter_dataset

RESULTS = Path(__file__).resolve().parent / "results"


FORMS = {
    "masks_expressions": ("mevis", "masks_expressions"),
    "boxes_captions": ("boxes_captions", "boxes_captions"),
    "raw": ("folder", "raw/videos"),
}


def demo_seconds(inputs: Path, output: Path, cache: Path, portable: bool) -> tuple[float, int]:
    """Wall seconds of the demo's three `videogcg run` commands (fresh processes, as `make demo` runs them)."""
    cli = [sys.executable, "-m", "videogcg"]
    launch = [sys.executable, "-m", "videogcg.pipeline.local_services", "--"] if portable else []
    start, samples = time.perf_counter(), 0
    for form, (source_format, folder) in FORMS.items():
        command = [
            *launch,
            *cli,
            "run",
            "--format",
            source_format,
            "--input",
            str(inputs / folder),
            "--output",
            str(output / form),
            f"models.cache_dir={cache}",
        ]
        subprocess.run(command, check=True, capture_output=True)
        samples += sum(1 for _ in iter_dataset(output / form, decode=False))
    return time.perf_counter() - start, samples


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--videos", type=int, default=4)
    args = parser.parse_args()
    from videogcg.synthetic import generate_sources

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        generate_sources(root / "inputs", num_videos=args.videos, seed=0)
        demo_seconds(root / "inputs", root / "warm-up", root / "models", portable=False)  # builds the tiny checkpoints
        local, local_samples = demo_seconds(root / "inputs", root / "local", root / "models", portable=False)
        portable, portable_samples = demo_seconds(root / "inputs", root / "portable", root / "models", portable=True)
    assert local_samples == portable_samples, (local_samples, portable_samples)
    rows = [
        {"runner": "in-process (local)", "wall s": round(local, 2), "samples": local_samples, "ratio to in-process": 1.0},
        {
            "runner": "portable (job service + SDK worker pool)",
            "wall s": round(portable, 2),
            "samples": portable_samples,
            "ratio to in-process": round(portable / local, 2),
        },
    ]
    notes = [
        f"The demo's three runs (MeViS, boxes + captions, raw videos; {args.videos} synthetic videos of 320x240, 24 frames each) "
        "with the embedded tiny config, each a fresh `videogcg run` process, as `make demo` and `make cluster-demo` run them.",
        "Portable: each run starts a job service and an SDK worker pool on 127.0.0.1, the pipeline is serialized and every DoFn "
        "is set up (tiny models loaded) in a worker process; the figure includes starting and stopping the services.",
    ]
    write_results(RESULTS / "portable-cpu.json", rows, notes, f"python -m benchmarks.portable --videos {args.videos}")
    for row in rows:
        print(row)


if __name__ == "__main__":
    main()
