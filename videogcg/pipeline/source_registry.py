"""Source formats by name, opened from a (format, path, name) spec that pickles to Beam workers."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from videogcg import storage
from videogcg.pipeline.sources import Source


@dataclass(frozen=True)
class SourceSpec:
    """`path`: the dataset folder or annotation file; `media`: where frames or videos are, for formats that keep
    them apart from the annotations (default: beside the annotation file)."""

    format: str
    path: str
    name: str | None = None
    media: str | None = None

    def open(self) -> Source:
        if self.format not in FORMATS:
            raise ValueError(f"unknown source format {self.format!r}; known: {sorted(FORMATS)}")
        return FORMATS[self.format](self)


def _name(spec: SourceSpec, default: str) -> str:
    return spec.name or default


def _media(spec: SourceSpec, default: str) -> Path:
    return storage.path(spec.media) if spec.media else storage.path(spec.path).resolve().parent / default


def _mevis(spec: SourceSpec) -> Source:
    from videogcg.pipeline.sources.mevis import MevisSource

    return MevisSource(spec.path, name=_name(spec, storage.path(spec.path).resolve().name))


def _boxes_captions(spec: SourceSpec) -> Source:
    from videogcg.pipeline.sources.boxes_captions import BoxesCaptionsSource

    return BoxesCaptionsSource(spec.path, name=_name(spec, storage.path(spec.path).resolve().name))


def _ytvis(spec: SourceSpec) -> Source:
    from videogcg.pipeline.sources.ytvis import YouTubeVISSource

    return YouTubeVISSource(spec.path, _media(spec, "JPEGImages"), name=_name(spec, "ytvis"))


def _videoglamm(spec: SourceSpec) -> Source:
    """A split file of `videogcg export videoglamm` (or of VideoGLaMM's own video_gcg), frames in ../JPEGImages."""
    from videogcg.pipeline.sources.ytvis import YouTubeVISSource

    media = storage.path(spec.media) if spec.media else storage.path(spec.path).resolve().parent.parent / "JPEGImages"
    return YouTubeVISSource(spec.path, media, name=_name(spec, "video_gcg"))


def _refytvos(spec: SourceSpec) -> Source:
    from videogcg.pipeline.sources.refytvos import RefYouTubeVOSSource

    return RefYouTubeVOSSource(spec.path, name=_name(spec, "ref-youtube-vos"))


def _vidstg(spec: SourceSpec) -> Source:
    from videogcg.pipeline.sources.vidstg import VidSTGSource

    return VidSTGSource(spec.path, _media(spec, "videos"), name=_name(spec, "vidstg"))


def _hcstvg(spec: SourceSpec) -> Source:
    from videogcg.pipeline.sources.vidstg import HCSTVGSource

    return HCSTVGSource(spec.path, _media(spec, "videos"), name=_name(spec, "hc-stvg"))


def _anet(spec: SourceSpec) -> Source:
    from videogcg.pipeline.sources.anet_entities import ActivityNetEntitiesSource

    return ActivityNetEntitiesSource(spec.path, _media(spec, "videos"), name=_name(spec, "activitynet-entities"))


def _folder(spec: SourceSpec) -> Source:
    from videogcg.pipeline.sources.folder import VideoFolderSource

    return VideoFolderSource(spec.path, name=spec.name)


def _manifest(spec: SourceSpec) -> Source:
    from videogcg.pipeline.sources.folder import ManifestSource

    return ManifestSource(spec.path, name=spec.name)


FORMATS = {
    "mevis": _mevis,
    "boxes_captions": _boxes_captions,
    "ytvis": _ytvis,
    "videoglamm": _videoglamm,
    "ref-youtube-vos": _refytvos,
    "vidstg": _vidstg,
    "hc-stvg": _hcstvg,
    "activitynet-entities": _anet,
    "folder": _folder,
    "manifest": _manifest,
}
