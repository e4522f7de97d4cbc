"""`videogcg report` on a dataset of 1,000 samples: how long the page takes, and that it stays bounded.

    .venv/bin/python -m benchmarks.report [--samples 1000] [--per-shard 100]

The dataset is synthetic and written straight through `ShardWriter` (no pipeline run): rendered moving-shape
videos at 320x240, 8 sampled frames, three object tracks each, several conversations per video (its clip
encoded once), verifier metadata with seeded confidences, and a few dead letters per shard. Timed: the report
in-process (median after a warm-up) with the default bounds (200 samples read, 12 in the gallery) and reading
every sample, and the `videogcg report` command in a fresh process (imports included).
Results: benchmarks/results/report-cpu.json.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.common import peak_rss_mb, timed, write_results

RESULTS = Path(__file__).resolve().parent / "results"
FRAMES = (0, 2, 4, 6, 8, 10, 12, 14)


def make_dataset(directory: Path, samples: int, per_shard: int, videos: int = 25, seed: int = 0) -> None:
    from tests.factories import make_sample
    from videogcg.schemas import ReviewState
    from videogcg.shards import ShardWriter, ShardWriterConfig, encode_clip
    from videogcg.shards.layout import records_path
    from videogcg.synthetic import random_scene, render

    rng = np.random.default_rng(seed)
    rendered = [render(random_scene(rng, f"bench{v:04d}", width=320, height=240, num_frames=16)) for v in range(videos)]
    clips = {}
    with ShardWriter(directory, ShardWriterConfig(max_samples=per_shard)) as writer:
        for n in range(samples):
            video = rendered[n % videos]
            sample = make_sample(video, frame_indices=FRAMES, source=f"synthetic-{n % 3}", conversation_index=n // videos)
            confidence = float(rng.uniform(0.3, 1.0))
            route = "accept" if confidence >= 0.7 else "review"
            verdict = {"confidence": round(confidence, 4), "route": route, "reasons": [], "checks": {}}
            sample = sample.model_copy(
                update={
                    "meta": {**sample.meta, "verify": verdict},
                    "review": ReviewState.AUTO_VERIFIED if route == "accept" else ReviewState.AUTO,
                }
            )
            if video.spec.video_id not in clips:
                clips[video.spec.video_id] = encode_clip(sample, video.frames[list(FRAMES)])
            writer.write_encoded(sample, clips[video.spec.video_id])
    for shard in writer.finished:
        failure = {
            "kind": "failure",
            "source": "synthetic-0",
            "stage": "sample_frames",
            "error": "VideoReadError",
            "message": "file is empty",
        }
        failures = [{**failure, "video_id": f"{shard.stem}-{i}"} for i in range(2)]
        dropped = [{"kind": "dropped", "key": f"{shard.stem}-drop", "video_id": "x", "reasons": ["object 1 stability 0.10 < 0.2"]}]
        records_path(shard).write_text("".join(json.dumps(r) + "\n" for r in failures + dropped))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--per-shard", type=int, default=100)
    args = parser.parse_args(argv)

    from videogcg.report import build_report

    work = Path(tempfile.mkdtemp(prefix="videogcg-report-bench-"))
    dataset = work / "dataset"
    start = time.perf_counter()
    make_dataset(dataset, args.samples, args.per_shard)
    made = time.perf_counter() - start

    rows = []
    for label, max_samples, gallery in (("default bounds", 200, 12), ("every sample read", args.samples, 12)):
        seconds = timed(lambda: build_report(dataset, max_samples=max_samples, gallery=gallery), repeats=3, warmup=1)
        page = build_report(dataset, max_samples=max_samples, gallery=gallery)
        rows.append(
            {
                "case": f"build_report, {label}",
                "samples": args.samples,
                "read": min(max_samples, args.samples),
                "gallery": gallery,
                "seconds": round(seconds, 2),
                "page_mb": round(len(page.encode()) / 1e6, 2),
            }
        )
    command = [sys.executable, "-m", "videogcg.cli", "report", str(dataset), "--output", str(work / "report.html")]
    cli_seconds = []
    for _ in range(3):
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        cli_seconds.append(time.perf_counter() - start)
    rows.append(
        {
            "case": "videogcg report (fresh process, imports included)",
            "samples": args.samples,
            "read": min(200, args.samples),
            "gallery": 12,
            "seconds": round(sorted(cli_seconds)[1], 2),
            "page_mb": round((work / "report.html").stat().st_size / 1e6, 2),
        }
    )
    notes = [
        f"Synthetic dataset of {args.samples} samples in {-(-args.samples // args.per_shard)} shards (320x240, 8 frames, 3 tracks per "
        f"sample), written in {made:.1f} s; 2 failures and 1 dropped record per shard.",
        "In-process rows: median of 3 after a warm-up. The command row: median of 3 fresh processes.",
        f"Peak resident memory of the benchmark process: {peak_rss_mb():.0f} MB.",
    ]
    write_results(
        RESULTS / "report-cpu.json", rows, notes, " ".join(["python -m benchmarks.report", *(argv if argv is not None else sys.argv[1:])])
    )
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
