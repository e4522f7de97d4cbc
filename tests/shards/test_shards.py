import json
import tarfile

import numpy as np
import pyarrow.parquet as pq
import pytest
import webdataset as wds

from tests.factories import make_sample
from videogcg.schemas import Sample
from videogcg.shards import ShardWriter, ShardWriterConfig, find_sample, iter_dataset, iter_shard, list_shards, read_manifest


def frames_of(video, sample):
    return video.frames[list(sample.clip.frame_indices)]


def samples_for(video, count):
    return [make_sample(video, conversation_index=n) for n in range(count)]


def write(directory, video, samples, **config):
    with ShardWriter(directory, ShardWriterConfig(**config)) as writer:
        for sample in samples:
            writer.write(sample, frames_of(video, sample))
    return writer.finished


def test_round_trip_is_exact_for_fields_and_masks_and_close_for_frames(tmp_path, scene_video):
    samples = samples_for(scene_video, 3)
    write(tmp_path, scene_video, samples)
    items = list(iter_dataset(tmp_path))
    assert [item.sample for item in items] == samples
    for item, sample in zip(items, samples):
        assert item.sample.to_json() == sample.to_json()
        t = list(sample.clip.frame_indices)
        np.testing.assert_array_equal(item.masks, scene_video.masks[:, t])
        np.testing.assert_array_equal(item.present, scene_video.masks[:, t].any(axis=(2, 3)))
        assert item.frames.shape == (len(t), 120, 160, 3) and item.frames.dtype == np.uint8
        error = np.abs(item.frames.astype(int) - scene_video.frames[t].astype(int)).mean()
        assert error < 3.0, f"clip decoded with mean error {error}"


def test_phrase_masks_follow_seg_order_and_merge_objects(tmp_path, scene_video):
    sample = make_sample(scene_video)
    write(tmp_path, scene_video, [sample])
    item = next(iter_dataset(tmp_path))
    merged = item.phrase_masks()
    t = list(sample.clip.frame_indices)
    assert merged.shape == (2, len(t), 120, 160)
    np.testing.assert_array_equal(merged[0], scene_video.masks[0, t])
    np.testing.assert_array_equal(merged[1], scene_video.masks[1, t] | scene_video.masks[2, t])


def test_rolls_over_by_sample_count(tmp_path, scene_video):
    finished = write(tmp_path, scene_video, samples_for(scene_video, 5), max_samples=2)
    assert [p.name for p in finished] == ["shard-000000.tar", "shard-000001.tar", "shard-000002.tar"]
    assert [len(list(iter_shard(p, decode=False))) for p in finished] == [2, 2, 1]


def test_rolls_over_by_bytes(tmp_path, scene_video):
    finished = write(tmp_path, scene_video, samples_for(scene_video, 4), max_bytes=1)  # every sample overflows
    assert len(finished) == 4
    with ShardWriter(tmp_path / "big", ShardWriterConfig(max_bytes=10**9)) as writer:
        for sample in samples_for(scene_video, 4):
            writer.write(sample, frames_of(scene_video, sample))
    assert len(writer.finished) == 1


def test_manifest_has_one_row_per_sample_with_counts_and_scores(tmp_path, scene_video):
    samples = samples_for(scene_video, 3)
    finished = write(tmp_path, scene_video, samples, max_samples=2)
    table = pq.read_table(finished[0].with_suffix(".parquet"))
    assert table.num_rows == 2
    row = table.to_pylist()[0]
    sample = samples[0]
    assert row["key"] == sample.key and row["shard"] == "shard-000000.tar"
    assert row["video_id"] == "scene" and row["source"] == "synthetic"
    assert row["num_objects"] == 3 and row["num_phrases"] == 2 and row["num_frames"] == 3
    assert row["num_masks"] == sum(t.num_masks for t in sample.objects)
    assert row["review_state"] == "auto"
    assert row["min_score"] == pytest.approx(0.7) and row["mean_score"] == pytest.approx(0.8)
    assert row["confidence"] is None  # no verifier ran on this sample
    assert row["stage_versions"] == [{"stage": "compose", "version": "test-1"}]
    assert read_manifest(tmp_path).num_rows == 3


def test_shards_open_with_plain_webdataset_and_tarfile(tmp_path, scene_video):
    samples = samples_for(scene_video, 2)
    finished = write(tmp_path, scene_video, samples)
    dataset = wds.WebDataset([str(p) for p in finished], shardshuffle=False)
    records = list(dataset)
    assert [r["__key__"] for r in records] == [s.key for s in samples]
    assert Sample.from_json(records[0]["json"]) == samples[0]
    assert records[0]["mp4"][4:8] == b"ftyp"
    with tarfile.open(finished[0]) as tar:
        assert tar.getnames() == [f"{s.key}.{ext}" for s in samples for ext in ("mp4", "json")]
        data = json.load(tar.extractfile(f"{samples[1].key}.json"))
    assert data["key"] == samples[1].key


def test_interrupted_write_leaves_no_complete_looking_tar(tmp_path, scene_video):
    samples = samples_for(scene_video, 3)
    with pytest.raises(RuntimeError):
        with ShardWriter(tmp_path, ShardWriterConfig(max_samples=2)) as writer:
            for sample in samples:
                writer.write(sample, frames_of(scene_video, sample))
            raise RuntimeError("killed")
    assert [p.name for p in list_shards(tmp_path)] == ["shard-000000.tar"]  # the finished one stays
    assert not list(tmp_path.glob("*.partial"))

    crashed = ShardWriter(tmp_path / "crash")  # a process that dies mid-shard never calls close()
    crashed.write(samples[0], frames_of(scene_video, samples[0]))
    crashed._tar.fileobj.flush()
    assert list_shards(tmp_path / "crash") == []
    assert [p.name for p in (tmp_path / "crash").iterdir()] == ["shard-000000.tar.partial"]
    assert read_manifest(tmp_path / "crash").num_rows == 0


def test_frames_that_do_not_match_the_sample_are_rejected(tmp_path, scene_video):
    sample = make_sample(scene_video)
    with ShardWriter(tmp_path) as writer, pytest.raises(ValueError, match=sample.key):
        writer.write(sample, scene_video.frames[:2])


def test_odd_frame_sizes_round_trip(tmp_path):
    from videogcg.synthetic import random_scene, render

    video = render(random_scene(np.random.default_rng(1), "odd", width=75, height=51, num_frames=6))
    sample = make_sample(video, frame_indices=(0, 5))
    write(tmp_path, video, [sample])
    item = next(iter_dataset(tmp_path))
    assert item.frames.shape == (2, 51, 75, 3)
    np.testing.assert_array_equal(item.masks, video.masks[:, [0, 5]])


def test_find_sample_by_key(tmp_path, scene_video):
    samples = samples_for(scene_video, 3)
    write(tmp_path, scene_video, samples, max_samples=1)
    assert find_sample(tmp_path, samples[2].key).sample == samples[2]
    with pytest.raises(KeyError, match="no sample with key 'nope'"):
        find_sample(tmp_path, "nope")


def test_writing_is_deterministic(tmp_path, scene_video):
    samples = samples_for(scene_video, 2)
    a = write(tmp_path / "a", scene_video, samples)[0].read_bytes()
    b = write(tmp_path / "b", scene_video, samples)[0].read_bytes()
    assert a == b


def test_readers_read_only_the_members_they_need(tmp_path, scene_video, monkeypatch):
    samples = samples_for(scene_video, 3)
    [shard] = write(tmp_path, scene_video, samples)
    read = []
    original = tarfile.TarFile.extractfile

    def counting(self, member):
        read.append(member.name)
        return original(self, member)

    monkeypatch.setattr(tarfile.TarFile, "extractfile", counting)
    assert [s.key for s in iter_shard(shard, decode=False)] == [s.key for s in samples]
    assert read == [f"{s.key}.json" for s in samples]  # no clip is read without decoding
    read.clear()
    [item] = iter_shard(shard, keys={samples[0].key})
    assert item.sample == samples[0] and sorted(read) == [f"{samples[0].key}.json", f"{samples[0].key}.mp4"]
