"""Throughput of each annotator on this machine: tiny and real-size random-weight models, batch 1 vs batched.

Also, for SAM2: time for 1 vs 4 objects in one session, and peak memory on a 100- vs a 1,000-frame clip.

    .venv/bin/python -m benchmarks.annotators                 # everything (real-size models take a while)
    .venv/bin/python -m benchmarks.annotators --sizes tiny    # tiny models only
    .venv/bin/python -m benchmarks.annotators --only sam2-memory

Results go to benchmarks/results/annotators-<device>.json; the README there has the table.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from benchmarks import real_size  # noqa: E402
from benchmarks.common import in_fresh_process, peak_rss_mb, timed, write_results  # noqa: E402
from videogcg.synthetic import random_scene, render  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
CAPTIONS = [
    "A man in a red shirt walks his dog past the wooden fence while a cyclist overtakes them.",
    "Two children throw a ball on the beach as a white boat passes behind them.",
    "A yellow square moves right, a blue circle moves left and an orange triangle rises.",
    "The woman in the green coat opens the door of the black car parked by the lamp post.",
]


def clip(frames: int = 16, width: int = 320, height: int = 240, seed: int = 0) -> np.ndarray:
    return render(random_scene(np.random.default_rng(seed), "bench", width=width, height=height, num_frames=frames)).frames


def row(annotator: str, size: str, batch: int, items: int, seconds: float, unit: str, **extra) -> dict:
    result = {"annotator": annotator, "model": size, "batch": batch, "items": items, "seconds": round(seconds, 4)}
    result[f"{unit}_per_s"] = round(items / seconds, 3)
    result.update(extra)
    logging.info("%s", result)
    return result


def bench_spacy() -> list[dict]:
    from videogcg.annotators.phrases import SpacyPhraseExtractor

    extractor = SpacyPhraseExtractor()
    extractor.load()
    captions = CAPTIONS * 16
    one = timed(lambda: [extractor.extract([c]) for c in captions])
    batched = timed(lambda: extractor.extract(captions))
    return [
        row("phrases (spaCy)", "en_core_web_sm", 1, len(captions), one, "captions"),
        row("phrases (spaCy)", "en_core_web_sm", len(captions), len(captions), batched, "captions"),
    ]


def bench_text_llm(size: str, cache: Path) -> list[dict]:
    from videogcg.annotators.phrases import LLMPhraseExtractor
    from videogcg.annotators.refiner import CaptionRefiner, RefinementRequest
    from videogcg.annotators.registry import load

    loaded = load("tiny:text_llm", "text_llm", cache_dir=cache) if size == "tiny" else real_size.text_llm()
    tokens = 32
    rows = []
    for batch in (1, 4):
        extractor = LLMPhraseExtractor.from_loaded(loaded, max_attempts=1, max_new_tokens=tokens, batch_size=batch)
        seconds = timed(lambda: extractor.extract(CAPTIONS), repeats=1 if size == "real" else 3)
        rows.append(row("phrases (LLM)", size, batch, len(CAPTIONS), seconds, "captions", new_tokens=tokens))
    requests = [RefinementRequest("[a man](0) walks [his dog](1) past [the fence](2).", frozenset({0, 1, 2}))] * 4
    for batch in (1, 4):
        refiner = CaptionRefiner.from_loaded(loaded, max_attempts=1, max_new_tokens=tokens, batch_size=batch)
        seconds = timed(lambda: refiner.refine(requests), repeats=1 if size == "real" else 3)
        rows.append(row("caption refiner", size, batch, len(requests), seconds, "captions", new_tokens=tokens))
    return rows


def bench_captioner(size: str, cache: Path) -> list[dict]:
    from videogcg.annotators.captioner import Captioner
    from videogcg.annotators.registry import load

    loaded = load("tiny:vlm", "vlm", cache_dir=cache) if size == "tiny" else real_size.vlm()
    count, frames_per_clip, tokens = (4, 4, 16) if size == "tiny" else (2, 2, 16)  # real: 729 image tokens a frame
    clips = [clip(seed=s) for s in range(count)]
    rows = []
    for batch in (1, count):
        captioner = Captioner.from_loaded(loaded, num_frames=frames_per_clip, max_new_tokens=tokens, batch_size=batch)
        seconds = timed(lambda: captioner.caption_clips(clips), repeats=1 if size == "real" else 3)
        rows.append(
            row("captioner (dense)", size, batch, len(clips) * frames_per_clip, seconds, "frames", clips=len(clips), new_tokens=tokens)
        )
    return rows


def bench_grounder(size: str, cache: Path) -> list[dict]:
    from videogcg.annotators.grounder import Grounder, GrounderConfig

    frames = clip(frames=8, width=640, height=480)
    phrases = ["a yellow square", "a blue circle", "an orange triangle"]
    keyframes = [0, 2, 4, 6] if size == "tiny" else [0, 4]
    rows = []
    for batch in (1, len(keyframes)):
        grounder = Grounder(GrounderConfig(batch_size=batch, cache_dir=cache))
        if size == "real":
            grounder._loaded = real_size.grounding_dino()  # random weights at the real size; nothing to load
        seconds = timed(lambda: grounder.ground(frames, phrases, keyframes), repeats=1 if size == "real" else 3)
        rows.append(row("grounder", size, batch, len(keyframes), seconds, "frames", phrases=len(phrases), frame_size="640x480"))
    return rows


def bench_propagator(size: str, cache: Path) -> list[dict]:
    from videogcg.annotators.propagator import MaskPropagator, Prompt, PropagatorConfig

    length = 24 if size == "tiny" else 3
    video = render(random_scene(np.random.default_rng(0), "bench", width=320, height=240, num_frames=length))
    boxes = [video.box(i, 0) or (10.0, 10.0, 40.0, 40.0) for i in range(3)] + [(200.0, 20.0, 60.0, 50.0)]
    propagator = MaskPropagator(PropagatorConfig(bidirectional=False, cache_dir=cache))
    if size == "real":
        propagator._loaded = real_size.sam2_video()
    rows = []
    for objects in (1, 4):
        prompts = [Prompt(i, 0, box=boxes[i]) for i in range(objects)]
        seconds = timed(lambda: propagator.propagate(video.frames, prompts), repeats=1 if size == "real" else 3)
        rows.append(row("propagator (SAM2)", size, 1, length, seconds, "frames", objects=objects, direction="forward"))
    rows[-1]["cost_of_4_vs_1_object"] = round(rows[-1]["seconds"] / rows[-2]["seconds"], 2)
    return rows


def bench_sam2_memory(size: str, cache: Path) -> list[dict]:
    if size != "tiny":
        return []
    rows = [in_fresh_process("benchmarks.sam2_memory", str(length), str(cache)) for length in (100, 1000)]
    rows[1]["peak_vs_100_frames"] = round(rows[1]["peak_rss_mb"] / rows[0]["peak_rss_mb"], 3)
    return [{"annotator": "propagator (SAM2) memory", "model": "tiny", "direction": "both", "objects": 2, **r} for r in rows]


SECTIONS = {
    "spacy": lambda size, cache: bench_spacy() if size == "tiny" else [],
    "text-llm": bench_text_llm,
    "captioner": bench_captioner,
    "grounder": bench_grounder,
    "propagator": bench_propagator,
    "sam2-memory": bench_sam2_memory,
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", nargs="+", default=["tiny", "real"], choices=["tiny", "real"])
    parser.add_argument("--only", nargs="+", choices=sorted(SECTIONS), default=None)
    parser.add_argument("--output", type=Path, default=None)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    cache = Path(tempfile.mkdtemp(prefix="videogcg-bench-"))
    rows, notes = [], []
    for name in args.only or SECTIONS:
        for size in args.sizes:
            rows += SECTIONS[name](size, cache)
    notes.append(f"peak RSS of the benchmark process: {peak_rss_mb():.0f} MB")
    device = "cpu"
    output = args.output or RESULTS / f"annotators-{device}.json"
    write_results(output, rows, notes, "python -m benchmarks.annotators " + " ".join(argv if argv is not None else sys.argv[1:]))
    print(json.dumps({"rows": len(rows), "output": str(output)}))


if __name__ == "__main__":
    main()
