"""The figures of a report: dataset-wide counts from the manifests and records, mask-level statistics from
the bounded sample of samples read from the tars."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from videogcg.inspect_dataset import summarize
from videogcg.pipeline.processor import ROUTE_STATES
from videogcg.pipeline.verify import temporal_stability
from videogcg.schemas import Sample
from videogcg.schemas import masks as rle

OVER_BUDGET = "over the review budget"  # the reason WriteShard records for a review sample past the budget
_STATE_ROUTES = {state.value: route for route, state in ROUTE_STATES.items() if route != "drop"}


def dataset_numbers(directory: str | Path, records: list[dict]) -> dict:
    """`videogcg inspect`'s summary plus the samples by verifier route (all rows, from the manifest and records)."""
    summary = summarize(directory)
    routes: Counter = Counter()
    for state, count in summary["review_states"].items():
        routes[_STATE_ROUTES.get(state, "reviewed by a person (route in the sample's meta)")] += count
    dropped = [r for r in records if r["kind"] == "dropped"]
    over = sum(r.get("reasons") == [OVER_BUDGET] for r in dropped)
    routes["drop"] = len(dropped) - over
    if over:
        routes["drop (over the review budget)"] = over
    order = ["accept", "review", "drop"]
    summary["routes"] = dict(sorted(routes.items(), key=lambda kv: (order.index(kv[0]) if kv[0] in order else len(order), kv[0])))
    return summary


def per_sample_counts(manifest: pa.Table, column: str) -> list[int]:
    return [int(v) for v in manifest[column].to_pylist()]


def reason_pattern(reason: str) -> str:
    """A dropped sample's reason with its numbers and quoted phrases masked, so that like reasons count together."""
    reason = re.sub(r"'[^']*'|\"[^\"]*\"", "'…'", reason)
    return re.sub(r"\d+(?:\.\d+)?", "N", reason)


def dropped_by_reason(records: list[dict]) -> dict[str, int]:
    counts = Counter(reason_pattern(reason) for r in records if r["kind"] == "dropped" for reason in r.get("reasons") or ["(no reason)"])
    return dict(counts.most_common())


@dataclass
class SampledStats:
    """Mask-level statistics over the samples read from the tars."""

    samples: int = 0
    mask_areas: list[float] = field(default_factory=list)  # fraction of the frame, per non-empty-slot mask
    stabilities: list[float] = field(default_factory=list)  # per object: mean IoU of consecutive masks
    confidences: dict[str, list[float]] = field(default_factory=dict)  # by verifier route
    phrases_per_answer: list[int] = field(default_factory=list)
    phrases: Counter = field(default_factory=Counter)


def sampled_stats(samples: list[Sample]) -> SampledStats:
    stats = SampledStats(samples=len(samples))
    for sample in samples:
        frame_area = sample.video.height * sample.video.width
        for track in sample.objects:
            stats.mask_areas += [rle.area(m) / frame_area for m in track.masks if m is not None]
            stability = temporal_stability(track)
            if stability is not None:
                stats.stabilities.append(stability)
        verdict = sample.meta.get("verify")
        if isinstance(verdict, dict) and isinstance(verdict.get("confidence"), (int, float)):
            stats.confidences.setdefault(str(verdict.get("route", "unknown")), []).append(float(verdict["confidence"]))
        for turn in sample.conversation:
            stats.phrases_per_answer.append(len(turn.phrases))
            stats.phrases.update(" ".join(p.text.lower().split()) for p in turn.phrases)
    return stats
