"""Source formats by name, opened from a (format, path, name) spec that pickles to Beam workers."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from videogcg import storage
from videogcg.pipeline.sources import Source, SourceError


@dataclass(frozen=True)
class SourceSpec:
    """`path`: the dataset folder or annotation file; `media`: where frames or videos are, for formats that keep
    them apart from the annotations (default: beside the annotation file); `vidor_annotations`: VidSTG's box
    trajectories (VidOR's annotation folder), where its file lacks them; `ids` (+ `ids_key`): a JSON file listing
    the videos to take (a list, or a mapping whose `ids_key` holds one), for sources whose splits share a file."""

    format: str
    path: str
    name: str | None = None
    media: str | None = None
    vidor_annotations: str | None = None
    ids: str | None = None
    ids_key: str | None = None

    def open(self) -> Source:
        if self.format not in FORMATS:
            raise ValueError(f"unknown source format {self.format!r}; known: {sorted(FORMATS)}")
        source = FORMATS[self.format](self)
        return ListedVideos(source, self._listed_ids()) if self.ids else source

    def _listed_ids(self) -> frozenset[str]:
        try:
            listed = json.loads(storage.read_text(self.ids))
        except (OSError, ValueError) as error:
            raise SourceError(self.ids, "<root>", f"cannot be read as JSON ({error})") from None
        if self.ids_key is not None:
            if not isinstance(listed, dict) or self.ids_key not in listed:
                raise SourceError(self.ids, self.ids_key, "missing")
            listed = listed[self.ids_key]
        if not isinstance(listed, list) or not all(isinstance(i, str) for i in listed):
            raise SourceError(self.ids, self.ids_key or "<root>", "must be a list of video ids")
        return frozenset(listed)


class ListedVideos:
    """A source limited to listed videos. A listed id also takes the clips cut from that video, whose ids are
    ``<video id>____<n>`` (ActivityNet-Entities segments, VidSTG records)."""

    def __init__(self, source: Source, listed: frozenset[str]):
        self.source, self.name, self.listed = source, source.name, listed

    def video_ids(self) -> list[str]:
        return [v for v in self.source.video_ids() if v in self.listed or v.split("____")[0] in self.listed]

    def load(self, video_id: str):
        return self.source.load(video_id)


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

    return VidSTGSource(spec.path, _media(spec, "videos"), name=_name(spec, "vidstg"), vidor_annotations=spec.vidor_annotations)


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
