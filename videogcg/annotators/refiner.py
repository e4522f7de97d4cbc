"""Rewrite a tagged caption into a dense grounded one with a text LLM, keeping every ``[phrase](id)`` tag.

The model's reply is parsed in the bracket form and checked against the input: every tag must name known
objects, and the multiset of id groups must be the same as before (no tag lost, none invented). A reply
that fails is re-asked with the reason; one that never validates is rejected with the reason.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from videogcg.annotators.base import GenerativeAnnotator
from videogcg.schemas import Provenance
from videogcg.schemas.markup import ParsedMarkup, parse_bracketed


@dataclass(frozen=True)
class RefinementRequest:
    caption: str  # bracket form: "[a man](0) walks [a dog](1)"
    known_ids: frozenset[int]
    context: str | None = None  # e.g. reference captions from a video captioner


@dataclass(frozen=True)
class RefinedCaption:
    """The refined caption (bracket form and parsed), or None with the reason it was rejected."""

    markup: str | None
    parsed: ParsedMarkup | None
    provenance: Provenance
    attempts: int
    reason: str | None = None


def check_tags(original: ParsedMarkup, candidate: str, known_ids: Collection[int]) -> ParsedMarkup:
    """Parse `candidate` and check it keeps the tags of `original`; ValueError says what is wrong."""
    parsed = parse_bracketed(candidate, known_ids=known_ids)  # MarkupError is a ValueError
    before = Counter(tuple(sorted(s.object_ids)) for s in original.spans)
    after = Counter(tuple(sorted(s.object_ids)) for s in parsed.spans)
    lost, invented = before - after, after - before
    problems = []
    if lost:
        problems.append(f"tags lost: {sorted(lost.elements())}")
    if invented:
        problems.append(f"tags invented: {sorted(invented.elements())}")
    if problems:
        raise ValueError("; ".join(problems))
    return parsed


@dataclass
class CaptionRefiner(GenerativeAnnotator):
    max_new_tokens: int = 256
    batch_size: int = 4

    def refine(self, requests: Sequence[RefinementRequest]) -> list[RefinedCaption]:
        originals = [parse_bracketed(r.caption, known_ids=r.known_ids) for r in requests]  # bad input fails here
        texts = []
        for request in requests:
            context = f"Reference descriptions: {request.context}\n" if request.context else ""
            texts.append(self.prompts.caption_refinement.format(caption=request.caption, context=context))
        results = self.ask_validated(texts, lambda i, reply: (reply, check_tags(originals[i], reply, requests[i].known_ids)))
        provenance = self.provenance(max_attempts=self.max_attempts)
        return [RefinedCaption(*(r.value or (None, None)), provenance=provenance, attempts=r.attempts, reason=r.reason) for r in results]
