"""Hugging Face `datasets` views of a dataset directory: the shards through the `webdataset` builder and the
manifests through the `parquet` one.

The sample JSON holds free-form parts (provenance parameters, verifier checks) whose keys differ between
samples, which `datasets`' schema inference (from the first few samples) cannot type; the features below
keep it as a `Json` column instead. The clip stays encoded (`Video(decode=False)`: decoding through
`datasets` needs torchcodec); `clip_frames` decodes it with our reader.

    from videogcg.interop.hf import load_shards, sample_of, clip_frames
    ds = load_shards("out/demo/raw")                 # a datasets.Dataset, one row per sample
    sample, frames = sample_of(ds[0]), clip_frames(ds[0])
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from videogcg.schemas import Sample
from videogcg.shards import list_shards
from videogcg.shards.layout import manifest_path
from videogcg.shards.reader import decode_clip


def webdataset_features():
    from datasets import Features, Json, Value, Video

    return Features({"mp4": Video(decode=False), "json": Json(), "__key__": Value("string"), "__url__": Value("string")})


def load_shards(directory: str | Path, split: str = "train", **kwargs):
    """The complete shards of `directory` as one `datasets.Dataset` (kwargs go to `load_dataset`)."""
    from datasets import load_dataset

    files = [str(path) for path in list_shards(directory)]
    if not files:
        raise FileNotFoundError(f"no complete shards in {directory}")
    return load_dataset("webdataset", data_files={split: files}, split=split, features=webdataset_features(), **kwargs)


def load_manifests(directory: str | Path, split: str = "train", **kwargs):
    """The Parquet manifests of the complete shards as one `datasets.Dataset`."""
    from datasets import load_dataset

    files = [str(manifest_path(path)) for path in list_shards(directory)]
    if not files:
        raise FileNotFoundError(f"no complete shards in {directory}")
    return load_dataset("parquet", data_files={split: files}, split=split, **kwargs)


def sample_of(row: dict) -> Sample:
    return Sample.model_validate(row["json"])


def clip_frames(row: dict) -> np.ndarray:
    """(T, H, W, 3) uint8 frames of the row's clip (the stored clip may be padded to even sizes)."""
    return decode_clip(sample_of(row), row["mp4"]["bytes"], name=f"{row['__url__']}:{row['__key__']}.mp4")
