"""Synthetic sample videos with exact ground truth, for tests and the demo."""

from videogcg.synthetic.scene import MovingShape, SceneSpec, SyntheticVideo, random_scene, render
from videogcg.synthetic.sources import SOURCE_FORMS, generate_sources

__all__ = ["SOURCE_FORMS", "MovingShape", "SceneSpec", "SyntheticVideo", "generate_sources", "random_scene", "render"]
