"""Put a report together: numbers from the manifests, statistics and gallery from a bounded, seeded sample."""

from __future__ import annotations

import logging
from pathlib import Path

from videogcg.pipeline.run_report import read_records
from videogcg.report import plots
from videogcg.report.gallery import gallery_item
from videogcg.report.page import dead_letters_section, gallery_section, numbers_section, plots_section, render_page
from videogcg.report.selection import choose, read_selected
from videogcg.report.stats import dataset_numbers, dropped_by_reason, per_sample_counts, sampled_stats
from videogcg.shards import ShardSample, read_manifest

logger = logging.getLogger(__name__)

FAILURES_SHOWN = 50


def build_report(directory: str | Path, max_samples: int = 200, gallery: int = 12, seed: int = 0) -> str:
    """The HTML page. Reads at most `max_samples` samples from the tars (decoding the pixels of the first
    `gallery` of them only); everything counted over all samples comes from the manifests and records."""
    directory = Path(directory)
    manifest = read_manifest(directory)
    records = read_records(directory)
    numbers = dataset_numbers(directory, records)

    selection = choose(manifest, max_samples, seed)
    shown = selection.keys[:gallery]
    read = read_selected(directory, selection, with_pixels=set(shown))
    samples = [item.sample if isinstance(item, ShardSample) else item for item in (read[k] for k in selection.keys)]
    stats = sampled_stats(samples)
    logger.info(
        "report of %s: %d samples in the manifests, %d read from %d shards",
        directory,
        manifest.num_rows,
        len(samples),
        len(selection.shards),
    )

    total = manifest.num_rows
    sampled = f"{stats.samples} of {total:,} samples read from {len(selection.shards)} of {numbers['shards']} shards (seed {seed})"
    charts = [
        plots.Plot(
            "objects-per-sample",
            "objects per sample",
            f"Object tracks per sample, all {total:,} samples (manifest).",
            plots.count_bars(per_sample_counts(manifest, "num_objects"), "objects per sample", "objects in a sample", "samples"),
        ),
        plots.Plot(
            "phrases-per-answer",
            "grounded phrases per answer",
            f"Grounded phrases ([SEG]s) per answer, over the answers of {sampled}.",
            plots.count_bars(stats.phrases_per_answer, "grounded phrases per answer", "phrases in an answer", "answers"),
        ),
        plots.Plot(
            "mask-area",
            "mask area",
            f"Area of each mask as a fraction of its frame ({len(stats.mask_areas):,} masks; absent frames not counted), {sampled}.",
            plots.histogram(stats.mask_areas, "mask area", "fraction of the frame", "masks"),
        ),
        plots.Plot(
            "temporal-stability",
            "temporal stability",
            f"Per object track: mean IoU of its masks on consecutive sampled frames ({len(stats.stabilities):,} tracks), {sampled}.",
            plots.histogram(stats.stabilities, "temporal stability", "mean IoU of consecutive masks", "object tracks"),
        ),
        plots.Plot(
            "confidence",
            "verifier confidence",
            f"The verifier's confidence (share of checks passed) by route, {sampled}. Dropped samples are not in the shards.",
            plots.stacked_histogram(stats.confidences, "verifier confidence", "confidence", "samples"),
        ),
        plots.Plot(
            "frequent-phrases",
            "most frequent phrases",
            f"The most frequent grounded phrases (lower-cased), {sampled}.",
            plots.top_bars(stats.phrases, "most frequent phrases"),
        ),
    ]
    items = [gallery_item(read[key]) for key in shown]
    failures = [r for r in records if r["kind"] == "failure"]
    sections = [
        numbers_section(numbers),
        plots_section(charts, f"Counts per sample come from the manifests (all samples); mask-level statistics from {sampled}."),
        dead_letters_section(numbers["failures_by_reason"], dropped_by_reason(records), failures, FAILURES_SHOWN),
        gallery_section(items, f"{len(items)} samples of the {stats.samples} read, spread over the shards; colours as in the masks."),
    ]
    return render_page(f"videogcg report: {directory.name or directory}", f"dataset {directory.resolve()}", sections)


def write_report(directory: str | Path, output: str | Path, **options) -> Path:
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(build_report(directory, **options), encoding="utf-8")
    return output
