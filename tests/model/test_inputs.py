"""Model inputs: the chat template, the [SEG] alignment, frame sampling, batching, the training stream."""

from collections import Counter

import pytest
import torch
from torch.utils.data import DataLoader

from tests.factories import make_sample
from videogcg.model.batches import TrainingBatches
from videogcg.model.data import Example, ManifestFilter, ShardExamples, SkipSample, select
from videogcg.model.inputs import IGNORE, SEG_TOKEN, VISUAL_ID, sample_indices
from videogcg.schemas import TextField
from videogcg.shards import ShardWriter, ShardWriterConfig


def test_sample_indices_spread_over_the_clip_and_repeat_short_clips():
    assert sample_indices(8, 4).tolist() == [0, 2, 5, 7]
    assert sample_indices(2, 4).tolist() == [0, 0, 1, 1]
    assert sample_indices(6, 6).tolist() == list(range(6))


def test_the_answer_alone_is_labelled_and_each_seg_is_one_token(tiny_model, gcg_dataset):
    _, encoder = tiny_model
    example = next(iter(ShardExamples.from_directories([gcg_dataset])))
    ids, labels = encoder.text(example.question, example.answer)
    assert ids.count(VISUAL_ID) == 1 and ids.count(encoder.seg_id) == example.answer.count(SEG_TOKEN) == len(example.masks)
    labelled = [i for i, label in zip(ids, labels) if label != IGNORE]
    first = labels.index(labelled[0])
    assert all(label == IGNORE for label in labels[:first]) and labels[first:] == ids[first:]
    # the labelled tokens are the answer and the template's end of turn, nothing of the prompt
    assert encoder.tokenizer.decode(labelled).startswith(example.answer)
    assert encoder.tokenizer.decode(labelled).removeprefix(example.answer).strip() == "<|im_end|>"
    assert example.question in encoder.tokenizer.decode([i for i in ids[:first] if i != VISUAL_ID])


def test_encoded_frames_and_masks_follow_the_config(tiny_model, gcg_dataset):
    _, encoder = tiny_model
    example = next(iter(ShardExamples.from_directories([gcg_dataset])))
    encoded = encoder(example)
    config = encoder.config
    assert encoded.image_pixels.shape == (config.num_frames, 3, encoder.image_input.size, encoder.image_input.size)
    assert encoded.video_pixels.shape == (config.num_frames, 3, encoder.video_input.size, encoder.video_input.size)
    assert encoded.sam_pixels.shape == (config.sam_frames, 3, 128, 128)
    assert encoded.masks.shape == (len(example.masks), config.sam_frames, 128, 128)
    assert set(encoded.masks.unique().tolist()) <= {0.0, 1.0}
    # a mask keeps its share of the frame through the resize to SAM's square input
    frame = sample_indices(len(example.frames), config.sam_frames)[0]
    assert encoded.masks[0, 0].mean().item() == pytest.approx(example.masks[0, frame].mean(), abs=0.01)


def test_a_sample_whose_seg_count_differs_from_its_masks_is_skipped(tiny_model, gcg_dataset):
    _, encoder = tiny_model
    example = next(iter(ShardExamples.from_directories([gcg_dataset])))
    broken = Example(example.key, example.source, example.frames, example.question, example.answer + " [SEG]", example.masks)
    with pytest.raises(SkipSample, match=r"\[SEG\] count differs"):
        encoder(broken)


def test_batches_pad_ids_and_labels(tiny_model, gcg_dataset):
    _, encoder = tiny_model
    examples = list(ShardExamples.from_directories([gcg_dataset]))[:3]
    encoded = [encoder(e) for e in examples]
    batch = encoder.collate(encoded)
    lengths = [len(e.input_ids) for e in encoded]
    assert batch.input_ids.shape == batch.labels.shape == (3, max(lengths))
    assert batch.attention_mask.sum(dim=1).tolist() == lengths
    for row, e in enumerate(encoded):
        assert torch.equal(batch.input_ids[row, : lengths[row]], e.input_ids)
        assert (batch.labels[row, lengths[row] :] == IGNORE).all()
    assert [len(m) for m in batch.masks] == [len(e.masks) for e in examples]


def stream_keys(stream: TrainingBatches, workers: int, batches: int) -> list[list[str]]:
    loader = DataLoader(stream, batch_size=None, num_workers=workers)
    taken = []
    for batch in loader:
        taken.append(batch.keys)
        if len(taken) == batches:
            return taken


@pytest.mark.parametrize("workers", [0, 2])
def test_a_resumed_stream_continues_with_the_same_batches(tiny_model, gcg_dataset, workers):
    _, encoder = tiny_model
    shards = select([gcg_dataset], ManifestFilter())
    whole = stream_keys(TrainingBatches(shards, encoder, batch_size=2, seed=3), workers, 9)
    resumed = stream_keys(TrainingBatches(shards, encoder, batch_size=2, seed=3, start=5), workers, 4)
    assert resumed == whole[5:]
    # the stream crosses epochs: 12 samples, so batches 0-5 hold each sample once, in a new order after that
    first_epoch = [k for keys in whole[:6] for k in keys]
    assert len(set(first_epoch)) == 12


def test_source_weights_repeat_or_drop_samples(tiny_model, gcg_dataset):
    _, encoder = tiny_model
    shards = select([gcg_dataset], ManifestFilter())
    doubled = TrainingBatches(shards, encoder, batch_size=4, source_weights={"masks_expressions": 2.0})
    keys = Counter(k for keys in stream_keys(doubled, 0, 6) for k in keys)  # 24 examples: one epoch, twice each
    assert len(keys) == 12 and set(keys.values()) == {2}
    with pytest.raises(RuntimeError, match="no trainable sample"):
        stream_keys(TrainingBatches(shards, encoder, batch_size=2, source_weights={"masks_expressions": 0.0}), 0, 1)


def test_skipped_samples_never_shrink_a_batch_and_are_counted(tiny_model, tmp_path, scene_video):
    _, encoder = tiny_model
    samples = [make_sample(scene_video, conversation_index=i) for i in range(4)]
    turn = samples[1].conversation[0]  # an answer without text: cannot train
    samples[1] = samples[1].model_copy(
        update={
            "conversation": (turn.model_copy(update={"answer": TextField(text=" ", provenance=turn.answer.provenance), "phrases": ()}),)
        }
    )
    frames = scene_video.frames[list(samples[0].clip.frame_indices)]
    with ShardWriter(tmp_path, ShardWriterConfig(max_samples=10)) as writer:
        for sample in samples:
            writer.write(sample, frames)
    stream = TrainingBatches(select([tmp_path], ManifestFilter()), encoder, batch_size=3, shuffle_buffer=1)
    batches = iter(DataLoader(stream, batch_size=None))
    taken = [next(batches) for _ in range(3)]  # 9 examples: three epochs of the 3 trainable samples
    assert [len(b) for b in taken] == [3, 3, 3]
    assert all(samples[1].key not in b.keys for b in taken)
    assert sum((b.skipped for b in taken), Counter()) == Counter({"empty answer": 3})
    assert taken[0].skipped == Counter({"empty answer": 1})
