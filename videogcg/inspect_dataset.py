"""Summarise a dataset directory from its manifests (no tar is opened)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pyarrow.compute as pc

from videogcg.pipeline.run_report import failures_by_reason, read_records
from videogcg.shards import list_shards, read_manifest


def summarize(directory: str | Path) -> dict:
    manifest = read_manifest(directory)
    records = read_records(directory)

    def total(column: str) -> int:
        return int(pc.sum(manifest[column]).as_py() or 0)

    scores = manifest["min_score"].drop_null()
    return {
        "directory": str(directory),
        "shards": len(list_shards(directory)),
        "samples": manifest.num_rows,
        "videos": len(set(manifest["video_id"].to_pylist())),
        "objects": total("num_objects"),
        "phrases": total("num_phrases"),
        "masks": total("num_masks"),
        "frames": total("num_frames"),
        "sources": dict(sorted(Counter(manifest["source"].to_pylist()).items())),
        "review_states": dict(sorted(Counter(manifest["review_state"].to_pylist()).items())),
        "min_score": pc.min(scores).as_py() if len(scores) else None,
        "dropped": sum(r["kind"] == "dropped" for r in records),
        "failures": sum(r["kind"] == "failure" for r in records),
        "failures_by_reason": failures_by_reason(records),
    }


def format_summary(summary: dict) -> str:
    lines = [f"dataset {summary['directory']}"]
    for name in ("shards", "samples", "videos", "objects", "phrases", "masks", "frames", "dropped", "failures"):
        lines.append(f"  {name:<14}{summary[name]:>10,}")
    for name in ("sources", "review_states", "failures_by_reason"):
        if summary[name]:
            lines.append(f"  {name.replace('_', ' ')}:")
            lines += [f"    {k:<30}{v:>8,}" for k, v in summary[name].items()]
    if summary["min_score"] is not None:
        lines.append(f"  lowest score  {summary['min_score']:>10.3f}")
    return "\n".join(lines)
