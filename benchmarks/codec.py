"""CPU cost per frame of the pipeline's video work: decoding sampled frames (decord) and encoding the stored
clip (H.264, crf 18, PyAV), at two sizes. `videogcg plan` takes its CPU-stage costs from these figures.

    python -m benchmarks.codec
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from benchmarks.common import timed, write_results
from videogcg.video_io import encode_mp4, read_frames

RESULTS = Path(__file__).parent / "results" / "codec-cpu"


def _video(width: int, height: int, frames: int) -> np.ndarray:
    """Moving noise blobs over a gradient: content that compresses like camera video more than flat shapes do."""
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:height, 0:width]
    base = np.stack([x * 255 // width, y * 255 // height, (x + y) * 255 // (width + height)], axis=-1).astype(np.int16)
    clip = []
    for t in range(frames):
        noise = rng.integers(-40, 40, size=(height // 8, width // 8, 3)).repeat(8, 0).repeat(8, 1)
        clip.append(np.clip(np.roll(base, 4 * t, axis=1) + noise, 0, 255).astype(np.uint8))
    return np.stack(clip)


def main() -> None:
    rows = []
    for width, height in ((640, 360), (1280, 720)):
        source = encode_mp4(_video(width, height, 64), fps=30.0)  # the source video: 64 frames at 30 fps
        sampled = list(range(0, 64, 8))  # 8 frames spread over the clip (policy count, as the defaults)
        decode = timed(lambda: read_frames(source, sampled), repeats=5)
        frames = read_frames(source, sampled)
        encode = timed(lambda: encode_mp4(frames, fps=3.75), repeats=5)
        stored = encode_mp4(frames, fps=3.75)
        rows.append(
            {
                "size": f"{width}x{height}",
                "sampled_frames": len(sampled),
                "decode_s_per_frame": round(decode / len(sampled), 5),
                "encode_s_per_frame": round(encode / len(sampled), 5),
                "stored_bytes_per_pixel": round(len(stored) / frames[..., 0].size, 4),
            }
        )
    notes = [
        "One process, one thread for decord; median of 5 after a warm-up. Decoding sampled frames from a 64-frame 30 fps "
        "H.264 source; encoding those 8 frames as the stored clip (libx264 crf 18, veryfast).",
        "stored_bytes_per_pixel is for this synthetic content (noise blocks over a moving gradient), an upper-middle "
        "case for sparse frames; the demo's flat shapes give 0.023.",
    ]
    write_results(RESULTS, rows, notes, "python -m benchmarks.codec")


if __name__ == "__main__":
    main()
