"""Readers of the source datasets a run ingests, each turning one dataset layout into `SourceVideo`s."""

from videogcg.pipeline.sources.base import (
    Source,
    SourceCaption,
    SourceError,
    SourceExpression,
    SourceKind,
    SourceObject,
    SourcePhrase,
    SourceVideo,
)
from videogcg.pipeline.sources.mevis import MevisSource

__all__ = [
    "MevisSource",
    "Source",
    "SourceCaption",
    "SourceError",
    "SourceExpression",
    "SourceKind",
    "SourceObject",
    "SourcePhrase",
    "SourceVideo",
]
