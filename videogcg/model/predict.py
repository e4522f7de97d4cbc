"""Masks from a trained model, and their score against ground truth with the answer given (teacher forcing):
each `[SEG]` of the true answer is decoded, at full frame size, on the supervised frames, and the sample's
predicted masks are matched to its true ones as the GCG mIoU does (one-to-one, greedy)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from videogcg.model.architecture import GroundingModel
from videogcg.model.data import Example, SkipSample
from videogcg.model.evaluation.masks import miou
from videogcg.model.inputs import Encoded, ExampleEncoder, normalise, sample_indices
from videogcg.schemas.errors import MarkupError
from videogcg.schemas.markup import MarkedSpan, parse_tagged


@torch.no_grad()
def segment(model: GroundingModel, encoder: ExampleEncoder, encoded: list[Encoded]) -> list[np.ndarray]:
    """Per encoded example, boolean masks (K, Ts, H, W) for its answer's first K `[SEG]`s, at the clip's frame size."""
    model.eval()
    device = next(p for p in model.parameters()).device
    batch = encoder.collate(encoded).to(device)
    logits = model(batch).mask_logits
    return [
        F.interpolate(lg, size=size, mode="bilinear", align_corners=False).gt(0).cpu().numpy()
        for lg, size in zip(logits, batch.frame_sizes)
    ]


@dataclass
class SegmentationScore:
    miou: float  # mean over samples of each sample's matched-mask mIoU
    samples: int
    skipped: int


def evaluate_segmentation(
    model: GroundingModel, encoder: ExampleEncoder, examples: Iterable[Example], batch_size: int = 4
) -> SegmentationScore:
    scores, skipped, pending = [], 0, []

    def flush() -> None:
        predictions = segment(model, encoder, [encoded for _, encoded in pending])
        for (example, _), predicted in zip(pending, predictions):
            index = sample_indices(len(example.frames), encoder.config.sam_frames)
            truth = example.masks[: encoder.config.max_masks][:, index].astype(bool)
            scores.append(miou(list(predicted), list(truth)))
        pending.clear()

    for example in examples:
        try:
            pending.append((example, encoder(example)))
        except SkipSample:
            skipped += 1
            continue
        if len(pending) == batch_size:
            flush()
    if pending:
        flush()
    return SegmentationScore(float(np.mean(scores)) if scores else 0.0, len(scores), skipped)


@dataclass
class Answer:
    """A free-running answer: the text in training form, its phrases and one mask per phrase on every frame."""

    markup: str  # as generated, `<p> phrase </p> [SEG]` inline
    text: str  # plain text
    phrases: tuple[MarkedSpan, ...]
    masks: np.ndarray  # (phrases, T, H, W) bool at the clip's frame size
    scores: np.ndarray  # (phrases, T) mean probability inside each mask (NaN where the mask is empty)


@torch.no_grad()
def answer(
    model: GroundingModel, encoder: ExampleEncoder, question: str, frames: np.ndarray, max_new_tokens: int = 256, frames_per_chunk: int = 16
) -> Answer:
    """Answer `question` about the clip `frames` (T, H, W, 3) greedily, then decode a mask on every frame for each
    `[SEG]` the answer wrote, `frames_per_chunk` frames at a time. Markup the parser cannot read gives the plain
    text with no phrases."""
    model.eval()
    device = next(p for p in model.parameters()).device
    prompt = encoder.prompt_ids(question)
    inputs = encoder.inputs(prompt, frames, sam_frames=1).to(device)
    visual = model.visual_tokens(inputs.image_pixels, inputs.video_pixels)  # once: the masks' pass reuses them
    embeddings, _, attention, _ = model.prompt_embeddings(inputs, visual)
    stops = encoder.stop_ids(getattr(model.llm, "generation_config", None))
    generated = model.llm.generate(
        inputs_embeds=embeddings,
        attention_mask=attention,
        max_new_tokens=max_new_tokens,
        do_sample=False,
        eos_token_id=stops,
        pad_token_id=encoder.pad_id,
    )[0].tolist()
    ends = [i for i, token in enumerate(generated) if token in stops]
    generated = generated[: ends[0]] if ends else generated
    markup = encoder.tokenizer.decode(generated, skip_special_tokens=True).strip()
    try:
        parsed = parse_tagged(markup)
    except MarkupError:
        parsed = None
    height, width = frames.shape[1:3]
    if parsed is None or not parsed.spans or len(parsed.spans) != generated.count(encoder.seg_id):
        text = parsed.text if parsed is not None else markup
        return Answer(markup, text, (), np.zeros((0, len(frames), height, width), bool), np.zeros((0, len(frames))))
    embeddings, _, attention, segs = model.prompt_embeddings(encoder.inputs(prompt + generated, frames, sam_frames=1).to(device), visual)
    hidden = model.llm(inputs_embeds=embeddings, attention_mask=attention, output_hidden_states=True).hidden_states[-1]
    masks = np.zeros((len(parsed.spans), len(frames), height, width), bool)
    scores = np.full((len(parsed.spans), len(frames)), np.nan)
    for start in range(0, len(frames), frames_per_chunk):
        chunk = slice(start, start + frames_per_chunk)
        pixels = normalise(frames[chunk], encoder.sam_input)[None].to(device)
        logits = model.decode_masks(hidden, segs, pixels, [len(parsed.spans)])[0]
        probabilities = F.interpolate(logits, size=(height, width), mode="bilinear", align_corners=False).sigmoid().cpu().numpy()
        masks[:, chunk] = probabilities > 0.5
        inside = np.where(masks[:, chunk], probabilities, 0.0).sum(axis=(2, 3))
        area = masks[:, chunk].sum(axis=(2, 3))
        scores[:, chunk] = np.where(area > 0, inside / np.maximum(area, 1), np.nan)
    return Answer(markup, parsed.text, parsed.spans, masks, scores)
