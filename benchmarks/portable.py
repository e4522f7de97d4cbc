"""The demo flow (MeViS form) on Beam's portable runner path against the in-process runner, in one run.

    .venv/bin/python -m benchmarks.portable [--videos 4]

Portable: a job service and an SDK worker pool on 127.0.0.1 (`videogcg.pipeline.local_services`), as Flink,
Spark and Dataflow run the pipeline: serialized, each DoFn set up (models loaded) in a worker process.
In-process: Beam's local runner, as `make demo` runs. The tiny checkpoints are built before either is timed.
Results: benchmarks/results/portable-cpu.json (+ .md).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from benchmarks.common import write_results

RESULTS = Path(__file__).resolve().parent / "results"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--videos", type=int, default=4)
    args = parser.parse_args()
    from videogcg.pipeline.beam_pipeline import run_pipeline
    from videogcg.pipeline.local_services import portable_services
    from videogcg.pipeline.settings import PipelineConfig
    from videogcg.pipeline.source_registry import SourceSpec
    from videogcg.synthetic import generate_sources

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        source = SourceSpec("mevis", str(generate_sources(root / "inputs", num_videos=args.videos, seed=0)["masks_expressions"]))
        config = PipelineConfig.load(overrides=[f"models.cache_dir={root / 'models'}"])
        run_pipeline(source, root / "warm-up", config)  # builds the tiny checkpoints
        start = time.perf_counter()
        local = run_pipeline(source, root / "local", config)
        local_seconds = time.perf_counter() - start
        start = time.perf_counter()
        with portable_services() as options:
            services_up = time.perf_counter() - start
            portable = run_pipeline(source, root / "portable", config, options)
        portable_seconds = time.perf_counter() - start
    assert local["samples"] == portable["samples"], (local, portable)
    rows = [
        {"runner": "in-process (local)", "wall s": round(local_seconds, 2), "samples": local["samples"], "ratio to in-process": 1.0},
        {
            "runner": "portable (job service + SDK worker pool)",
            "wall s": round(portable_seconds, 2),
            "samples": portable["samples"],
            "ratio to in-process": round(portable_seconds / local_seconds, 2),
            "of which starting the services s": round(services_up, 2),
        },
    ]
    notes = [
        f"{args.videos} synthetic videos (320x240, 24 frames) in the MeViS form, the embedded tiny config, as `make demo` runs them.",
        "The portable figure includes starting and stopping the job service and the worker pool, and each worker loading the tiny models in setup().",
    ]
    write_results(RESULTS / "portable-cpu.json", rows, notes, f"python -m benchmarks.portable --videos {args.videos}")
    for row in rows:
        print(row)


if __name__ == "__main__":
    main()
