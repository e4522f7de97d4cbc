"""Compose GCG samples from what a source already has (no models).

For masks + referring expressions (MeViS style): a template question, and an answer that mentions each
object once through its expressions, each expression grounded to its objects.
"""

from __future__ import annotations

import hashlib

from videogcg import __version__
from videogcg.pipeline.config import RunConfig
from videogcg.pipeline.sources import SourceError, SourceExpression, SourceVideo
from videogcg.schemas import Clip, GroundedPhrase, Masklet, Provenance, Sample, TextField, Turn, VideoRef, sample_key
from videogcg.schemas import masks as rle

COMPOSE_VERSION = "expressions-1"


def choose_expressions(expressions: tuple[SourceExpression, ...]) -> list[SourceExpression]:
    """Expressions in source order, skipping any that would mention an already-mentioned object again."""
    covered: set[int] = set()
    chosen = []
    for expression in expressions:
        if covered.isdisjoint(expression.object_ids):
            chosen.append(expression)
            covered.update(expression.object_ids)
    return chosen


def compose_answer(expressions: list[SourceExpression]) -> tuple[str, tuple[GroundedPhrase, ...]]:
    """ "The video shows A, B and C." with a grounded phrase per expression."""
    text, phrases = "The video shows ", []
    for i, expression in enumerate(expressions):
        if i:
            text += " and " if i == len(expressions) - 1 else ", "
        phrases.append(
            GroundedPhrase(start=len(text), end=len(text) + len(expression.text), text=expression.text, object_ids=expression.object_ids)
        )
        text += expression.text
    return text + ".", tuple(phrases)


def _masklet(video: SourceVideo, object_id: int, frame_indices: tuple[int, ...], video_ref: VideoRef) -> Masklet:
    """The object's masks at the sampled frames; every source mask is checked, sampled or not."""
    source_object = video.object(object_id)
    masks = source_object.masks
    if len(masks) != video_ref.num_frames:
        raise SourceError(video.path, f"masks of object {object_id}", f"{len(masks)} masks for a video of {video_ref.num_frames} frames")
    size = (video_ref.height, video_ref.width)
    for t, mask in enumerate(masks):
        if mask is not None and mask.size != size:
            raise SourceError(video.path, f"masks of object {object_id}[{t}]", f"size {mask.size} differs from the video's {size}")
    sampled = tuple(masks[t] for t in frame_indices)
    return Masklet(
        object_id=object_id,
        label=source_object.label,
        masks=sampled,
        boxes=tuple(None if m is None else rle.to_box(m) for m in sampled),
        scores=(None,) * len(sampled),
        provenance=Provenance(kind="source", name=video.source),
    )


def compose_expression_sample(video: SourceVideo, video_ref: VideoRef, frame_indices: tuple[int, ...], config: RunConfig) -> Sample:
    if not video.expressions:
        raise SourceError(video.path, "expressions", "the video has no referring expressions")
    clip = Clip(start=0, end=video_ref.num_frames, frame_indices=frame_indices)
    key = sample_key(video.source, video.video_id, clip.start, clip.end, 0)
    template = int(hashlib.sha1(key.encode()).hexdigest(), 16) % len(config.question_templates)
    answer, phrases = compose_answer(choose_expressions(video.expressions))
    rule = Provenance(kind="rule", name="compose_from_expressions", revision=COMPOSE_VERSION)
    turn = Turn(
        question=TextField(
            text=config.question_templates[template],
            provenance=Provenance(kind="rule", name="question_template", parameters={"index": template}),
        ),
        answer=TextField(text=answer, provenance=rule),
        phrases=phrases,
    )
    return Sample(
        key=key,
        source=video.source,
        video_id=video.video_id,
        video=video_ref,
        clip=clip,
        objects=tuple(_masklet(video, o.object_id, frame_indices, video_ref) for o in video.objects if o.masks is not None),
        conversation=(turn,),
        stage_versions={"compose": COMPOSE_VERSION, "videogcg": __version__},
    )
