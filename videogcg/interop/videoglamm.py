"""VideoGLaMM's `video_gcg` training layout, which its `VideoGCGDataset` loader reads.

    OUT/instruction_data/{train,val,test}.json   YouTube-VIS JSON (see `interop.ytvis`) whose videos carry
                                                 `dense_cap` and `metadata`
    OUT/JPEGImages/<clip folder>/<frame:05d>.jpg the sampled frames

Per video, `dense_cap` holds the grounded answer of the clip's first GCG conversation:

- `caption`: the answer text;
- `token_pos[k]`, `mask_id[k]`: word `token_pos[k]` of `caption.split(" ")` grounds annotation `mask_id[k]`.
  VideoGLaMM ties the single word before each tag to its masks, so the word is the phrase's last word; a
  phrase over several objects gives one entry per object;
- `v_id2o_id`: {position of the object in the video ("0", "1", ...): annotation id}, as VideoGLaMM's
  `gcg_data_gen` writes it;
- `phrases`: our extension, ignored by VideoGLaMM's loader: the exact character spans
  `{"start", "end", "mask_id": [...]}`, so an import gets whole noun phrases back, not single words.

VideoGLaMM's loader takes the frame root from `metadata.dataset` (else `dataset_split`): both are "yt19",
so it looks for frames under `ytvis/vos/train/JPEGImages`. The rest of `metadata` is ours: the sample's
source, video id, key, sampled frame indices, review state, and `object_ids` ({annotation id: the sample's
object id}), which gives an import the objects' own ids back.

A clip goes to train, val or test by a hash of its source and video id, so every clip of one video lands in
the same split and the assignment does not change when the dataset grows.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

from videogcg.interop.ytvis import FRAMES_DIR, CocoVideoWriter, iter_clips, write_frames, write_json
from videogcg.pipeline.processor import REFERRING_ANSWER
from videogcg.schemas import Sample, Turn

logger = logging.getLogger(__name__)

SPLITS = ("train", "val", "test")
INSTRUCTIONS_DIR = "instruction_data"


@dataclass(frozen=True)
class SplitFractions:
    val: float = 0.1
    test: float = 0.1

    def __post_init__(self) -> None:
        if not (0 <= self.val and 0 <= self.test and self.val + self.test <= 1):
            raise ValueError(f"split fractions val={self.val}, test={self.test} must be >= 0 and sum to at most 1")

    def split_of(self, source: str, video_id: str) -> str:
        position = int(hashlib.sha1(f"{source}\x00{video_id}".encode()).hexdigest()[:12], 16) / 16**12
        if position < 1 - self.val - self.test:
            return "train"
        return "val" if position < 1 - self.test else "test"


def _word_of(text: str, char: int) -> int:
    """Index in `text.split(" ")` of the word holding character `char`."""
    return text.count(" ", 0, char)


def dense_cap(turn: Turn, annotation_ids: dict[int, int]) -> dict:
    caption = turn.answer.text
    token_pos, mask_id, phrases = [], [], []
    for phrase in turn.phrases:
        ids = [annotation_ids[o] for o in phrase.object_ids]
        last_word = _word_of(caption, phrase.end - 1)
        token_pos += [last_word] * len(ids)
        mask_id += ids
        phrases.append({"start": phrase.start, "end": phrase.end, "mask_id": ids})
    return {
        "caption": caption,
        "token_pos": token_pos,
        "mask_id": mask_id,
        "v_id2o_id": {str(n): a for n, a in enumerate(annotation_ids.values())},
        "phrases": phrases,
    }


def gcg_turn(sample: Sample) -> Turn | None:
    """The sample's grounded description (referring questions are not dense captions)."""
    for turn in sample.conversation:
        if turn.answer.provenance.name != REFERRING_ANSWER:
            return turn
    return None


def export_videoglamm(directory: str | Path, output: str | Path, fractions: SplitFractions = SplitFractions()) -> dict:
    """Every clip with a grounded description (rejected samples left out) in VideoGLaMM's layout."""
    output = Path(output)
    writer = CocoVideoWriter()
    by_split: dict[str, list[dict]] = {split: [] for split in SPLITS}
    skipped = 0
    for item in iter_clips(directory):
        sample = item.sample
        turn = gcg_turn(sample)
        if turn is None:
            skipped += 1
            continue
        video, annotation_ids = writer.add(sample, write_frames(item, output / FRAMES_DIR))
        video["dense_cap"] = dense_cap(turn, annotation_ids)
        video["dataset_split"] = "yt19"
        video["metadata"] = {
            "dataset": "yt19",
            "source": sample.source,
            "video_id": sample.video_id,
            "key": sample.key,
            "frame_indices": list(sample.clip.frame_indices),
            "review_state": sample.review.value,
            "object_ids": {str(a): o for o, a in annotation_ids.items()},
        }
        by_split[fractions.split_of(sample.source, sample.video_id)].append(video)
    for split, videos in by_split.items():
        write_json(output / INSTRUCTIONS_DIR / f"{split}.json", writer.document(videos, f"videogcg export, {split} split"))
    counts = {split: len(videos) for split, videos in by_split.items()}
    logger.info("exported %s clips to %s (%d without a grounded description skipped)", counts, output, skipped)
    return {"splits": counts, "annotations": len(writer.annotations), "skipped": skipped}
