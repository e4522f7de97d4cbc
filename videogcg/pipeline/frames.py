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
