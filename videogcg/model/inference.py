"""A trained run as a predictor: load it from its output folder, answer each sample of a dataset with masks,
and write the answers as a dataset of their own, which `videogcg eval` scores against the references."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import torch
import yaml

from videogcg.annotators.propagator import PropagationResult
from videogcg.model.architecture import GroundingModel
from videogcg.model.config import TrainConfig
from videogcg.model.inputs import ExampleEncoder
from videogcg.model.parts import load_parts
from videogcg.model.predict import answer
from videogcg.schemas import GroundedPhrase, Provenance, Sample, TextField, Turn
from videogcg.shards import ShardWriter, ShardWriterConfig, iter_dataset

logger = logging.getLogger(__name__)


def load_trained(run: str | Path, device: str = "cpu") -> tuple[GroundingModel, ExampleEncoder, Provenance]:
    """The model a `videogcg train` output folder holds (its config, tokenizer and trained weights)."""
    from transformers import AutoTokenizer

    run = Path(run)
    weights = run / "trainable.pt"
    if not weights.exists():
        raise FileNotFoundError(f"{run} holds no trained weights (trainable.pt): has its training finished?")
    config = TrainConfig.model_validate(yaml.safe_load((run / "config.yaml").read_text()))
    parts = load_parts(config.model.parts, config.cache_dir, device)
    tokenizer = AutoTokenizer.from_pretrained(run / "tokenizer")
    encoder = ExampleEncoder(tokenizer, config.model, parts.image_input, parts.video_input, parts.sam_input)
    model = GroundingModel(parts, config.model, encoder.seg_id).to(device)
    model.load_trainable_state(torch.load(weights, map_location=device))
    revision = "sha256:" + hashlib.sha256(weights.read_bytes()).hexdigest()[:16]
    return model, encoder, Provenance(kind="model", name=f"videogcg-grounding:{run.name}", revision=revision, parameters=parts.revisions)


def predicted_sample(
    reference: Sample, frames, model: GroundingModel, encoder: ExampleEncoder, provenance: Provenance, max_new_tokens: int
) -> Sample:
    """`reference` with the model's answer to its first question: phrases, one object per phrase."""
    turn = reference.conversation[0]
    result = answer(model, encoder, turn.question.text, frames, max_new_tokens)
    objects = PropagationResult(dict(enumerate(result.masks)), dict(enumerate(result.scores)), provenance).to_masklets(
        {i: span.text for i, span in enumerate(result.phrases)}
    )
    phrases = tuple(GroundedPhrase(start=s.start, end=s.end, text=s.text, object_ids=(i,)) for i, s in enumerate(result.phrases))
    predicted = {
        **reference.model_dump(),
        "caption": None,
        "objects": [o.model_dump() for o in objects],
        "conversation": [
            Turn(question=turn.question, answer=TextField(text=result.text, provenance=provenance), phrases=phrases).model_dump()
        ],
        "meta": {**reference.meta, "generated": result.markup},
    }
    return Sample.model_validate(predicted)


def write_predictions(run: str | Path, references: str | Path, output: str | Path, max_new_tokens: int = 256, device: str = "cpu") -> int:
    """Answer every sample of `references` and write the answers to `output`; returns how many were written."""
    model, encoder, provenance = load_trained(run, device)
    written = 0
    with ShardWriter(Path(output), ShardWriterConfig()) as writer:
        for item in iter_dataset(references):
            if not item.sample.conversation:
                continue
            writer.write(predicted_sample(item.sample, item.frames, model, encoder, provenance, max_new_tokens), item.frames)
            written += 1
    logger.info("wrote %d predictions to %s", written, output)
    return written
