"""`videogcg review import`: completed Label Studio reviews applied to a dataset, written as reviewed shards.

Everything is read from the server before anything is written, and the output is written to a temporary
folder that replaces `output` only when complete: a server that is down or stops mid-import leaves no
partially written reviewed shard. The output holds every sample of the input: reviewed ones as the reviewer
left them, rejected ones left out (listed with their reason in `rejected.jsonl`), the rest unchanged. Clips
are copied as stored. Problems with single tasks (a sample no longer in the dataset, a mask of the wrong
size, an answer naming unknown objects) are reported in `review_stats.json` and the other tasks go on.
"""

from __future__ import annotations

import json
import logging
import shutil
import statistics
from collections import Counter
from pathlib import Path

from videogcg.review_ui.apply import Repropagate, apply_review
from videogcg.review_ui.client import LabelStudioClient, LabelStudioError
from videogcg.review_ui.tasks import Review, ReviewError, parse_review
from videogcg.shards import ShardWriter, ShardWriterConfig, iter_dataset
from videogcg.shards.reader import decode_clip, iter_encoded

logger = logging.getLogger(__name__)

STATS_FILE = "review_stats.json"
REJECTED_FILE = "rejected.jsonl"


def fetch_reviews(client: LabelStudioClient, name: str, sizes: dict[str, tuple[int, int]]) -> tuple[dict[str, Review], int, list[dict]]:
    """{sample key: review} of the project's submitted annotations, the number of tasks, and per-task problems."""
    project = client.find_project(name)
    if project is None:
        raise LabelStudioError(f"no Label Studio project named {name!r} at {client.url}")
    tasks = client.all_tasks(project["id"])
    reviews, problems = {}, []
    for task in tasks:
        key = task["data"].get("key")
        if key not in sizes:
            problems.append({"task": task["id"], "key": key, "error": "the sample is not in the input dataset"})
            continue
        try:
            review = parse_review(task, *sizes[key])
        except ReviewError as error:
            problems.append({"task": task["id"], "key": key, "error": str(error)})
            continue
        if review is not None:
            reviews[key] = review
    return reviews, len(tasks), problems


def import_reviews(client: LabelStudioClient, name: str, directory: str | Path, output: str | Path, repropagate: Repropagate) -> dict:
    directory, output = Path(directory), Path(output)
    sizes = {sample.key: (sample.video.height, sample.video.width) for sample in iter_dataset(directory, decode=False)}
    reviews, num_tasks, problems = fetch_reviews(client, name, sizes)
    staging = output.with_name(output.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    decisions, ious, rejected = Counter(), [], []
    edited = 0
    try:
        with ShardWriter(staging, ShardWriterConfig(prefix="reviewed")) as writer:
            for sample, clip in iter_encoded(directory):
                review = reviews.get(sample.key)
                if review is None:
                    writer.write_encoded(sample, clip)
                    continue
                try:
                    applied = apply_review(sample, decode_clip(sample, clip, sample.key), review, repropagate)
                except ReviewError as error:
                    problems.append({"task": review.task_id, "key": sample.key, "error": str(error)})
                    writer.write_encoded(sample, clip)
                    continue
                decisions[review.decision] += 1
                ious += applied.edited_mask_ious
                if applied.sample is None:
                    rejected.append(
                        {"key": sample.key, "task": review.task_id, "reviewer": review.reviewer, "reason": applied.rejected_reason}
                    )
                    continue
                edited += bool(applied.changed)
                writer.write_encoded(applied.sample, clip)
        stats = {
            "project": name,
            "tasks": num_tasks,
            "reviewed": sum(decisions.values()),
            "accepted": decisions["accept"],
            "fixed": decisions["fixed"],
            "rejected": decisions["reject"],
            "edited": edited,
            "edited_masks": len(ious),
            "mean_iou_auto_vs_human": round(statistics.fmean(ious), 4) if ious else None,
            "problems": sorted(problems, key=lambda p: p["task"]),
        }
        (staging / REJECTED_FILE).write_text("".join(json.dumps(r, sort_keys=True) + "\n" for r in rejected))
        (staging / STATS_FILE).write_text(json.dumps(stats, indent=2, sort_keys=True) + "\n")
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    shutil.rmtree(output, ignore_errors=True)
    staging.rename(output)
    logger.info("imported %d reviews of project %r into %s", stats["reviewed"], name, output)
    return stats
