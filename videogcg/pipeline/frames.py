"""Which frames of a clip to sample."""

from __future__ import annotations

import numpy as np


def uniform_indices(start: int, end: int, count: int) -> tuple[int, ...]:
    """`count` frame indices spread evenly over [start, end) at bin centres (fewer if the clip is shorter)."""
    if end <= start:
        raise ValueError(f"empty clip [{start}, {end})")
    if count < 1:
        raise ValueError(f"need at least one frame, got {count}")
    length = end - start
    if count >= length:
        return tuple(range(start, end))
    centres = start + (np.arange(count) + 0.5) * length / count
    return tuple(int(i) for i in np.floor(centres))


def sampled_indices(start: int, end: int, fps: float, policy: str, num_frames: int, sample_fps: float, max_frames: int) -> tuple[int, ...]:
    """Frames of [start, end) to sample: `num_frames` evenly (policy "count"), or `sample_fps` per second of
    video at `fps`, capped at `max_frames` (policy "fps")."""
    if policy == "count":
        return uniform_indices(start, end, num_frames)
    if policy == "fps":
        wanted = max(1, round((end - start) / fps * sample_fps))
        return uniform_indices(start, end, min(wanted, max_frames))
    raise ValueError(f"unknown sampling policy {policy!r}; use 'count' or 'fps'")
