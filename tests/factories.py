"""Builders of valid test data."""

from videogcg.schemas import Clip, GroundedPhrase, Masklet, Provenance, Sample, TextField, Turn, VideoRef, sample_key
from videogcg.schemas import masks as rle


def make_sample(video, frame_indices=(0, 4, 8), source="synthetic", conversation_index=0) -> Sample:
    """A valid sample over a rendered synthetic video, with real masks and a grounded answer."""
    spec = video.spec
    provenance = Provenance(kind="source", name=source, revision="1", parameters={"seed": 3})
    objects = []
    for i, shape in enumerate(spec.shapes):
        masks = tuple(rle.encode(video.masks[i, t]) if video.masks[i, t].any() else None for t in frame_indices)
        objects.append(
            Masklet(
                object_id=shape.object_id,
                label=shape.shape,
                masks=masks,
                boxes=tuple(video.box(i, t) for t in frame_indices),
                scores=tuple(0.5 + 0.1 * n for n in range(len(frame_indices))),
                score=0.9 - 0.1 * i,
                provenance=provenance,
            )
        )
    first, second = spec.shapes[:2]
    answer = f"The video shows {first.noun_phrase} and {second.noun_phrase}."
    start1 = answer.index(first.noun_phrase)
    start2 = answer.index(second.noun_phrase, start1 + len(first.noun_phrase))
    phrases = (
        GroundedPhrase(start=start1, end=start1 + len(first.noun_phrase), text=first.noun_phrase, object_ids=(0,)),
        GroundedPhrase(start=start2, end=start2 + len(second.noun_phrase), text=second.noun_phrase, object_ids=(1, 2)),
    )
    turn = Turn(
        question=TextField(text="What happens?", provenance=provenance),
        answer=TextField(text=answer, provenance=provenance),
        phrases=phrases,
    )
    return Sample(
        key=sample_key(source, spec.video_id, 0, spec.num_frames, conversation_index),
        source=source,
        video_id=spec.video_id,
        video=VideoRef(
            uri=f"{spec.video_id}.mp4",
            fps=spec.fps,
            num_frames=spec.num_frames,
            width=spec.width,
            height=spec.height,
            content_hash="sha256:" + "ab" * 32,
        ),
        clip=Clip(start=0, end=spec.num_frames, frame_indices=tuple(frame_indices)),
        conversation_index=conversation_index,
        caption=TextField(text="shapes move", provenance=Provenance(kind="model", name="tiny:captioner", revision="abc")),
        objects=tuple(objects),
        conversation=(turn,),
        stage_versions={"compose": "test-1"},
        meta={"split": "train", "weights": [1, 2.5]},
    )
