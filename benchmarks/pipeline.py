"""The pipeline against (a) the annotators' own time for the same work and (b) a plain sequential script.

(a) overhead: `run_pipeline` on the local runner vs `VideoProcessor.process` called in a loop (the same
    annotators and stages, no Beam), each in a fresh process with cold model loads. Goal: <= 1.15x.
(b) the usual script: one video at a time, decode it, caption, phrases, detect on the first frame only, then
    one SAM2 session per object, decoding the video again for each object. Reported as frames/s ratio.

    .venv/bin/python -m benchmarks.pipeline [--videos 8] [--frames 48]

Raw videos (all models run) from `videogcg samples`; tiny models. Results: benchmarks/results/pipeline-cpu.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from benchmarks.common import in_fresh_process, write_results  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"


def _config(cache: str, frames: int):
    from videogcg.pipeline.settings import PipelineConfig

    return PipelineConfig.load(overrides=[f"models.cache_dir={cache}", f"sampling.num_frames={frames}", "output.videos_per_shard=4"])


def run_pipeline_mode(videos: str, cache: str, frames: int) -> dict:
    from videogcg.pipeline.beam_pipeline import run_pipeline
    from videogcg.pipeline.source_registry import SourceSpec

    start = time.perf_counter()
    summary = run_pipeline(SourceSpec("folder", videos), tempfile.mkdtemp(), _config(cache, frames))
    return {"seconds": time.perf_counter() - start, "samples": summary["samples"] + summary["routes"]["drop"]}


def run_annotators_mode(videos: str, cache: str, frames: int) -> dict:
    from videogcg.pipeline.processor import VideoProcessor
    from videogcg.pipeline.sources.folder import VideoFolderSource

    start = time.perf_counter()
    source, processor = VideoFolderSource(videos), VideoProcessor(_config(cache, frames))
    samples = sum(len(processor.process(source.load(v))) for v in source.video_ids())
    return {"seconds": time.perf_counter() - start, "samples": samples}


def run_naive_mode(videos: str, cache: str, frames: int) -> dict:
    """What one-off scripts do: everything per video, detection on frame 0, a SAM2 session and a decode per object."""
    from videogcg.annotators.captioner import Captioner
    from videogcg.annotators.clips import uniform_indices
    from videogcg.annotators.grounder import Grounder, GrounderConfig
    from videogcg.annotators.phrases import SpacyPhraseExtractor
    from videogcg.annotators.propagator import MaskPropagator, Prompt, PropagatorConfig
    from videogcg.video_io import probe, read_frames

    start = time.perf_counter()
    captioner, phrases = Captioner(cache_dir=cache, max_new_tokens=64), SpacyPhraseExtractor()
    grounder, propagator = Grounder(GrounderConfig(cache_dir=cache)), MaskPropagator(PropagatorConfig(cache_dir=cache))
    samples = 0
    for path in sorted(Path(videos).glob("*.mp4")):
        indices = list(uniform_indices(0, probe(path).num_frames, frames))
        clip = read_frames(path, indices)
        [caption] = captioner.caption_clips([clip])
        spans = phrases.extract([caption.text])[0].phrases[:6]
        if spans:
            found = grounder.ground(clip, [s.text for s in spans], keyframes=[0])
            for index in range(len(spans)):
                detections = found.for_phrase(index)
                if detections:
                    again = read_frames(path, indices)  # decoded again for every object
                    best = max(detections, key=lambda d: d.score)
                    propagator.propagate(again, [Prompt(object_id=index, frame=0, box=best.box)])
        samples += 1
    return {"seconds": time.perf_counter() - start, "samples": samples}


MODES = {"pipeline": run_pipeline_mode, "annotators": run_annotators_mode, "naive": run_naive_mode}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--videos", type=int, default=8)
    parser.add_argument("--frames", type=int, default=8, help="frames sampled per video")
    parser.add_argument("--mode", choices=sorted(MODES), help=argparse.SUPPRESS)  # child process
    parser.add_argument("--input", help=argparse.SUPPRESS)
    parser.add_argument("--cache", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.mode:
        print(json.dumps(MODES[args.mode](args.input, args.cache, args.frames)))
        return
    from videogcg.annotators.registry import tiny_checkpoint
    from videogcg.synthetic import generate_sources

    work = Path(tempfile.mkdtemp(prefix="videogcg-pipeline-bench-"))
    videos = generate_sources(work / "in", num_videos=args.videos, num_frames=48)["raw"] / "videos"
    cache = str(work / "models")
    for family in ("vlm", "grounding_dino", "sam2_video"):
        tiny_checkpoint(family, cache)  # built once, outside the timings
    common = ["--input", str(videos), "--cache", cache, "--frames", str(args.frames)]
    runs = {mode: in_fresh_process("benchmarks.pipeline", "--mode", mode, *common) for mode in ("annotators", "pipeline", "naive")}
    frames = args.videos * args.frames
    rows = [
        {
            "method": mode,
            "model": "tiny",
            "videos": args.videos,
            "seconds": round(r["seconds"], 2),
            "frames_per_s": round(frames / r["seconds"], 2),
        }
        for mode, r in runs.items()
    ]
    rows[1]["overhead_vs_annotators"] = round(runs["pipeline"]["seconds"] / runs["annotators"]["seconds"], 3)
    rows[1]["speedup_vs_naive"] = round(runs["naive"]["seconds"] / runs["pipeline"]["seconds"], 3)
    notes = [
        "Each method in a fresh process, cold model loads included (tiny checkpoints prebuilt); raw videos, all models run.",
        "Real-size models not measured yet for the pipeline (the annotator benchmark has their per-frame costs).",
    ]
    write_results(
        RESULTS / "pipeline-cpu.json", rows, notes, "python -m benchmarks.pipeline " + " ".join(argv if argv is not None else sys.argv[1:])
    )
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
