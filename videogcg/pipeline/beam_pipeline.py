"""The annotation pipeline as Beam transforms; the work itself is `VideoProcessor`'s.

    video ids ─► Decode (CPU) ─► Annotate (models; accelerator hints) ─► Compose (CPU) ─► (shard, item) ─► GroupByKey ─► WriteShard

Each video belongs to one shard, by a hash of its id, so a shard's samples, dropped samples and failures are
written together and its tar's rename commits all of them. A rerun skips the videos of finished shards:
after an interruption (even ``kill -9``) the same command finishes the work without duplicating or losing a
sample. Locally (and wherever a runner fuses the three steps) frames stay on the worker that decoded them; where
the runner places the model stage on other workers, the sampled frames travel to it as arrays, and only encoded
clips travel to the writer.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import time
from pathlib import Path

import apache_beam as beam
from apache_beam.metrics import Metrics
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.utils import shared

from videogcg import storage
from videogcg.pipeline.annotator_pool import AnnotatorPool
from videogcg.pipeline.processor import VideoProcessor
from videogcg.pipeline.run_report import shard_records_path, summarize_run
from videogcg.pipeline.settings import PipelineConfig
from videogcg.pipeline.source_registry import SourceSpec
from videogcg.schemas import Sample
from videogcg.shards import ShardWriter, ShardWriterConfig, encode_clip, list_shards
from videogcg.shards.layout import shard_name

logger = logging.getLogger(__name__)
NAMESPACE = "videogcg"
LOCAL_RUNNER = ["--runner=DirectRunner", "--direct_running_mode=in_memory"]


def shard_of(video_id: str, num_shards: int) -> int:
    return int(hashlib.sha1(video_id.encode()).hexdigest()[:12], 16) % num_shards


class VideoStep(beam.DoFn):
    """One step of a video's processing (decode, annotate, compose), each a stage a runner may place on its own
    workers. Between steps an element is ``(video_id, state)``; a step that fails turns the state into
    ``("failure", record)``, which the later steps pass on untouched to the shard writer (a dead letter)."""

    def __init__(self, config: PipelineConfig):
        self.config = config

    def setup(self):
        self.processor = VideoProcessor(self.config, on_stage_time=self._stage_time, annotators=self._annotators())

    def _annotators(self) -> AnnotatorPool:
        return AnnotatorPool()  # decoding and composing load no model

    def _stage_time(self, stage: str, seconds: float, frames: int) -> None:
        """Per stage, distributions of milliseconds per video and microseconds per frame (the runner's UI shows both)."""
        Metrics.distribution(NAMESPACE, f"ms_{stage}").update(int(seconds * 1000))
        if frames:
            Metrics.distribution(NAMESPACE, f"frame_us_{stage}").update(int(seconds * 1e6 / frames))

    def _failure(self, source: str, video_id: str, error: Exception) -> tuple:
        stage = self.processor.stage
        logger.warning("%s %s failed at %s: %s", source, video_id, stage, error, exc_info=True)
        Metrics.counter(NAMESPACE, f"failed_{stage}").inc()
        Metrics.counter(NAMESPACE, f"failed_{stage}_{type(error).__name__}").inc()  # by reason, in the runner's UI
        record = {"source": source, "video_id": video_id, "stage": stage, "error": type(error).__name__, "message": str(error)}
        return ("failure", record)

    def process(self, element):
        video_id, state = element
        if state[0] == "failure":
            yield element
            return
        try:
            result = self.step(*state[1:])
        except Exception as error:  # noqa: BLE001 - a failing video is data (dead letter), never the end of the run
            result = self._failure(state[1].source, video_id, error)
        yield video_id, result

    def step(self, *state) -> tuple:
        raise NotImplementedError


class DecodeVideos(VideoStep):
    """A video id in: its source record and sampled frames out (CPU work)."""

    def __init__(self, source: SourceSpec, config: PipelineConfig):
        super().__init__(config)
        self.source_spec = source

    def setup(self):
        super().setup()
        self.source = self.source_spec.open()
        self.videos = Metrics.counter(NAMESPACE, "videos")

    def process(self, video_id: str):
        self.videos.inc()
        self.processor.stage = "read_source"
        try:
            video = self.source.load(video_id)
            yield video_id, ("decoded", video, self.processor.prepare(video))
        except Exception as error:  # noqa: BLE001 - a failing video is data (dead letter), never the end of the run
            yield video_id, self._failure(self.source.name, video_id, error)


class AnnotateVideos(VideoStep):
    """The models: what the source kind needs, on the accelerator workers (the config's resource hints)."""

    def __init__(self, config: PipelineConfig, models: shared.Shared):
        """`models`: the handle through which the DoFn instances (threads) of one worker process share one copy of
        each model."""
        super().__init__(config)
        self.models = models

    def _annotators(self) -> AnnotatorPool:
        return self.models.acquire(AnnotatorPool, tag=self.config.models.model_dump_json())

    def step(self, video, clip) -> tuple:
        return ("annotated", video, clip, self.processor.annotate(video, clip))


class ComposeSamples(VideoStep):
    """Conversations, verification, routing and the encoded clip (CPU work); out: (shard, item) pairs, an item
    being ("sample", json, mp4, route, confidence, key), ("dropped", record) or ("failure", record)."""

    def __init__(self, config: PipelineConfig, num_shards: int):
        super().__init__(config)
        self.num_shards = num_shards

    def process(self, element):
        for video_id, state in super().process(element):
            items = [state] if state[0] == "failure" else state[1]
            for item in items:
                yield shard_of(video_id, self.num_shards), item

    def step(self, video, clip, annotation) -> tuple:
        items = []
        for result in self.processor.finish(video, clip, annotation):
            route = result.verdict.route.value
            Metrics.counter(NAMESPACE, f"route_{route}").inc()
            if route == "drop":
                items.append(("dropped", {"key": result.sample.key, "video_id": video.video_id, "reasons": list(result.verdict.reasons)}))
            else:
                self.processor.stage = "encode"
                mp4 = encode_clip(result.sample, result.frames, self.config.output.crf)
                items.append(("sample", result.sample.to_json(), mp4, route, result.verdict.confidence, result.sample.key))
        return ("composed", items)


class WriteShard(beam.DoFn):
    """All items of one shard: the dead letters and dropped records first, then the tar + manifest (the commit)."""

    def __init__(self, output: str, config: PipelineConfig):
        self.output, self.config = output, config

    def process(self, element, allowed_reviews=None):
        """`allowed_reviews`: keys of the samples the review budget lets through (None: no budget)."""
        shard, items = element
        records, samples = [], []
        for kind, *payload in items:
            if kind != "sample":
                records.append({"kind": kind, **payload[0]})
                continue
            sample = Sample.from_json(payload[0])
            if payload[2] == "review" and allowed_reviews is not None and sample.key not in allowed_reviews:
                Metrics.counter(NAMESPACE, "route_review_over_budget").inc()
                records.append({"kind": "dropped", "key": sample.key, "video_id": sample.video_id, "reasons": ["over the review budget"]})
            else:
                samples.append((sample, payload[1]))
        records.sort(key=lambda r: (r["video_id"], r.get("key", "")))
        samples.sort(key=lambda s: s[0].key)
        records_file = shard_records_path(self.output, shard)
        if records:
            storage.publish_text(records_file, "".join(json.dumps(r) + "\n" for r in records))
        else:  # none: no file (object stores through Beam cannot hold an empty one), nor one left by an earlier attempt
            storage.delete([str(records_file)])
        writer = ShardWriter(
            self.output, ShardWriterConfig(max_samples=1 << 30, max_bytes=1 << 62, crf=self.config.output.crf), start_index=shard
        )
        with writer:
            writer.start_shard()
            for sample, mp4 in samples:
                writer.write_encoded(sample, mp4)
        Metrics.counter(NAMESPACE, "samples_written").inc(len(samples))
        yield shard_name(ShardWriterConfig.prefix, shard)


def _review_budget(budget: int) -> beam.PTransform:
    """The keys of the `budget` most confident samples routed to review (ties by key); the others will drop."""

    def keep(candidates: list[tuple[float, str]]) -> frozenset[str]:
        return frozenset(key for _, key in sorted(candidates, key=lambda c: (-c[0], c[1]))[:budget])

    return (
        "Reviews" >> beam.FlatMap(lambda item: [(item[1][4], item[1][5])] if item[1][0] == "sample" and item[1][3] == "review" else [])
        | "All" >> beam.combiners.ToList()
        | "WithinBudget" >> beam.Map(keep)
    )


def pending_videos(video_ids: list[str], output: str | Path, num_shards: int) -> list[str]:
    done = {p.name for p in list_shards(output)}
    return [v for v in video_ids if shard_name(ShardWriterConfig.prefix, shard_of(v, num_shards)) not in done]


def build_pipeline(
    pipeline: beam.Pipeline, source: SourceSpec, output: str | Path, config: PipelineConfig, todo: list[str], num_shards: int
) -> None:
    """The transforms of one run. Only the model stage carries the config's resource hints (accelerator, memory),
    so a runner such as Dataflow runs it on accelerator workers and decoding, composing and writing elsewhere."""
    annotate = beam.ParDo(AnnotateVideos(config, shared.Shared())).with_resource_hints(**config.resources.hints())
    items = (
        pipeline
        | "VideoIds" >> beam.Create(todo)
        | "Decode" >> beam.ParDo(DecodeVideos(source, config))
        | "Annotate" >> annotate
        | "Compose" >> beam.ParDo(ComposeSamples(config, num_shards))
    )
    budget = {}
    if config.verify.review_budget is not None:
        budget["allowed_reviews"] = beam.pvalue.AsSingleton(items | "ReviewBudget" >> _review_budget(config.verify.review_budget))
    items | "ByShard" >> beam.GroupByKey() | "WriteShard" >> beam.ParDo(WriteShard(str(output), config), **budget)


def run_pipeline(source: SourceSpec, output: str | Path, config: PipelineConfig, beam_args: list[str] | None = None) -> dict:
    """Run (or resume) the pipeline; returns the run summary (also written to run_stats.json).

    `output` and the source's paths may be local or object-store URLs; the Beam options carry the store's
    settings (e.g. ``--s3_endpoint_url``)."""
    options = PipelineOptions(beam_args or LOCAL_RUNNER)
    storage.configure(options)
    output = str(output)
    storage.mkdirs(output)
    started = time.time()
    video_ids = source.open().video_ids()
    num_shards = max(1, math.ceil(len(video_ids) / config.output.videos_per_shard))
    todo = pending_videos(video_ids, output, num_shards)
    logger.info("%d videos in %d shards; %d to do", len(video_ids), num_shards, len(todo))
    metrics = {}
    if todo:
        pipeline = beam.Pipeline(options=options)
        build_pipeline(pipeline, source, output, config, todo, num_shards)
        result = pipeline.run()
        result.wait_until_finish()
        metrics = _metrics(result)
    return summarize_run(output, len(video_ids), len(todo), metrics, time.time() - started, config.models.model_dump())


def _metrics(result) -> dict:
    query = result.metrics().query()
    counters = {c.key.metric.name: c.committed for c in query["counters"]}
    distributions = {d.key.metric.name: d.committed for d in query["distributions"]}
    stages = {name[3:]: round(d.sum / 1000, 3) for name, d in distributions.items() if name.startswith("ms_")}
    per_frame = {name[9:]: round(d.mean / 1000, 3) for name, d in distributions.items() if name.startswith("frame_us_") and d.count}
    return {"counters": counters, "stage_seconds": stages, "frame_ms": per_frame}
