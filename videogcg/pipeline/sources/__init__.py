"""Readers of the source datasets a run ingests, each turning one dataset layout into `SourceVideo`s."""

from videogcg.pipeline.sources.base import SourceError, SourceExpression, SourceVideo
from videogcg.pipeline.sources.mevis import MevisSource

__all__ = ["MevisSource", "SourceError", "SourceExpression", "SourceVideo"]
