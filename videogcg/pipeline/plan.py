"""What a run will cost, before it runs.

Counts come from the annotation files and container metadata (frame counts, sizes and rates from the video
headers or frame-folder listings; nothing is decoded). Per video, the stages its source kind runs (the table in
`videogcg.pipeline.processor`) turn those counts into units of work: frames through the captioner, keyframes
through the grounder, object-frames through SAM2 (forward and backward), generated tokens; a `CostTable` gives
the seconds per unit on a kind of device. Wall time on N workers is the larger of the accelerator work and the
CPU work (decoding, encoding) spread over them, plus each worker's model start-up.
"""

from __future__ import annotations

import logging
import math
from dataclasses import asdict, dataclass, field

from videogcg.pipeline.settings import PipelineConfig
from videogcg.pipeline.source_registry import SourceSpec
from videogcg.pipeline.sources import SourceError, SourceKind, SourceVideo
from videogcg.pipeline.stage_costs import DEFAULT_COSTS, CostTable
from videogcg.video_io import VideoReadError, container_info

logger = logging.getLogger(__name__)

SAM2_PASSES = 2  # the propagator runs forward and backward from the prompted frames
JSON_REFERENCE_PIXELS = 320 * 240  # the size `json_bytes_per_object_frame` was measured at


@dataclass(frozen=True)
class Workers:
    """Where the run goes: `count` workers of one device kind, each with `accelerators` of them and `cores` CPU cores."""

    device: str = "cpu"
    count: int = 1
    accelerators: int = 1
    cores: int = 8
    startup_seconds: float = 60.0  # per worker: image pull and model loads (assumed)


@dataclass(frozen=True)
class VideoWork:
    """One video's counts: the kind decides its stages."""

    kind: SourceKind
    sampled: int
    megapixels: float
    objects: int
    samples: int
    captioned: bool


@dataclass
class SourceCount:
    label: str
    config: PipelineConfig
    videos: int
    counted: int = 0
    unreadable: int = 0
    works: list[VideoWork] = field(default_factory=list)

    @property
    def scale(self) -> float:
        """Counted videos stand for all of the source's (`--sample`)."""
        return self.videos / self.counted if self.counted else 0.0

    def total(self, attribute: str) -> float:
        return sum(getattr(w, attribute) for w in self.works) * self.scale


@dataclass(frozen=True)
class StageCost:
    source: str
    stage: str
    model: str  # a model spec, or "cpu"
    units: float
    unit: str
    seconds: float


@dataclass
class Plan:
    workers: Workers
    sources: list[dict]
    stages: list[StageCost]
    accelerator_seconds: float
    cpu_seconds: float
    output_bytes: float
    wall_seconds: float
    assumptions: list[str]

    def as_dict(self) -> dict:
        return {**asdict(self), "stages": [asdict(s) for s in self.stages]}


def video_work(video: SourceVideo, config: PipelineConfig, raw_objects: int) -> VideoWork:
    """Counts for one video from its record and its container metadata."""
    info = container_info(video.path)
    start, end = video.clip or (0, info.num_frames)
    sampled = len(config.sampling.indices(start, end, info.fps))
    objects = raw_objects if video.kind is SourceKind.RAW else len(video.objects)
    referring = min(config.compose.referring_per_video, len(video.expressions))
    return VideoWork(
        video.kind,
        sampled,
        info.width * info.height / 1e6,
        objects,
        config.compose.conversations_per_video + referring,
        bool(video.captions),
    )


def count_source(label: str, spec: SourceSpec, config: PipelineConfig, raw_objects: int = 3, sample: int | None = None) -> SourceCount:
    """Counts of one source; with `sample`, of that many videos spread evenly over it, standing for all."""
    source = spec.open()
    ids = source.video_ids()
    chosen = ids if not sample or sample >= len(ids) else [ids[round(i * (len(ids) - 1) / max(sample - 1, 1))] for i in range(sample)]
    counted = SourceCount(label, config, len(ids))
    for video_id in chosen:
        try:
            counted.works.append(video_work(source.load(video_id), config, raw_objects))
        except (SourceError, VideoReadError) as error:
            logger.warning("%s %s: not counted (%s)", label, video_id, error)
            counted.unreadable += 1
        counted.counted += 1
    return counted


def _tokens(config: PipelineConfig) -> int:
    """Tokens generated per call: the configured maximum (an upper bound)."""
    return config.models.max_new_tokens


def stage_costs(count: SourceCount, costs: CostTable, device: str) -> list[StageCost]:
    """The accelerator and CPU work of one source."""
    config, models = count.config, count.config.models
    out: list[StageCost] = []

    def model(stage: str, spec: str, frames: float = 0, object_frames: float = 0, tokens: float = 0, unit: str = "") -> None:
        if frames == object_frames == tokens == 0:
            return
        cost = costs.model(device, spec)
        seconds = (frames * cost.per_frame + object_frames * cost.per_object_frame + tokens * cost.per_token) * count.scale
        units = (frames or object_frames or tokens) * count.scale
        out.append(StageCost(count.label, stage, spec, round(units, 3), unit, seconds))

    by_kind: dict[SourceKind, list[VideoWork]] = {}
    for work in count.works:
        by_kind.setdefault(work.kind, []).append(work)
    raw, masks, boxes = (by_kind.get(k, []) for k in (SourceKind.RAW, SourceKind.MASKS, SourceKind.BOXES_CAPTIONS))
    # the captioner: dense captions of raw videos; for masks sources without a grounded caption, one crop per
    # object to describe and a grounded caption over the frames
    uncaptioned = [w for w in masks if not w.captioned]
    caption_frames = sum(w.sampled for w in raw + uncaptioned) + sum(w.objects for w in uncaptioned)
    caption_calls = len(raw) + sum(1 + w.objects for w in uncaptioned)
    model("caption", models.captioner, frames=caption_frames, unit="frames")
    model("caption", models.captioner, tokens=caption_calls * _tokens(config), unit="tokens")
    if models.phrase_extractor == "llm":
        model("phrases", models.text_llm, tokens=len(raw) * _tokens(config), unit="tokens")
    model("ground", models.grounder, frames=len(raw) * models.num_keyframes, unit="keyframes")
    tracked = raw + boxes
    model("propagate", models.propagator, frames=SAM2_PASSES * sum(w.sampled for w in tracked), unit="frames")
    model("propagate", models.propagator, object_frames=SAM2_PASSES * sum(w.sampled * w.objects for w in tracked), unit="object-frames")
    if models.refine_captions:
        model("refine", models.text_llm, tokens=sum(w.captioned for w in boxes) * _tokens(config), unit="tokens")
    megapixel_frames = sum(w.sampled * w.megapixels for w in count.works) * count.scale
    stored = sum(w.sampled * w.megapixels * w.samples for w in count.works) * count.scale
    out.append(
        StageCost(
            count.label,
            "decode",
            "cpu",
            round(megapixel_frames, 3),
            "megapixel-frames",
            megapixel_frames * costs.decode_per_megapixel_frame,
        )
    )
    out.append(StageCost(count.label, "encode", "cpu", round(stored, 3), "megapixel-frames", stored * costs.encode_per_megapixel_frame))
    return out


def output_bytes(count: SourceCount, costs: CostTable) -> float:
    """Clips (H.264 of the sampled frames, one per sample) plus sample JSON (RLE masks per object and frame)."""
    total = 0.0
    for w in count.works:
        clip = w.sampled * w.megapixels * 1e6 * costs.stored_bytes_per_pixel
        masks = w.objects * w.sampled * costs.json_bytes_per_object_frame * math.sqrt(w.megapixels * 1e6 / JSON_REFERENCE_PIXELS)
        total += w.samples * (clip + masks + 2048)  # + tar headers and the sample's text
    return total * count.scale


def make_plan(counts: list[SourceCount], workers: Workers, costs: CostTable = DEFAULT_COSTS, raw_objects: int = 3) -> Plan:
    """`raw_objects`: what `count_source` assumed for raw videos (stated among the assumptions)."""
    stages = [s for count in counts for s in stage_costs(count, costs, workers.device)]
    accelerator = sum(s.seconds for s in stages if s.model != "cpu")
    cpu = sum(s.seconds for s in stages if s.model == "cpu")
    if workers.device == "cpu":  # the models run on the workers' cores too (their costs are for a whole machine)
        wall = accelerator / workers.count + cpu / (workers.count * workers.cores)
    else:
        wall = max(accelerator / (workers.count * workers.accelerators), cpu / (workers.count * workers.cores))
    sources = [
        {
            "source": c.label,
            "videos": c.videos,
            "counted": c.counted,
            "unreadable": c.unreadable,
            "sampled_frames": round(c.total("sampled")),
            "samples": round(c.total("samples")),
            "objects": round(c.total("objects")),
        }
        for c in counts
    ]
    assumptions = [
        f"{workers.count} worker(s) of {costs.devices[workers.device].description}",
        "generated tokens per call = models.max_new_tokens (an upper bound)",
        f"SAM2 runs {SAM2_PASSES} passes (forward, backward) over the sampled frames",
        f"raw videos: {raw_objects} objects each",
        f"{workers.startup_seconds:.0f} s start-up per worker (image pull, model loads)",
    ]
    return Plan(
        workers, sources, stages, accelerator, cpu, sum(output_bytes(c, costs) for c in counts), wall + workers.startup_seconds, assumptions
    )


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def _size(count: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if count < 1000 or unit == "TB":
            return f"{count:.1f} {unit}"
        count /= 1000
    return ""


def format_plan(plan: Plan) -> str:
    lines = ["source                     videos  counted  sampled frames  samples  objects"]
    for s in plan.sources:
        lines.append(
            f"{s['source']:<26} {s['videos']:>6}  {s['counted']:>7}  {s['sampled_frames']:>14}  {s['samples']:>7}  {s['objects']:>7}"
        )
    lines += ["", "source                     stage      model                                       units            seconds"]
    for s in plan.stages:
        lines.append(f"{s.source:<26} {s.stage:<10} {s.model:<43} {s.units:>10.0f} {s.unit:<16} {s.seconds:>10.1f}")
    lines += [
        "",
        f"accelerator-seconds ({plan.workers.device}): {plan.accelerator_seconds:,.0f} ({plan.accelerator_seconds / 3600:,.1f} h)",
        f"CPU core-seconds (decode, encode): {plan.cpu_seconds:,.0f}",
        f"output: {_size(plan.output_bytes)}",
        f"wall time on {plan.workers.count} x {plan.workers.device}: {_duration(plan.wall_seconds)}",
        "assumptions: " + "; ".join(plan.assumptions),
    ]
    return "\n".join(lines)
