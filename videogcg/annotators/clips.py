"""The clip every annotator takes: (T, H, W, 3) uint8 RGB frames of one size, as an array or a sequence."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

Frames = np.ndarray | Sequence[np.ndarray]


def _describe(frame: object) -> str:
    return f"{frame.dtype} {frame.shape}" if isinstance(frame, np.ndarray) else type(frame).__name__


def check_clip(frames: Frames, what: str = "frames") -> tuple[int, int, int]:
    """(T, H, W) of a clip, or a ValueError that says what is wrong and, for a sequence, which frame."""
    if isinstance(frames, np.ndarray):
        if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
            raise ValueError(f"{what} must be a (T, H, W, 3) uint8 array, got {_describe(frames)}")
        if 0 in frames.shape:
            raise ValueError(f"{what} must not be empty: need T, H, W >= 1, got shape {frames.shape}")
        return frames.shape[0], frames.shape[1], frames.shape[2]
    if len(frames) == 0:
        raise ValueError(f"{what} is empty: a clip needs at least one frame")
    first = frames[0]
    for index, frame in enumerate(frames):
        if not isinstance(frame, np.ndarray) or frame.ndim != 3 or frame.shape[-1] != 3 or frame.dtype != np.uint8:
            raise ValueError(f"frame {index} of {what} must be an (H, W, 3) uint8 array, got {_describe(frame)}")
        if 0 in frame.shape:
            raise ValueError(f"frame {index} of {what} is empty ({frame.shape})")
        if frame.shape != first.shape:
            (h, w), (h0, w0) = frame.shape[:2], first.shape[:2]
            raise ValueError(f"frame {index} is {w}x{h} but frame 0 is {w0}x{h0}: a clip's frames must share one size")
    return len(frames), first.shape[0], first.shape[1]


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
