"""Answers with grounded phrases, from what a source or the models give."""

from __future__ import annotations

from collections.abc import Sequence

from videogcg.pipeline.sources import SourceCaption, SourceExpression
from videogcg.schemas import GroundedPhrase


def choose_expressions(expressions: Sequence[SourceExpression]) -> list[SourceExpression]:
    """Expressions in source order, skipping any that would mention an already-mentioned object again."""
    covered: set[int] = set()
    chosen = []
    for expression in expressions:
        if covered.isdisjoint(expression.object_ids):
            chosen.append(expression)
            covered.update(expression.object_ids)
    return chosen


def listing_answer(mentions: Sequence[tuple[str, tuple[int, ...]]]) -> tuple[str, tuple[GroundedPhrase, ...]]:
    """ "The video shows A, B and C." with a grounded phrase per (text, object ids) mention."""
    text, phrases = "The video shows ", []
    for i, (mention, object_ids) in enumerate(mentions):
        if i:
            text += " and " if i == len(mentions) - 1 else ", "
        phrases.append(GroundedPhrase(start=len(text), end=len(text) + len(mention), text=mention, object_ids=object_ids))
        text += mention
    return text + ".", tuple(phrases)


def caption_answer(caption: SourceCaption, known_ids: set[int]) -> tuple[str, tuple[GroundedPhrase, ...]]:
    """A source caption as the answer, its phrases grounded where they name known objects (others are left plain)."""
    phrases = []
    for phrase in sorted(caption.phrases, key=lambda p: p.start):
        ids = tuple(o for o in phrase.object_ids if o in known_ids)
        text = caption.text[phrase.start : phrase.end]
        if ids and text.strip() == text and text and (not phrases or phrase.start >= phrases[-1].end):
            phrases.append(GroundedPhrase(start=phrase.start, end=phrase.end, text=text, object_ids=ids))
    return caption.text, tuple(phrases)
