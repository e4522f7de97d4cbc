"""`videogcg review export`: the samples that most need a person, as Label Studio tasks with pre-annotations.

Samples are chosen from a dataset folder by route (the verifier's accept / review), lowest confidence first,
up to a budget. Their keyframes are written as JPEG files under Label Studio's local-files root and served
by Label Studio itself. Tasks carry the sample key; exporting the same samples again adds no task.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from PIL import Image

from videogcg.review_ui.client import LabelStudioClient
from videogcg.review_ui.tasks import build_task, keyframe_positions, label_config
from videogcg.schemas import Sample
from videogcg.schemas.manifest import verifier_confidence
from videogcg.shards import iter_dataset

logger = logging.getLogger(__name__)

_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")
ROUTES = ("review", "accept", "all")


@dataclass(frozen=True)
class ExportOptions:
    route: str = "review"
    budget: int | None = None
    num_keyframes: int = 3

    def __post_init__(self) -> None:
        if self.route not in ROUTES:
            raise ValueError(f"route must be one of {ROUTES}, got {self.route!r}")


def _route(sample: Sample) -> str | None:
    verify = sample.meta.get("verify")
    return verify.get("route") if isinstance(verify, dict) else None


def select_samples(directory: str | Path, route: str = "review", budget: int | None = None) -> list[Sample]:
    """Samples on `route` ("all": any) that have a conversation, lowest confidence first (ties by key)."""
    chosen = [s for s in iter_dataset(directory, decode=False) if s.conversation and route in ("all", _route(s))]
    chosen.sort(key=lambda s: (verifier_confidence(s) or 0.0, s.key))
    return chosen if budget is None else chosen[:budget]


def _config_labels(config: str) -> tuple[int, list[int]]:
    """Number of keyframe slots and object ids of an existing labeling config."""
    return len(set(re.findall(r'name="frame_(\d+)"', config))), sorted({int(i) for i in re.findall(r'value="object (\d+)"', config)})


def ensure_project(client: LabelStudioClient, name: str, num_keyframes: int, object_ids: set[int]) -> tuple[dict, int]:
    """The project (created or reused) with labels for every object id; returns it and its keyframe slots."""
    project = client.find_project(name)
    if project is None:
        project = client.create_project(name, label_config(num_keyframes, sorted(object_ids)))
        return project, num_keyframes
    slots, known = _config_labels(project["label_config"])
    if not object_ids <= set(known):
        client.update_label_config(project["id"], label_config(slots, sorted(object_ids | set(known))))
    return project, slots


def export_for_review(client: LabelStudioClient, directory: str | Path, name: str, files_root: Path, options: ExportOptions) -> dict:
    samples = select_samples(directory, options.route, options.budget)
    project, slots = ensure_project(client, name, options.num_keyframes, {t.object_id for s in samples for t in s.objects})
    folder = files_root / "videogcg" / _UNSAFE.sub("-", name)
    folder.mkdir(parents=True, exist_ok=True)
    client.ensure_local_storage(project["id"], str(folder.resolve()))
    existing = {task["data"].get("key") for task in client.all_tasks(project["id"])}
    wanted = {s.key for s in samples if s.key not in existing}
    tasks = []
    for item in iter_dataset(directory, keys=wanted):
        positions = keyframe_positions(item.sample, slots)
        urls = []
        for position in positions:
            path = folder / item.sample.key / f"{position:03d}.jpg"
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(item.frames[position]).save(path, quality=95)
            urls.append("/data/local-files/?d=" + quote(str(path.resolve().relative_to(files_root.resolve()))))
        tasks.append(build_task(item.sample, positions, urls, slots))
    client.import_tasks(project["id"], tasks)
    logger.info("project %r: %d tasks added, %d already there", name, len(tasks), len(samples) - len(tasks))
    return {"project": project["id"], "selected": len(samples), "added": len(tasks), "already_exported": len(samples) - len(tasks)}
