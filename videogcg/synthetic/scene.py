"""Synthetic clips of moving, occluding shapes with exact masks, boxes and true captions.

Every pixel's owner is known when the frame is drawn, so the masks are exact ground truth (visible,
"modal" masks, as in VOS datasets: an occluded part belongs to the shape in front).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

COLORS: dict[str, tuple[int, int, int]] = {
    "red": (220, 40, 40),
    "green": (40, 170, 60),
    "blue": (50, 90, 230),
    "yellow": (235, 205, 40),
    "purple": (150, 60, 200),
    "orange": (245, 135, 30),
}
SHAPES = ("square", "circle", "triangle")


@dataclass(frozen=True)
class MovingShape:
    """A filled shape whose centre moves at constant velocity (pixels per frame). Later shapes are in front."""

    object_id: int
    shape: str
    color: str
    radius: float
    x0: float
    y0: float
    vx: float
    vy: float

    @property
    def direction(self) -> str:
        if abs(self.vx) >= abs(self.vy):
            return "right" if self.vx > 0 else "left"
        return "down" if self.vy > 0 else "up"

    @property
    def noun_phrase(self) -> str:
        article = "an" if self.color[0] in "aeiou" else "a"
        return f"{article} {self.color} {self.shape}"

    @property
    def caption(self) -> str:
        """What a captioner should say: "a red square moves left"."""
        return f"{self.noun_phrase} moves {self.direction}"

    @property
    def expression(self) -> str:
        """A referring expression in MeViS style: "the red square moving left"."""
        return f"the {self.color} {self.shape} moving {self.direction}"

    def mask(self, t: int, height: int, width: int) -> np.ndarray:
        cx, cy, r = self.x0 + self.vx * t, self.y0 + self.vy * t, self.radius
        ys, xs = np.mgrid[0:height, 0:width].astype(np.float32) + 0.5
        if self.shape == "square":
            return (np.abs(xs - cx) <= r) & (np.abs(ys - cy) <= r)
        if self.shape == "circle":
            return (xs - cx) ** 2 + (ys - cy) ** 2 <= r * r
        if self.shape == "triangle":  # apex up, base at cy + r
            inside_height = (ys >= cy - r) & (ys <= cy + r)
            half_width = (ys - (cy - r)) / 2.0
            return inside_height & (np.abs(xs - cx) <= half_width)
        raise ValueError(f"unknown shape {self.shape!r}")


@dataclass(frozen=True)
class SceneSpec:
    video_id: str
    width: int
    height: int
    num_frames: int
    fps: float
    shapes: tuple[MovingShape, ...]


@dataclass(frozen=True)
class SyntheticVideo:
    """A rendered scene: frames (T, H, W, 3) uint8 and visible masks (N, T, H, W) bool, N in `shapes` order."""

    spec: SceneSpec
    frames: np.ndarray
    masks: np.ndarray

    def box(self, index: int, t: int) -> tuple[float, float, float, float] | None:
        """Tight (x, y, w, h) box of shape `index` at frame t, None where it is not visible."""
        ys, xs = np.nonzero(self.masks[index, t])
        if len(xs) == 0:
            return None
        return (float(xs.min()), float(ys.min()), float(xs.max() - xs.min() + 1), float(ys.max() - ys.min() + 1))


def _background(height: int, width: int) -> np.ndarray:
    ys, xs = np.mgrid[0:height, 0:width]
    gray = 90 + 50 * (xs / max(width - 1, 1)) + 20 * (ys / max(height - 1, 1))
    return np.repeat(gray[..., None], 3, axis=2).astype(np.uint8)


def render(spec: SceneSpec) -> SyntheticVideo:
    n, h, w = len(spec.shapes), spec.height, spec.width
    frames = np.empty((spec.num_frames, h, w, 3), dtype=np.uint8)
    masks = np.zeros((n, spec.num_frames, h, w), dtype=bool)
    background = _background(h, w)
    for t in range(spec.num_frames):
        frame = background.copy()
        owner = np.full((h, w), -1, dtype=np.int16)
        for i, shape in enumerate(spec.shapes):  # painter's order: later shapes cover earlier ones
            covered = shape.mask(t, h, w)
            owner[covered] = i
            frame[covered] = COLORS[shape.color]
        for i in range(n):
            masks[i, t] = owner == i
        frames[t] = frame
    return SyntheticVideo(spec=spec, frames=frames, masks=masks)


def random_scene(
    rng: np.random.Generator, video_id: str, width: int = 320, height: int = 240, num_frames: int = 24, fps: float = 10.0
) -> SceneSpec:
    """Two shapes that cross (one passes in front of the other) and a third that enters from an edge mid-clip."""
    colors = rng.permutation(list(COLORS))[:3]
    shapes = rng.permutation(list(SHAPES))
    radius = min(width, height) / 8
    lane = height / 2 + rng.uniform(-0.1, 0.1) * height
    speed = (width - 4 * radius) / num_frames
    left_to_right = MovingShape(0, shapes[0], colors[0], radius, 2 * radius, lane, speed, rng.uniform(-0.3, 0.3))
    right_to_left = MovingShape(
        1, shapes[1], colors[1], radius * 0.9, width - 2 * radius, lane + radius * 0.5, -speed, rng.uniform(-0.3, 0.3)
    )
    # Starts fully below the frame and moves up, so it is absent in the first frames.
    entering = MovingShape(
        2, shapes[2], colors[2], radius * 0.8, rng.uniform(1.5, 2.5) * radius, height + radius, 0.0, -2.5 * radius / (num_frames / 4)
    )
    return SceneSpec(video_id, width, height, num_frames, fps, (left_to_right, right_to_left, entering))
