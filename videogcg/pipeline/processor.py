"""One video in, its GCG samples out: sample frames, run the stages its source kind needs, compose, verify.

A plain class (the Beam layer only wraps it): the annotators are built once per worker and load their models
on first use, so a run over a masks + expressions source loads no model at all.

| source kind | stages |
|---|---|
| raw | dense caption -> noun phrases -> Grounding DINO on keyframes -> SAM2 from the best box of each phrase |
| masks | per-object descriptions from crops -> grounded dense caption (falls back to the class names); a source
  caption already grounded to the objects (a GCG dataset such as VideoGLaMM's video_gcg) is kept instead |
| boxes + captions | SAM2 from the source's boxes on keyframes -> the source caption, refined by the text LLM keeping its tags |
| masks + expressions | the source masks -> an answer made of the expressions, each grounded to its objects |
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np

from videogcg import __version__
from videogcg.pipeline.annotator_pool import AnnotatorPool
from videogcg.pipeline.grounded_answer import caption_answer, choose_expressions, listing_answer
from videogcg.pipeline.settings import PipelineConfig
from videogcg.pipeline.sources import SourceError, SourceKind, SourceVideo
from videogcg.pipeline.verify import Verdict, verify
from videogcg.schemas import (
    Clip,
    GroundedPhrase,
    Masklet,
    Provenance,
    ReviewState,
    Sample,
    TextField,
    Turn,
    VideoRef,
    content_hash,
    sample_key,
)
from videogcg.schemas import masks as rle
from videogcg.schemas.markup import render_bracketed
from videogcg.storage import ObjectPath
from videogcg.video_io import probe, read_frames

logger = logging.getLogger(__name__)

PROCESSOR_VERSION = "1"
MAX_PHRASES = 6
REFERRING_ANSWER = "referring_answer"  # provenance name of the rule-made answers to referring questions
ROUTE_STATES = {"accept": ReviewState.AUTO_VERIFIED, "review": ReviewState.AUTO, "drop": ReviewState.REJECTED}


@dataclass(frozen=True)
class ProcessedSample:
    sample: Sample
    frames: np.ndarray
    verdict: Verdict


@dataclass(frozen=True)
class Annotation:
    """What the annotate step adds to a clip: the object masklets, a grounded answer with its provenance, and the
    caption (where one was made)."""

    objects: tuple[Masklet, ...]
    answer: str
    phrases: tuple
    caption: object | None  # the captioner's output, for raw videos
    provenance: Provenance


@dataclass
class ClipFrames:
    ref: VideoRef
    clip: Clip
    frames: np.ndarray


@dataclass
class VideoProcessor:
    """`stage` names the step in progress (for failure records); `on_stage_time(stage, seconds, frames)` is told each
    step's time and the number of frames of the clip in progress (0 before they are sampled)."""

    config: PipelineConfig
    on_stage_time: Callable[[str, float, int], None] | None = None
    frames_in_clip: int = 0
    stage: str = "start"
    annotators: AnnotatorPool = field(default_factory=lambda: AnnotatorPool(), repr=False)

    @contextmanager
    def _timed(self, stage: str):
        self.stage = stage
        start = time.perf_counter()
        yield
        if self.on_stage_time is not None:
            self.on_stage_time(stage, time.perf_counter() - start, self.frames_in_clip)

    def process(self, video: SourceVideo) -> list[ProcessedSample]:
        """The three steps in one place; the Beam pipeline runs them as separate stages (decode and compose on CPU
        workers, annotate where the accelerators are)."""
        clip = self.prepare(video)
        return self.finish(video, clip, self.annotate(video, clip))

    def prepare(self, video: SourceVideo) -> ClipFrames:
        """Decode the sampled frames (CPU)."""
        self.frames_in_clip = 0
        with self._timed("sample_frames"):
            clip = self.sample_frames(video)
            self.frames_in_clip = len(clip.clip.frame_indices)
        return clip

    def annotate(self, video: SourceVideo, clip: ClipFrames) -> Annotation:
        """The stages the source kind needs (the models)."""
        self.frames_in_clip = len(clip.clip.frame_indices)
        kind = video.kind
        compose = {
            SourceKind.MASKS_EXPRESSIONS: self._from_expressions,
            SourceKind.MASKS: self._from_masks,
            SourceKind.BOXES_CAPTIONS: self._from_boxes_captions,
            SourceKind.RAW: self._from_raw,
        }[kind]
        with self.annotators.exclusive(), self._timed(f"annotate_{kind.value}"):
            return Annotation(*compose(video, clip))

    def finish(self, video: SourceVideo, clip: ClipFrames, annotation: Annotation) -> list[ProcessedSample]:
        """Compose the conversations and verify each sample (CPU)."""
        self.frames_in_clip = len(clip.clip.frame_indices)
        self.stage = "compose"
        objects, caption, kind = annotation.objects, annotation.caption, video.kind
        dialogues = self._dialogues(video, clip, objects, annotation.answer, annotation.phrases, annotation.provenance)
        out = []
        for index, (question, text, grounded, provenance) in enumerate(dialogues):
            with self._timed("compose"):
                sample = self._sample(video, clip, index, objects, question, text, grounded, caption, provenance, kind)
            with self._timed("verify"):
                verdict = verify(sample, self.config.verify, self._source_boxes(video, clip))
            sample = sample.model_copy(
                update={"review": ROUTE_STATES[verdict.route.value], "meta": {**sample.meta, "verify": verdict.as_meta()}}
            )
            out.append(ProcessedSample(sample, clip.frames, verdict))
        return out

    # -- frames --------------------------------------------------------------------------------------------
    def sample_frames(self, video: SourceVideo) -> ClipFrames:
        source = video.path
        if isinstance(source, ObjectPath) and not source.is_dir():
            source = source.read_bytes()  # one download for the probe, the hash and the frames
        info = probe(source, name=str(video.path))
        start, end = video.clip or (0, info.num_frames)
        if not 0 <= start < end <= info.num_frames:
            raise SourceError(video.path, "clip", f"range [{start}, {end}) is outside the video's {info.num_frames} frames")
        indices = self.config.sampling.indices(start, end, info.fps)
        ref = VideoRef(
            uri=str(video.path),
            fps=info.fps,
            num_frames=info.num_frames,
            width=info.width,
            height=info.height,
            content_hash=content_hash(source),
        )
        frames = read_frames(source, list(indices), name=str(video.path))
        return ClipFrames(ref, Clip(start=start, end=end, frame_indices=indices), frames)

    # -- per source kind -------------------------------------------------------------------------------------
    def _source_masklets(self, video: SourceVideo, clip: ClipFrames) -> tuple[Masklet, ...]:
        size = (clip.ref.height, clip.ref.width)
        tracks = []
        for obj in video.objects:
            if obj.masks is None:
                continue
            if len(obj.masks) != clip.ref.num_frames:
                raise SourceError(
                    video.path, f"masks of object {obj.object_id}", f"{len(obj.masks)} masks for {clip.ref.num_frames} frames"
                )
            for t, mask in enumerate(obj.masks):
                if mask is not None and mask.size != size:
                    raise SourceError(
                        video.path, f"masks of object {obj.object_id}[{t}]", f"size {mask.size} differs from the video's {size}"
                    )
            sampled = tuple(obj.masks[t] for t in clip.clip.frame_indices)
            tracks.append(
                Masklet(
                    object_id=obj.object_id,
                    label=obj.label,
                    masks=sampled,
                    boxes=tuple(None if m is None else rle.to_box(m) for m in sampled),
                    scores=(None,) * len(sampled),
                    provenance=Provenance(kind="source", name=video.source),
                )
            )
        return tuple(tracks)

    def _from_expressions(self, video, clip):
        if not video.expressions:
            raise SourceError(video.path, "expressions", "the video has no referring expressions")
        answer, phrases = listing_answer([(e.text, e.object_ids) for e in choose_expressions(video.expressions)])
        return self._source_masklets(video, clip), answer, phrases, None, Provenance(kind="rule", name="answer_from_expressions")

    def _from_masks(self, video, clip):
        from videogcg.annotators.captioner import ObjectToDescribe

        tracks = self._source_masklets(video, clip)
        if video.captions:
            answer, phrases = caption_answer(video.captions[0], {t.object_id for t in tracks if t.num_masks})
            if phrases:
                return tracks, answer, phrases, None, Provenance(kind="source", name=video.source)
        captioner = self._captioner()
        described = captioner.describe_objects(clip.frames, [ObjectToDescribe.from_masklet(t) for t in tracks])
        [grounded] = captioner.grounded_captions([clip.frames], [{t.object_id: d.text for t, d in zip(tracks, described)}])
        if grounded.parsed is not None:
            return tracks, grounded.parsed.text, grounded.parsed.phrases(), None, grounded.provenance
        logger.info("%s: grounded caption rejected (%s); answering with the class names", video.video_id, grounded.reason)
        answer, phrases = listing_answer([(_with_article(t.label), (t.object_id,)) for t in tracks])
        return (
            tracks,
            answer,
            phrases,
            None,
            Provenance(kind="rule", name="answer_from_labels", parameters={"caption_rejected": grounded.reason}),
        )

    def _from_boxes_captions(self, video, clip):
        from videogcg.annotators.propagator import Prompt

        prompts = []
        for obj in video.objects:
            if obj.boxes is None:
                continue
            boxed = [(i, obj.boxes[t]) for i, t in enumerate(clip.clip.frame_indices) if t < len(obj.boxes) and obj.boxes[t] is not None]
            for i, box in _spread(boxed, self.config.models.num_keyframes):
                prompts.append(Prompt(object_id=obj.object_id, frame=i, box=tuple(box)))
        labels = {o.object_id: o.label for o in video.objects}
        tracks = tuple(self._propagator().propagate(clip.frames, prompts).to_masklets(labels)) if prompts else ()
        if not video.captions:
            answer, phrases = listing_answer([(_with_article(t.label), (t.object_id,)) for t in tracks])
            return tracks, answer, phrases, None, Provenance(kind="rule", name="answer_from_labels")
        answer, phrases = caption_answer(video.captions[0], {t.object_id for t in tracks})
        provenance = Provenance(kind="source", name=video.source)
        if self.config.models.refine_captions and phrases:
            from videogcg.annotators.refiner import RefinementRequest

            with self._timed("refine_caption"):
                request = RefinementRequest(render_bracketed(answer, phrases), frozenset(t.object_id for t in tracks))
                [refined] = self._refiner().refine([request])
            if refined.parsed is None:
                logger.info("%s: refined caption rejected (%s); keeping the source caption", video.video_id, refined.reason)
                provenance = Provenance(kind="source", name=video.source, parameters={"refinement_rejected": refined.reason})
            else:
                answer, phrases, provenance = refined.parsed.text, refined.parsed.phrases(), refined.provenance
        return tracks, answer, phrases, None, provenance

    def _from_raw(self, video, clip):
        from videogcg.annotators.propagator import Prompt

        [caption] = self._captioner().caption_clips([clip.frames])
        [extracted] = self._phrase_extractor().extract([caption.text])
        spans = extracted.phrases[:MAX_PHRASES]
        if not spans:
            return (), caption.text, (), caption, caption.provenance
        grounding = self._grounder().ground(clip.frames, [s.text for s in spans])
        prompts, grounded = [], []
        for index, span in enumerate(spans):
            found = grounding.for_phrase(index)
            if found:
                best = max(found, key=lambda d: d.score)
                prompts.append(Prompt(object_id=index, frame=best.frame, box=best.box))
                grounded.append(GroundedPhrase(start=span.start, end=span.end, text=span.text, object_ids=(index,)))
        tracks = ()
        if prompts:
            result = self._propagator().propagate(clip.frames, prompts)
            tracks = tuple(result.to_masklets({p.object_id: spans[p.object_id].text for p in prompts}))
        return tracks, caption.text, tuple(grounded), caption, caption.provenance

    @staticmethod
    def _source_boxes(video: SourceVideo, clip: ClipFrames) -> dict[int, tuple]:
        """The source's own boxes at the sampled frames, to check masks made from them."""
        return {
            o.object_id: tuple(o.boxes[t] if t < len(o.boxes) else None for t in clip.clip.frame_indices)
            for o in video.objects
            if o.boxes is not None and o.masks is None
        }

    # -- conversations ---------------------------------------------------------------------------------------
    def _dialogues(self, video, clip, objects, answer, phrases, answer_provenance) -> list[tuple]:
        """(question, answer, phrases, answer provenance) per sample: the grounded description, as many times as
        configured (each with its own question template), then referring questions on the source's expressions."""
        compose = self.config.compose
        dialogues = [
            (self._question(video, clip, i, compose.question_templates, {}), answer, phrases, answer_provenance)
            for i in range(compose.conversations_per_video)
        ]
        tracked = {t.object_id for t in objects if t.num_masks}
        referable = [e for e in video.expressions if set(e.object_ids) <= tracked]
        for expression in referable[: compose.referring_per_video]:
            question = self._question(video, clip, len(dialogues), compose.referring_templates, {"expression": expression.text})
            reply = f"Sure, it is {expression.text}."
            start = reply.index(expression.text)
            phrase = GroundedPhrase(start=start, end=start + len(expression.text), text=expression.text, object_ids=expression.object_ids)
            dialogues.append((question, reply, (phrase,), Provenance(kind="rule", name=REFERRING_ANSWER)))
        return dialogues

    def _question(self, video, clip, index: int, templates: tuple[str, ...], fields: dict) -> TextField:
        """A template picked by the sample's key (stable across reruns), filled with `fields`."""
        key = sample_key(video.source, video.video_id, clip.clip.start, clip.clip.end, index)
        choice = int(hashlib.sha1(key.encode()).hexdigest(), 16) % len(templates)
        provenance = Provenance(kind="rule", name="question_template", parameters={"index": choice, **fields})
        return TextField(text=templates[choice].format(**fields), provenance=provenance)

    # -- helpers ---------------------------------------------------------------------------------------------
    def _sample(self, video, clip, index, objects, question, answer, phrases, caption, answer_provenance, kind) -> Sample:
        key = sample_key(video.source, video.video_id, clip.clip.start, clip.clip.end, index)
        turn = Turn(question=question, answer=TextField(text=answer, provenance=answer_provenance), phrases=phrases)
        return Sample(
            key=key,
            source=video.source,
            video_id=video.video_id,
            video=clip.ref,
            clip=clip.clip,
            conversation_index=index,
            caption=caption,
            objects=objects,
            conversation=(turn,),
            stage_versions={"processor": PROCESSOR_VERSION, "videogcg": __version__},
            meta={"source_kind": kind.value},
        )

    def _annotator(self, name: str, build):
        return self.annotators.get(name, build)

    def _common(self) -> dict:
        m = self.config.models
        return {"device": m.device, "dtype": m.dtype, "cache_dir": m.cache_dir}

    def _captioner(self):
        from videogcg.annotators.captioner import Captioner

        m = self.config.models
        return self._annotator("captioner", lambda: Captioner(model=m.captioner, max_new_tokens=m.max_new_tokens, **self._common()))

    def _phrase_extractor(self):
        from videogcg.annotators.phrases import LLMPhraseExtractor, SpacyPhraseExtractor

        m = self.config.models
        if m.phrase_extractor == "spacy":
            return self._annotator("phrases", lambda: SpacyPhraseExtractor(m.spacy_model))
        return self._annotator("phrases", lambda: LLMPhraseExtractor(model=m.text_llm, max_new_tokens=m.max_new_tokens, **self._common()))

    def _refiner(self):
        from videogcg.annotators.refiner import CaptionRefiner

        m = self.config.models
        return self._annotator("refiner", lambda: CaptionRefiner(model=m.text_llm, max_new_tokens=m.max_new_tokens, **self._common()))

    def _grounder(self):
        from videogcg.annotators.grounder import Grounder, GrounderConfig

        m = self.config.models
        config = GrounderConfig(
            model=m.grounder,
            box_threshold=m.box_threshold,
            text_threshold=m.text_threshold,
            num_keyframes=m.num_keyframes,
            **self._common(),
        )
        return self._annotator("grounder", lambda: Grounder(config))

    def _propagator(self):
        from videogcg.annotators.propagator import MaskPropagator, PropagatorConfig

        m = self.config.models
        return self._annotator("propagator", lambda: MaskPropagator(PropagatorConfig(model=m.propagator, **self._common())))


def _with_article(label: str) -> str:
    return label if label.split()[0].lower() in {"a", "an", "the"} else f"{'an' if label[0].lower() in 'aeiou' else 'a'} {label}"


def _spread(items: list, count: int) -> list:
    """Up to `count` items spread evenly over the list (first and last included)."""
    if len(items) <= count:
        return items
    picks = np.linspace(0, len(items) - 1, count).round().astype(int)
    return [items[i] for i in sorted(set(picks.tolist()))]
