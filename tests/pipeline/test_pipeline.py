"""The Beam pipeline end to end on the local runner, with tiny models."""

import json
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest
from apache_beam.utils import shared

from tests.run_outputs import kill_mid_run
from videogcg.pipeline.beam_pipeline import run_pipeline, shard_of
from videogcg.pipeline.run_report import read_failures, read_records
from videogcg.pipeline.settings import PipelineConfig
from videogcg.pipeline.source_registry import SourceSpec
from videogcg.schemas import ReviewState
from videogcg.schemas import masks as rle
from videogcg.schemas.markup import render_gcg
from videogcg.shards import iter_dataset, read_manifest

MULTI = ["--runner=DirectRunner", "--direct_running_mode=multi_processing", "--direct_num_workers=2"]


@pytest.fixture(scope="module")
def config(tmp_path_factory):
    cache = tmp_path_factory.mktemp("models")
    return PipelineConfig.load(overrides=[f"models.cache_dir={cache}", "sampling.num_frames=6", "output.videos_per_shard=2"])


def test_masks_expressions_source_gives_grounded_samples(sources, config, tmp_path):
    summary = run_pipeline(SourceSpec("mevis", str(sources["masks_expressions"])), tmp_path, config)
    assert (summary["videos"], summary["samples"], summary["failed"]) == (4, 4, 0)
    assert summary["shards"] == ["shard-000000.tar", "shard-000001.tar"]
    assert summary["stage_seconds"]["sample_frames"] >= 0 and "annotate_masks_expressions" in summary["stage_seconds"]
    meta = json.loads((sources["masks_expressions"] / "meta_expressions.json").read_text())["videos"]
    mask_dict = json.loads((sources["masks_expressions"] / "mask_dict.json").read_text())
    items = list(iter_dataset(tmp_path))
    assert sorted(i.sample.video_id for i in items) == sorted(meta)
    for item in items:
        sample = item.sample
        assert sample.source == "masks_expressions" and sample.meta["source_kind"] == "masks_expressions"
        assert sample.clip.frame_indices == (2, 6, 10, 14, 18, 22)
        assert shard_of(sample.video_id, 2) == int(
            next(r["shard"] for r in read_manifest(tmp_path).to_pylist() if r["key"] == sample.key)[6:12]
        )
        turn = sample.conversation[0]
        assert sorted(o for p in turn.phrases for o in p.object_ids) == [0, 1, 2]
        assert {p.text for p in turn.phrases} <= {e["exp"] for e in meta[sample.video_id]["expressions"].values()}
        assert render_gcg(turn.answer.text, turn.phrases).count("[SEG]") == len(item.phrase_masks())
        anno = {o: a for e in meta[sample.video_id]["expressions"].values() for o, a in zip(e["obj_id"], e["anno_id"])}
        for n, track in enumerate(sample.objects):
            assert track.provenance.kind == "source"
            for i, t in enumerate(sample.clip.frame_indices):
                source = mask_dict[anno[track.object_id]][t]
                expected = np.zeros((120, 160), bool) if source is None else rle.decode(rle.RLE.from_coco(source))
                np.testing.assert_array_equal(item.masks[n, i], expected)
        verdict = sample.meta["verify"]
        assert verdict["route"] in ("accept", "review") and 0 <= verdict["confidence"] <= 1
        assert sample.review == (ReviewState.AUTO_VERIFIED if verdict["route"] == "accept" else ReviewState.AUTO)


def test_boxes_captions_source_gets_sam2_masklets_on_two_workers(sources, config, tmp_path):
    summary = run_pipeline(SourceSpec("boxes_captions", str(sources["boxes_captions"])), tmp_path, config, MULTI)
    assert summary["failed"] == 0 and summary["samples"] + summary["routes"]["drop"] == 4
    for item in iter_dataset(tmp_path):
        sample = item.sample
        assert sample.meta["source_kind"] == "boxes_captions"
        assert [t.provenance.name for t in sample.objects] == ["tiny:sam2_video"] * 3
        assert all(t.provenance.parameters["prompt_kinds"] == ["box"] for t in sample.objects)
        turn = sample.conversation[0]
        # the tiny refiner never keeps the tags: the source caption stays, with the reason recorded
        assert turn.answer.text.startswith(turn.phrases[0].text)
        assert [p.object_ids for p in turn.phrases] == [(0,), (1,), (2,)]
        assert turn.answer.provenance.parameters["refinement_rejected"]


def test_config_overrides_reach_the_samples(sources, config, tmp_path):
    more = config.model_copy(update={"compose": config.compose.model_copy(update={"conversations_per_video": 2})})
    summary = run_pipeline(SourceSpec("mevis", str(sources["masks_expressions"])), tmp_path, more)
    assert summary["samples"] == 8
    assert sorted({i.conversation_index for i in iter_dataset(tmp_path, decode=False)}) == [0, 1]


@pytest.fixture
def damaged_source(sources, tmp_path):
    """A copy of the MeViS-layout source with a problem in three of its four videos, plus two broken records."""
    root = tmp_path / "damaged"
    shutil.copytree(sources["masks_expressions"], root)
    videos = root / "videos"
    (videos / "synth0000.mp4").write_bytes(b"")
    data = (videos / "synth0001.mp4").read_bytes()
    (videos / "synth0001.mp4").write_bytes(data[: len(data) // 2])
    meta = json.loads((root / "meta_expressions.json").read_text())
    mask_dict = json.loads((root / "mask_dict.json").read_text())
    anno = meta["videos"]["synth0002"]["expressions"]["0"]["anno_id"][0]
    mask_dict[anno][5] = rle.encode(np.ones((60, 80), bool)).model_dump(mode="json")
    meta["videos"]["ghost"] = {"expressions": {"0": {"exp": "a ghost", "obj_id": [0], "anno_id": ["0"]}}, "frames": []}
    meta["videos"]["broken_rle"] = {"expressions": {"0": {"exp": "a blob", "obj_id": [0], "anno_id": ["bad"]}}}
    mask_dict["bad"] = [{"size": [120, 160]}]
    (root / "meta_expressions.json").write_text(json.dumps(meta))
    (root / "mask_dict.json").write_text(json.dumps(mask_dict))
    return root


def test_bad_inputs_become_dead_letters_and_the_rest_is_written(damaged_source, config, tmp_path):
    summary = run_pipeline(SourceSpec("mevis", str(damaged_source)), tmp_path, config)
    assert (summary["videos"], summary["samples"], summary["failed"]) == (6, 1, 5)
    assert [i.sample.video_id for i in iter_dataset(tmp_path)] == ["synth0003"]
    failures = {f.video_id: f for f in read_failures(tmp_path)}
    assert failures["synth0000"].stage == "sample_frames" and "synth0000.mp4: file is empty (0 bytes)" in failures["synth0000"].message
    assert failures["synth0001"].error == "VideoReadError" and "synth0001.mp4" in failures["synth0001"].message
    assert failures["synth0002"].stage == "annotate_masks_expressions"
    assert "masks of object 0[5]: size (60, 80) differs from the video's (120, 160)" in failures["synth0002"].message
    assert "ghost.mp4: file does not exist" in failures["ghost"].message
    assert failures["broken_rle"].stage == "read_source" and "mask_dict.json: ['bad'][0]: not a COCO RLE" in failures["broken_rle"].message
    assert summary["failures_by_reason"]["sample_frames: VideoReadError"] == 3
    counters = summary["counters"]  # what a cluster runner's UI shows while the job runs
    assert counters["videos"] == 6 and counters["failed_sample_frames_VideoReadError"] == 3 and counters["failed_sample_frames"] == 3
    assert counters["failed_read_source"] == 1 and counters["samples_written"] == 1


def test_a_rerun_skips_finished_shards_and_changes_nothing(sources, config, tmp_path):
    spec = SourceSpec("mevis", str(sources["masks_expressions"]))
    run_pipeline(spec, tmp_path, config)
    before = {p.name: p.read_bytes() for p in tmp_path.glob("shard-*")}
    summary = run_pipeline(spec, tmp_path, config)
    assert summary["videos_processed_this_run"] == 0 and summary["samples"] == 4
    assert {p.name: p.read_bytes() for p in tmp_path.glob("shard-*")} == before


def test_killed_run_resumes_without_losing_or_duplicating(sources, config, tmp_path):
    """SIGKILL a run mid-way, rerun the same command, compare with an uninterrupted run."""
    one_per_shard = config.model_copy(update={"output": config.output.model_copy(update={"videos_per_shard": 1})})
    clean = tmp_path / "clean"
    run_pipeline(SourceSpec("boxes_captions", str(sources["boxes_captions"])), clean, one_per_shard)
    expected = sorted(read_manifest(clean)["key"].to_pylist())

    killed = tmp_path / "killed"
    command = [
        sys.executable, "-m", "videogcg.cli", "run", "--format", "boxes_captions", "--input", str(sources["boxes_captions"]),
        "--output", str(killed), f"models.cache_dir={config.models.cache_dir}", "sampling.num_frames=6", "output.videos_per_shard=1",
    ]  # fmt: skip
    kill_mid_run(command, 2.5)
    assert len(list(killed.glob("*.tar"))) < 4

    result = subprocess.run(command, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    keys = read_manifest(killed)["key"].to_pylist()
    assert sorted(keys) == expected and len(keys) == len(set(keys))
    assert read_records(killed) == read_records(clean)


def test_rerun_after_an_interruption_between_shards_redoes_only_the_unfinished(sources, config, tmp_path):
    """What kill -9 can leave between shard commits: some shards done, one half-written (.partial files)."""
    spec = SourceSpec("mevis", str(sources["masks_expressions"]))
    one_per_shard = config.model_copy(update={"output": config.output.model_copy(update={"videos_per_shard": 1})})
    run_pipeline(spec, tmp_path, one_per_shard)
    expected = sorted(read_manifest(tmp_path)["key"].to_pylist())
    kept = tmp_path / "shard-000000.tar"
    stamp = kept.stat().st_mtime_ns
    for name in ("shard-000002", "shard-000003"):
        (tmp_path / f"{name}.tar").rename(tmp_path / f"{name}.tar.partial")
        (tmp_path / f"{name}.parquet").unlink()
    summary = run_pipeline(spec, tmp_path, one_per_shard)
    assert summary["videos_processed_this_run"] == 2
    keys = read_manifest(tmp_path)["key"].to_pylist()
    assert sorted(keys) == expected and len(keys) == len(set(keys))
    assert kept.stat().st_mtime_ns == stamp
    assert not list(tmp_path.glob("*.partial"))


def test_youtube_vis_and_ref_youtube_vos_sources_run_through_the_pipeline(config, tmp_path):
    from tests.pipeline import test_source_refytvos, test_source_ytvis

    ytvis = test_source_ytvis.build(tmp_path / "ytvis")
    summary = run_pipeline(SourceSpec("ytvis", str(ytvis.annotation_file), media=str(ytvis.frames_root)), tmp_path / "a", config)
    assert summary["failed"] == 0 and summary["samples"] + summary["routes"]["drop"] == 3
    for sample in iter_dataset(tmp_path / "a", decode=False):
        assert sample.meta["source_kind"] == "masks" and sample.source == "ytvis"
        assert sample.conversation[0].phrases  # a grounded caption, or the class names when the tiny captioner's is rejected

    test_source_refytvos.build(tmp_path / "refytvos")
    summary = run_pipeline(SourceSpec("ref-youtube-vos", str(tmp_path / "refytvos")), tmp_path / "b", config)
    assert summary["failed"] == 0 and summary["samples"] + summary["routes"]["drop"] == 3
    assert {s.meta["source_kind"] for s in iter_dataset(tmp_path / "b", decode=False)} == {"masks_expressions"}


def test_referring_questions_from_the_expressions(sources, config, tmp_path):
    referring = config.model_copy(update={"compose": config.compose.model_copy(update={"referring_per_video": 2})})
    run_pipeline(SourceSpec("mevis", str(sources["masks_expressions"])), tmp_path, referring)
    samples = sorted(iter_dataset(tmp_path, decode=False), key=lambda s: (s.video_id, s.conversation_index))
    assert len(samples) == 12 and [s.conversation_index for s in samples[:3]] == [0, 1, 2]
    meta = json.loads((sources["masks_expressions"] / "meta_expressions.json").read_text())["videos"]
    for sample in samples:
        turn = sample.conversation[0]
        if sample.conversation_index == 0:
            assert len(turn.phrases) >= 2
            continue
        [phrase] = turn.phrases
        expression = list(meta[sample.video_id]["expressions"].values())[sample.conversation_index - 1]
        assert (phrase.text, list(phrase.object_ids)) == (expression["exp"], expression["obj_id"])
        assert expression["exp"] in turn.question.text and turn.answer.text == f"Sure, it is {expression['exp']}."
        assert turn.question.provenance.parameters["expression"] == expression["exp"]


def test_shipped_configs_validate_and_tiny_is_the_defaults():
    from pathlib import Path

    configs = Path(__file__).resolve().parents[2] / "configs"
    assert PipelineConfig.load(configs / "tiny.yaml") == PipelineConfig()
    assert PipelineConfig.load(configs / "pretrained.yaml").models.propagator == "hf:facebook/sam2.1-hiera-tiny"


def test_review_budget_keeps_the_most_confident_reviews(sources, config, tmp_path):
    spec = SourceSpec("mevis", str(sources["masks_expressions"]))
    unlimited = run_pipeline(spec, tmp_path / "all", config)
    reviews = [s for s in iter_dataset(tmp_path / "all", decode=False) if s.meta["verify"]["route"] == "review"]
    assert len(reviews) >= 2, "the fixture should route at least two samples to review"
    best = max(reviews, key=lambda s: (s.meta["verify"]["confidence"], [-ord(c) for c in s.key]))

    budgeted = config.model_copy(update={"verify": config.verify.model_copy(update={"review_budget": 1})})
    summary = run_pipeline(spec, tmp_path / "one", budgeted)
    kept = [s for s in iter_dataset(tmp_path / "one", decode=False) if s.meta["verify"]["route"] == "review"]
    assert [s.key for s in kept] == [best.key]
    assert summary["routes"]["drop"] == unlimited["routes"]["drop"] + len(reviews) - 1
    over = [r for r in read_records(tmp_path / "one") if r["kind"] == "dropped"]
    assert all(r["reasons"] == ["over the review budget"] for r in over) and len(over) == len(reviews) - 1


def test_raw_videos_run_every_model_stage(sources, config, tmp_path):
    """Raw videos: caption (VLM), phrases (spaCy), Grounding DINO, SAM2. Tiny models: wiring, not quality."""
    loose = config.model_copy(update={"models": config.models.model_copy(update={"box_threshold": 0.0, "text_threshold": 0.0})})
    summary = run_pipeline(SourceSpec("folder", str(sources["raw"] / "videos")), tmp_path, loose)
    assert summary["failed"] == 0 and summary["samples"] + summary["routes"]["drop"] == 4
    assert {"annotate_raw", "sample_frames", "verify"} <= set(summary["stage_seconds"])
    # per-frame model time, as a distribution the runner's UI shows: 6 frames per clip, so per frame <= per video / 6
    assert {"annotate_raw", "sample_frames"} <= set(summary["frame_ms"])
    assert 0 < summary["frame_ms"]["annotate_raw"] <= 1000 * summary["stage_seconds"]["annotate_raw"] / 4 / 6 * 1.01 + 1
    samples = list(iter_dataset(tmp_path, decode=False))
    for sample in samples:
        assert sample.meta["source_kind"] == "raw"
        assert sample.caption.provenance.name == "tiny:vlm"
        assert sample.conversation[0].answer.text == sample.caption.text
        for phrase in sample.conversation[0].phrases:  # every grounded phrase has a SAM2 track under its id
            [object_id] = phrase.object_ids
            track = sample.track(object_id)
            assert track.provenance.name == "tiny:sam2_video" and track.label == phrase.text
    assert any(s.objects for s in samples), "with zero thresholds some phrase should be grounded and tracked"


def test_only_the_model_stage_carries_the_configured_resource_hints(sources, config, tmp_path):
    """What Dataflow reads to put the model stage on GPU workers; decoding, composing and writing stay on plain ones."""
    import apache_beam as beam

    from videogcg.pipeline.beam_pipeline import build_pipeline

    hinted = config.model_copy(
        update={"resources": config.resources.model_copy(update={"accelerator": "type:nvidia-l4;count:1", "min_ram": "16GB"})}
    )
    pipeline = beam.Pipeline()
    build_pipeline(pipeline, SourceSpec("mevis", str(sources["masks_expressions"])), tmp_path, hinted, ["synth0000"], 1)
    proto = pipeline.to_runner_api()
    hints = {}
    for transform in proto.components.transforms.values():
        if transform.unique_name in ("Decode", "Annotate", "Compose", "WriteShard") and transform.environment_id:
            hints[transform.unique_name] = dict(proto.components.environments[transform.environment_id].resource_hints)
    assert hints["Annotate"]["beam:resources:accelerator:v1"] == b"type:nvidia-l4;count:1"
    assert hints["Annotate"]["beam:resources:min_ram_bytes:v1"] == str(16 * 10**9).encode()
    for stage in ("Decode", "Compose", "WriteShard"):
        assert not {k for k in hints[stage] if "accelerator" in k}, stage


def test_the_three_steps_of_a_video_can_run_in_separate_processes(sources, config):
    """Decode, annotate and compose pass (video id, state) between them, pickled as a runner ships them between
    workers; a failure in one step reaches the writer as a dead letter through the others."""
    from apache_beam.internal import pickler

    from videogcg.pipeline.beam_pipeline import AnnotateVideos, ComposeSamples, DecodeVideos

    steps = [DecodeVideos(SourceSpec("mevis", str(sources["masks_expressions"])), config), AnnotateVideos(config, shared.Shared())]
    steps.append(ComposeSamples(config, 2))
    for step in steps:
        step.setup()
    [decoded] = list(steps[0].process("synth0001"))
    [annotated] = list(steps[1].process(pickler.loads(pickler.dumps(decoded))))
    items = list(steps[2].process(pickler.loads(pickler.dumps(annotated))))
    assert decoded[1][0] == "decoded" and decoded[1][2].frames.shape == (6, 120, 160, 3)
    assert annotated[1][0] == "annotated" and len(annotated[1][3].objects) == 3
    assert [shard for shard, _ in items] == [shard_of("synth0001", 2)] and items[0][1][0] in ("sample", "dropped")
    [missing] = list(steps[0].process("no-such-video"))
    passed = list(steps[2].process(next(iter(steps[1].process(missing)))))
    assert passed == [(shard_of("no-such-video", 2), missing[1])] and missing[1][1]["stage"] == "read_source"


def test_dofn_copies_in_one_process_share_one_set_of_models(config):
    """Beam runs a DoFn instance per thread; their models come from one pool per process (and config), built once."""
    from apache_beam.internal import pickler

    from videogcg.pipeline.beam_pipeline import AnnotateVideos

    dofn = AnnotateVideos(config, shared.Shared())
    first, second = (pickler.loads(pickler.dumps(dofn)) for _ in range(2))  # as the runner ships it to each thread
    first.setup()
    second.setup()
    assert first.processor.annotators is second.processor.annotators
    built = []
    for copy in (first, second):
        copy.processor.annotators.get("captioner", lambda: built.append(1) or object())
    assert built == [1]
    other = AnnotateVideos(config.model_copy(update={"models": config.models.model_copy(update={"max_new_tokens": 7})}), first.models)
    other.setup()
    assert other.processor.annotators is not first.processor.annotators  # another model config, other models


def test_threads_sharing_the_models_take_turns(sources, config, monkeypatch):
    """Two threads annotate with one pool: the annotate steps never overlap, and each runs holding the pool."""
    import threading

    from videogcg.pipeline.annotator_pool import AnnotatorPool
    from videogcg.pipeline.processor import VideoProcessor

    source = SourceSpec("mevis", str(sources["masks_expressions"])).open()
    pool = AnnotatorPool()
    active, overlaps, held = [], [], []
    original = VideoProcessor._from_expressions

    def watched(self, video, clip):
        active.append(1)
        overlaps.append(len(active))
        held.append(pool.holder == threading.get_ident())
        time.sleep(0.05)
        active.pop()
        return original(self, video, clip)

    monkeypatch.setattr(VideoProcessor, "_from_expressions", watched)

    def annotate(video_id):
        processor = VideoProcessor(config, annotators=pool)
        video = source.load(video_id)
        for _ in range(3):
            processor.annotate(video, processor.prepare(video))

    threads = [threading.Thread(target=annotate, args=(v,)) for v in source.video_ids()[:2]]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(overlaps) == 6 and max(overlaps) == 1 and all(held)
