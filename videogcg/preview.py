"""A picture of one sample: sampled frames with mask overlays and boxes, and the grounded answer below."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from videogcg.shards import ShardSample

PALETTE = [(255, 64, 64), (64, 200, 255), (255, 220, 0), (120, 255, 120), (255, 120, 255), (255, 160, 60), (160, 160, 255), (0, 255, 200)]
_ALPHA = 0.5
_PAD = 8


@lru_cache(maxsize=4)
def _font(size: int) -> ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def overlay(frame: np.ndarray, masks: np.ndarray, colors: list[tuple[int, int, int]]) -> np.ndarray:
    """Blend each (H, W) mask onto an RGB frame in its color."""
    out = frame.astype(np.float32)
    for mask, color in zip(masks, colors):
        out[mask] = (1 - _ALPHA) * out[mask] + _ALPHA * np.array(color, dtype=np.float32)
    return out.astype(np.uint8)


def _wrap_segments(draw: ImageDraw.ImageDraw, segments: list[tuple[str, tuple[int, int, int]]], font, width: int):
    """Lay out colored text word by word; returns [(x, y, word, color)] and the height used."""
    placed, x, y, line_height = [], 0, 0, font.size + 4
    for text, color in segments:
        for word in text.split(" "):
            if not word:
                x += draw.textlength(" ", font=font)
                continue
            w = draw.textlength(word + " ", font=font)
            if x + w > width and x > 0:
                x, y = 0, y + line_height
            placed.append((x, y, word, color))
            x += w
    return placed, y + line_height


def render_preview(item: ShardSample, max_frames: int = 8, columns: int = 4, text_size: int = 14) -> Image.Image:
    sample = item.sample
    colors = {track.object_id: PALETTE[n % len(PALETTE)] for n, track in enumerate(sample.objects)}
    t_count = len(item.frames)
    shown = sorted(set(np.linspace(0, t_count - 1, min(max_frames, t_count)).round().astype(int).tolist()))
    tiles = []
    for t in shown:
        tile = Image.fromarray(overlay(item.frames[t], item.masks[:, t], [colors[o.object_id] for o in sample.objects]))
        draw = ImageDraw.Draw(tile)
        for track in sample.objects:
            box = track.boxes[t]
            if box is not None:
                x, y, w, h = box
                draw.rectangle([x, y, x + w - 1, y + h - 1], outline=colors[track.object_id], width=2)
                draw.text((x + 2, y + 2), str(track.object_id), fill=(255, 255, 255), font=_font(text_size))
        draw.text((4, 4), f"frame {sample.clip.frame_indices[t]}", fill=(255, 255, 255), font=_font(text_size))
        tiles.append(tile)
    h, w = item.frames.shape[1:3]
    columns = min(columns, len(tiles))
    rows = -(-len(tiles) // columns)
    grid_width = columns * w + (columns + 1) * _PAD

    measure = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    font = _font(text_size)
    segments = [(f"{sample.key}  ({sample.source}, review: {sample.review.value})", (180, 180, 180))]
    placed_blocks = [_wrap_segments(measure, segments, font, grid_width - 2 * _PAD)]
    for turn in sample.conversation:
        placed_blocks.append(_wrap_segments(measure, [("Q: " + turn.question.text, (220, 220, 220))], font, grid_width - 2 * _PAD))
        answer, cursor, parts = turn.answer.text, 0, [("A:", (220, 220, 220))]
        for phrase in turn.phrases:
            color = colors[phrase.object_ids[0]]
            parts += [
                (answer[cursor : phrase.start], (255, 255, 255)),
                (phrase.text, color),
                (f"[{','.join(map(str, phrase.object_ids))}]", color),
            ]
            cursor = phrase.end
        parts.append((answer[cursor:], (255, 255, 255)))
        placed_blocks.append(_wrap_segments(measure, parts, font, grid_width - 2 * _PAD))
    text_height = sum(height for _, height in placed_blocks) + _PAD * (len(placed_blocks) + 1)

    image = Image.new("RGB", (grid_width, rows * (h + _PAD) + _PAD + text_height), (24, 24, 24))
    for n, tile in enumerate(tiles):
        image.paste(tile, (_PAD + (n % columns) * (w + _PAD), _PAD + (n // columns) * (h + _PAD)))
    draw = ImageDraw.Draw(image)
    y0 = rows * (h + _PAD) + _PAD
    for placed, height in placed_blocks:
        for x, y, word, color in placed:
            draw.text((_PAD + x, y0 + y), word, fill=color, font=font)
        y0 += height + _PAD
    return image
