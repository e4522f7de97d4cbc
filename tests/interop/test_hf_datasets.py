"""The shards and manifests load with Hugging Face `datasets`, as the README shows."""

import numpy as np

from videogcg.interop.hf import clip_frames, load_manifests, load_shards, sample_of
from videogcg.shards import iter_dataset, read_manifest


def rounded(value):
    """JSON values with floats cut to 9 significant digits: `datasets`' Json feature keeps 10 (pandas ujson)."""
    if isinstance(value, float):
        return float(f"{value:.9g}")
    if isinstance(value, dict):
        return {k: rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [rounded(v) for v in value]
    return value


def test_shards_load_with_the_webdataset_builder(gcg_dataset, tmp_path):
    dataset = load_shards(gcg_dataset, cache_dir=str(tmp_path))
    expected = {item.sample.key: item for item in iter_dataset(gcg_dataset)}
    # 12 samples of different shapes: referring and GCG questions, different objects and verifier checks
    assert len(dataset) == len(expected) == 12
    for row in dataset:
        item = expected[row["__key__"]]
        assert rounded(sample_of(row).model_dump(mode="json")) == rounded(item.sample.model_dump(mode="json"))
        assert sample_of(row).objects == item.sample.objects and sample_of(row).conversation == item.sample.conversation
        assert np.array_equal(clip_frames(row), item.frames)


def test_manifests_load_with_the_parquet_builder(gcg_dataset, tmp_path):
    dataset = load_manifests(gcg_dataset, cache_dir=str(tmp_path))
    assert dataset.to_list() == read_manifest(gcg_dataset).to_pylist()
    assert dataset.features["stage_versions"].feature["stage"].dtype == "string"
