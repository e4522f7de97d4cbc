"""Peak resident memory of one SAM2 propagation over a T-frame clip, in a fresh process (ru_maxrss is a
per-process high-water mark). Frames are drawn when indexed, so the input does not grow with T.

    .venv/bin/python -m benchmarks.sam2_memory 1000 CACHE_DIR
"""

from __future__ import annotations

import json
import os
import sys
import time

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from benchmarks.common import peak_rss_mb  # noqa: E402
from videogcg.annotators.propagator import MaskPropagator, Prompt, PropagatorConfig  # noqa: E402
from videogcg.synthetic.scene import COLORS, MovingShape  # noqa: E402

SIZE = 128


class LazyClip:
    """Two shapes bouncing inside a SIZE x SIZE frame, drawn on demand."""

    def __init__(self, length: int):
        self.length = length
        self.shapes = [MovingShape(0, "square", "red", 12, 30, 40, 1.3, 0.7), MovingShape(1, "circle", "blue", 10, 90, 80, -0.9, 1.1)]

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, t: int) -> np.ndarray:
        if not 0 <= t < self.length:
            raise IndexError(t)
        frame = np.full((SIZE, SIZE, 3), 110, np.uint8)
        for s in self.shapes:
            span = SIZE - 2 * s.radius

            def fold(p0: float, v: float) -> float:
                return s.radius + abs(((p0 - s.radius + v * t) % (2 * span)) - span)

            here = MovingShape(s.object_id, s.shape, s.color, s.radius, fold(s.x0, s.vx), fold(s.y0, s.vy), 0, 0)
            frame[here.mask(0, SIZE, SIZE)] = COLORS[s.color]
        return frame


def main() -> None:
    length, cache = int(sys.argv[1]), sys.argv[2]
    propagator = MaskPropagator(PropagatorConfig(cache_dir=cache))
    propagator.propagate(LazyClip(20), [Prompt(0, 0, box=(18, 28, 24, 24))])  # load and warm up
    before = peak_rss_mb()
    start = time.perf_counter()
    prompts = [Prompt(0, 0, box=(18, 28, 24, 24)), Prompt(1, length - 1, points=((64.0, 64.0),), point_labels=(1,))]
    result = propagator.propagate(LazyClip(length), prompts)
    seconds = time.perf_counter() - start
    output_mb = sum(m.nbytes + s.nbytes for m, s in zip(result.masks.values(), result.scores.values())) / 2**20
    print(
        json.dumps(
            {
                "frames": length,
                "peak_rss_mb": round(peak_rss_mb(), 1),
                "before_mb": round(before, 1),
                "output_mb": round(output_mb, 1),
                "seconds": round(seconds, 2),
            }
        )
    )


if __name__ == "__main__":
    main()
