"""Gallery items: a sample's preview picture and its grounded answer as HTML, each phrase in its mask's colour."""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass
from html import escape

from PIL import Image

from videogcg.preview import PALETTE, render_preview
from videogcg.schemas import Sample, Turn
from videogcg.shards import ShardSample

MAX_WIDTH = 960  # previews of large videos are scaled down to keep the page light


@dataclass(frozen=True)
class GalleryItem:
    key: str
    caption: str  # plain text (escaped when rendered)
    image: str  # JPEG data URI
    turns_html: list[str]  # trusted HTML built here from escaped text


def object_colors(sample: Sample) -> dict[int, tuple[int, int, int]]:
    """Colour of each object id, in `render_preview`'s order: the n-th object gets PALETTE[n]."""
    return {track.object_id: PALETTE[n % len(PALETTE)] for n, track in enumerate(sample.objects)}


def answer_html(turn: Turn, colors: dict[int, tuple[int, int, int]]) -> str:
    """The answer with each grounded phrase in a span coloured like its (first) object's mask, ids after it."""
    text, cursor, parts = turn.answer.text, 0, []
    for phrase in turn.phrases:
        r, g, b = colors[phrase.object_ids[0]]
        ids = ",".join(map(str, phrase.object_ids))
        parts.append(escape(text[cursor : phrase.start]))
        parts.append(
            f'<span class="phrase" style="color: rgb({r}, {g}, {b})" data-objects="{ids}">{escape(phrase.text)}'
            f'<span class="ids">[{ids}]</span></span>'
        )
        cursor = phrase.end
    parts.append(escape(text[cursor:]))
    return "".join(parts)


def turn_html(turn: Turn, colors: dict[int, tuple[int, int, int]]) -> str:
    return f'<p class="question">Q: {escape(turn.question.text)}</p><p class="answer">A: {answer_html(turn, colors)}</p>'


def _jpeg_uri(image: Image.Image) -> str:
    if image.width > MAX_WIDTH:
        image = image.resize((MAX_WIDTH, round(image.height * MAX_WIDTH / image.width)), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=85)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def gallery_item(item: ShardSample, max_frames: int = 4) -> GalleryItem:
    sample = item.sample
    colors = object_colors(sample)
    verdict = sample.meta.get("verify") if isinstance(sample.meta.get("verify"), dict) else {}
    caption = f"{sample.key} · {sample.source} · review: {sample.review.value}"
    if "route" in verdict:
        caption += f" · route: {verdict['route']} (confidence {verdict.get('confidence')})"
    return GalleryItem(
        key=sample.key,
        caption=caption,
        image=_jpeg_uri(render_preview(item, max_frames=max_frames)),
        turns_html=[turn_html(turn, colors) for turn in sample.conversation],
    )
