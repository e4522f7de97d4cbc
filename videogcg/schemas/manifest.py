"""The Parquet manifest: one row per sample, so a dataset can be filtered and audited without opening tars."""

from __future__ import annotations

import statistics

import pyarrow as pa

from videogcg.schemas.sample import Sample

MANIFEST_SCHEMA = pa.schema(
    [
        pa.field("key", pa.string(), nullable=False),
        pa.field("shard", pa.string(), nullable=False),
        pa.field("video_id", pa.string(), nullable=False),
        pa.field("source", pa.string(), nullable=False),
        pa.field("num_objects", pa.int32(), nullable=False),
        pa.field("num_phrases", pa.int32(), nullable=False),
        pa.field("num_masks", pa.int32(), nullable=False),
        pa.field("num_frames", pa.int32(), nullable=False),
        pa.field("review_state", pa.string(), nullable=False),
        pa.field("min_score", pa.float64()),
        pa.field("mean_score", pa.float64()),
        pa.field("confidence", pa.float64()),  # the verifier's, where it ran: filters and review selection need no tar
        # a list of (stage, version) structs rather than an Arrow map: Hugging Face datasets cannot load maps
        pa.field(
            "stage_versions",
            pa.list_(pa.struct([pa.field("stage", pa.string(), nullable=False), pa.field("version", pa.string(), nullable=False)])),
            nullable=False,
        ),
    ]
)


def _track_scores(sample: Sample) -> list[float]:
    """Track-level scores, falling back to the per-frame scores of a track that has no overall score."""
    scores: list[float] = []
    for track in sample.objects:
        if track.score is not None:
            scores.append(track.score)
        else:
            scores += [s for s in track.scores if s is not None]
    return scores


def verifier_confidence(sample: Sample) -> float | None:
    """The verifier's confidence in the sample, None where no verifier ran."""
    verify = sample.meta.get("verify")
    value = verify.get("confidence") if isinstance(verify, dict) else None
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def manifest_row(sample: Sample, shard: str) -> dict:
    scores = _track_scores(sample)
    return {
        "key": sample.key,
        "shard": shard,
        "video_id": sample.video_id,
        "source": sample.source,
        "num_objects": len(sample.objects),
        "num_phrases": sum(len(turn.phrases) for turn in sample.conversation),
        "num_masks": sum(track.num_masks for track in sample.objects),
        "num_frames": len(sample.clip.frame_indices),
        "review_state": sample.review.value,
        "min_score": min(scores) if scores else None,
        "mean_score": statistics.fmean(scores) if scores else None,
        "confidence": verifier_confidence(sample),
        "stage_versions": [{"stage": stage, "version": version} for stage, version in sorted(sample.stage_versions.items())],
    }


def manifest_table(rows: list[dict]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=MANIFEST_SCHEMA)
