"""Datasets out of and back into the layouts other tools read: VideoGLaMM's `video_gcg` and YouTube-VIS JSON."""

from videogcg.interop.videoglamm import export_videoglamm
from videogcg.interop.ytvis import export_ytvis

__all__ = ["export_videoglamm", "export_ytvis"]
