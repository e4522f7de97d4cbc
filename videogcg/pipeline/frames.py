"""Which frames of a clip to sample."""

from __future__ import annotations

from videogcg.annotators.clips import uniform_indices


def sampled_indices(start: int, end: int, fps: float, policy: str, num_frames: int, sample_fps: float, max_frames: int) -> tuple[int, ...]:
    """Frames of [start, end) to sample: `num_frames` evenly (policy "count"), `sample_fps` per second of
    video at `fps` (policy "fps"), or every frame (policy "all"); the last two capped at `max_frames`."""
    if policy == "count":
        return uniform_indices(start, end, num_frames)
    if policy == "all":
        return uniform_indices(start, end, max_frames)
    if policy == "fps":
        wanted = max(1, round((end - start) / fps * sample_fps))
        return uniform_indices(start, end, min(wanted, max_frames))
    raise ValueError(f"unknown sampling policy {policy!r}; use 'count', 'fps' or 'all'")
