"""GCG markup: answers with grounded phrases written inline.

Three forms appear in VideoGLaMM's data:

- training form: ``<p> a red square </p> [SEG] moves left`` — one ``[SEG]`` per phrase, masks in
  ``[SEG]`` order (`render_gcg` writes it, `parse_tagged` reads it);
- intermediate id form: ``<p> square </p> [SEG:1]`` (`parse_tagged` reads the ids);
- bracket form: ``[a red square](0, 2) moves left`` (`parse_bracketed`).

Parsing gives plain text plus character spans, which is what `GroundedPhrase` stores.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass

from videogcg.schemas.conversation import GroundedPhrase
from videogcg.schemas.errors import MarkupError

OPEN, CLOSE, SEG = "<p>", "</p>", "[SEG]"
_TAGS = re.compile(r"<p>|</p>|\[SEG(?::([^\]]*))?\]")
_BRACKETED = re.compile(r"\[([^\]]+)\]\(([^)]+)\)")


@dataclass(frozen=True)
class MarkedSpan:
    start: int
    end: int
    text: str
    object_ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class ParsedMarkup:
    text: str
    spans: tuple[MarkedSpan, ...]

    def phrases(self) -> tuple[GroundedPhrase, ...]:
        """The spans as grounded phrases; every span must carry object ids."""
        for span in self.spans:
            if not span.object_ids:
                raise MarkupError(f"phrase {span.text!r} has no object ids", span.start, self.text)
        return tuple(GroundedPhrase(start=s.start, end=s.end, text=s.text, object_ids=s.object_ids) for s in self.spans)


def render_gcg(text: str, phrases: Iterable[GroundedPhrase | MarkedSpan]) -> str:
    """Write `text` in the training form, wrapping each phrase span as ``<p> phrase </p> [SEG]``."""
    if (m := _TAGS.search(text)) is not None:
        raise MarkupError(f"text already contains the tag {m.group(0)!r}", m.start(), text)
    out, cursor = [], 0
    for phrase in phrases:
        if phrase.start < cursor:
            raise MarkupError(f"phrase {phrase.text!r} overlaps or precedes the one before", phrase.start, text)
        if phrase.end > len(text) or text[phrase.start : phrase.end] != phrase.text:
            raise MarkupError(f"span [{phrase.start}, {phrase.end}) is not {phrase.text!r} in the text", phrase.start, text)
        out += [text[cursor : phrase.start], f"{OPEN} {phrase.text} {CLOSE} {SEG}"]
        cursor = phrase.end
    out.append(text[cursor:])
    return "".join(out)


def render_bracketed(text: str, phrases: Iterable[GroundedPhrase | MarkedSpan]) -> str:
    """Write `text` in the bracket form, ``[phrase](0, 2)``, that LLM prompts use."""
    out, cursor = [], 0
    for phrase in phrases:
        if phrase.start < cursor or text[phrase.start : phrase.end] != phrase.text:
            raise MarkupError(f"phrase {phrase.text!r} does not fit the text at [{phrase.start}, {phrase.end})", phrase.start, text)
        out += [text[cursor : phrase.start], f"[{phrase.text}]({', '.join(map(str, phrase.object_ids))})"]
        cursor = phrase.end
    out.append(text[cursor:])
    return "".join(out)


def _parse_ids(raw: str, position: int, markup: str, known_ids: Collection[int] | None) -> tuple[int, ...]:
    try:
        ids = tuple(int(part) for part in raw.split(","))
    except ValueError:
        raise MarkupError(f"object ids {raw!r} are not integers", position, markup) from None
    if known_ids is not None:
        for object_id in ids:
            if object_id not in known_ids:
                raise MarkupError(f"object id {object_id} has no track", position, markup)
    return ids


def parse_tagged(markup: str, known_ids: Collection[int] | None = None) -> ParsedMarkup:
    """Parse ``<p> phrase </p> [SEG]`` (no ids) or ``<p> phrase </p> [SEG:1,2]`` (with ids)."""
    text: list[str] = []
    spans: list[MarkedSpan] = []
    length = 0  # characters of plain text emitted so far
    cursor = 0
    open_at: int | None = None  # markup position of the unclosed <p>
    pending: tuple[int, int, str] | None = None  # closed phrase waiting for its [SEG]
    for tag in _TAGS.finditer(markup):
        between = markup[cursor : tag.start()]
        token = tag.group(0)
        if pending is not None and not token.startswith("[SEG"):
            raise MarkupError(f"{CLOSE} not followed by {SEG}", cursor, markup)
        if token == OPEN:
            if open_at is not None:
                raise MarkupError(f"{OPEN} inside an open {OPEN}", tag.start(), markup)
            text.append(between)
            length += len(between)
            open_at = tag.start()
        elif token == CLOSE:
            if open_at is None:
                raise MarkupError(f"{CLOSE} without {OPEN}", tag.start(), markup)
            phrase = between.strip()
            if not phrase:
                raise MarkupError("empty phrase", open_at, markup)
            pending = (length, length + len(phrase), phrase)
            text.append(phrase)
            length += len(phrase)
            open_at = None
        else:  # [SEG] or [SEG:ids]
            if pending is None or between.strip():
                raise MarkupError(f"{token} without a phrase right before it", tag.start(), markup)
            ids = () if tag.group(1) is None else _parse_ids(tag.group(1), tag.start(), markup, known_ids)
            spans.append(MarkedSpan(*pending, object_ids=ids))
            pending = None
        cursor = tag.end()
    if open_at is not None:
        raise MarkupError(f"{OPEN} is never closed", open_at, markup)
    if pending is not None:
        raise MarkupError(f"{CLOSE} not followed by {SEG}", cursor, markup)
    text.append(markup[cursor:])
    return ParsedMarkup("".join(text), tuple(spans))


def parse_bracketed(markup: str, known_ids: Collection[int] | None = None) -> ParsedMarkup:
    """Parse the bracket form ``[phrase](0, 2)`` that VideoGLaMM's captioning prompts ask for."""
    text: list[str] = []
    spans: list[MarkedSpan] = []
    length = cursor = 0
    for match in _BRACKETED.finditer(markup):
        _check_plain(markup, cursor, match.start())
        between = markup[cursor : match.start()]
        phrase = match.group(1).strip()
        if not phrase:
            raise MarkupError("empty phrase", match.start(), markup)
        ids = _parse_ids(match.group(2), match.start(2), markup, known_ids)
        text += [between, phrase]
        length += len(between)
        spans.append(MarkedSpan(length, length + len(phrase), phrase, ids))
        length += len(phrase)
        cursor = match.end()
    _check_plain(markup, cursor, len(markup))
    text.append(markup[cursor:])
    return ParsedMarkup("".join(text), tuple(spans))


def _check_plain(markup: str, start: int, end: int) -> None:
    for position in range(start, end):
        if markup[position] in "[]":
            raise MarkupError(f"unbalanced {markup[position]!r} outside a [phrase](ids) tag", position, markup)
