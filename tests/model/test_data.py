"""Training examples from shards: manifest filters, node and worker splits, buffered shuffle, skipped samples."""

import numpy as np
import pytest
from torch.utils.data import DataLoader

from tests.factories import make_sample
from videogcg.model.data import ManifestFilter, ShardExamples, select
from videogcg.schemas import TextField
from videogcg.shards import ShardWriter, ShardWriterConfig, iter_dataset, read_manifest


def keys_of(examples) -> list[str]:
    return [e.key for e in examples]


def test_every_selected_sample_once_with_one_mask_per_seg(gcg_dataset):
    expected = {item.sample.key: item for item in iter_dataset(gcg_dataset)}
    examples = list(ShardExamples.from_directories([gcg_dataset]))
    assert sorted(keys_of(examples)) == sorted(expected)
    for example in examples:
        item = expected[example.key]
        assert example.answer.count("[SEG]") == len(example.masks) == len(item.sample.conversation[0].phrases)
        assert np.array_equal(example.masks, item.phrase_masks(0)) and np.array_equal(example.frames, item.frames)
        assert example.question == item.sample.conversation[0].question.text


def test_manifest_filters_choose_what_is_read(gcg_dataset):
    rows = read_manifest(gcg_dataset).to_pylist()
    threshold = sorted(r["confidence"] for r in rows)[len(rows) // 2]
    chosen = select([gcg_dataset], ManifestFilter(min_confidence=threshold))
    assert sorted(k for keys in chosen.values() for k in keys) == sorted(r["key"] for r in rows if r["confidence"] >= threshold)
    assert select([gcg_dataset], ManifestFilter(review_states=("human_accepted",))) == {}
    assert select([gcg_dataset], ManifestFilter(sources=("elsewhere",))) == {}
    assert len(select([gcg_dataset], ManifestFilter(sources=("masks_expressions",)))) == 2


@pytest.mark.parametrize("world_size, workers", [(2, 0), (2, 2), (3, 0)])
def test_ranks_and_workers_split_the_samples_without_overlap(gcg_dataset, world_size, workers):
    """2 shards: two ranks take a shard each; four or three slots share out the samples of every shard."""
    seen = []
    for rank in range(world_size):
        dataset = ShardExamples.from_directories([gcg_dataset], rank=rank, world_size=world_size, shuffle_buffer=4)
        seen.append(keys_of(DataLoader(dataset, batch_size=None, num_workers=workers)))
    flat = [k for keys in seen for k in keys]
    assert sorted(flat) == sorted(s.key for s in iter_dataset(gcg_dataset, decode=False)) and len(set(flat)) == len(flat)
    assert all(seen)


def test_shuffle_is_seeded_per_epoch(gcg_dataset):
    def order(epoch, seed=0):
        return keys_of(ShardExamples.from_directories([gcg_dataset], shuffle_buffer=5, seed=seed, epoch=epoch))

    assert order(0) == order(0) and sorted(order(0)) == sorted(order(1))
    assert order(0) != order(1) or order(0) != order(2)


def test_samples_that_cannot_train_are_skipped_and_counted(scene_video, tmp_path):
    good = make_sample(scene_video)
    empty = make_sample(scene_video, conversation_index=1)
    turn = empty.conversation[0]
    empty = empty.model_copy(
        update={"conversation": (turn.model_copy(update={"answer": TextField(text="", provenance=turn.answer.provenance), "phrases": ()}),)}
    )
    maskless = make_sample(scene_video, conversation_index=2)
    maskless = maskless.model_copy(
        update={"objects": (maskless.objects[0].model_copy(update={"masks": (None,) * 3, "boxes": (None,) * 3}),) + maskless.objects[1:]}
    )
    corrupt = make_sample(scene_video, conversation_index=3)
    frames = scene_video.frames[list(good.clip.frame_indices)]
    with ShardWriter(tmp_path, ShardWriterConfig(max_samples=10)) as writer:
        for sample in (good, empty, maskless):
            writer.write(sample, frames)
        writer.write_encoded(corrupt, b"not a video")
    dataset = ShardExamples.from_directories([tmp_path])
    assert keys_of(dataset) == [good.key]
    assert dataset.skipped == {"empty answer": 1, "a [SEG] whose objects have no mask": 1, "unreadable clip": 1}
