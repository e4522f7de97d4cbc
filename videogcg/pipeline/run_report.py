"""What a run leaves next to its shards: per shard, the dead letters and dropped samples
(``shard-NNNNNN.records.jsonl``, absent where there are none), and for the run, ``run_stats.json``."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from videogcg import storage
from videogcg.shards import ShardWriterConfig, list_shards, read_manifest
from videogcg.shards.layout import records_path, shard_name

STATS_FILE = "run_stats.json"


@dataclass(frozen=True)
class Failure:
    """One video that did not become samples, and why (a dead letter)."""

    source: str
    video_id: str
    stage: str
    error: str  # exception class name
    message: str


def shard_records_path(output: str | Path, shard: int) -> Path | storage.ObjectPath:
    return records_path(storage.path(output) / shard_name(ShardWriterConfig.prefix, shard))


def read_records(directory: str | Path) -> list[dict]:
    """Dead letters and dropped samples of the finished shards."""
    records = []
    for tar in list_shards(directory):
        path = records_path(tar)
        if path.exists():
            records += [json.loads(line) for line in storage.read_text(path).splitlines() if line.strip()]
    return records


def read_failures(directory: str | Path) -> list[Failure]:
    return [
        Failure(**{k: r[k] for k in ("source", "video_id", "stage", "error", "message")})
        for r in read_records(directory)
        if r["kind"] == "failure"
    ]


def failures_by_reason(records: list[dict]) -> dict[str, int]:
    """Dead-letter counts by "stage: error"."""
    return dict(Counter(f"{r['stage']}: {r['error']}" for r in records if r["kind"] == "failure"))


def summarize_run(output: str | Path, videos: int, processed: int, metrics: dict, seconds: float, models: dict) -> dict:
    manifest = read_manifest(output)
    records = read_records(output)
    failures = [r for r in records if r["kind"] == "failure"]
    summary = {
        "videos": videos,
        "videos_processed_this_run": processed,
        "samples": manifest.num_rows,
        "routes": {
            "accept": manifest["review_state"].to_pylist().count("auto_verified"),
            "review": manifest["review_state"].to_pylist().count("auto"),
            "drop": sum(r["kind"] == "dropped" for r in records),
        },
        "failed": len(failures),
        "failures_by_reason": failures_by_reason(records),
        "shards": [p.name for p in list_shards(output)],
        "stage_seconds": metrics.get("stage_seconds", {}),
        "frame_ms": metrics.get("frame_ms", {}),  # mean milliseconds per sampled frame, per stage
        "counters": metrics.get("counters", {}),  # the Beam counters a cluster runner's UI shows while the job runs
        "wall_seconds": round(seconds, 3),
        "models": models,
    }
    storage.publish_text(storage.join(output, STATS_FILE), json.dumps(summary, indent=2))
    return summary
