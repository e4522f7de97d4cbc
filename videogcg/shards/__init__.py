"""The on-disk form of a dataset: WebDataset tar shards plus Parquet manifests. Imports only schemas."""

from videogcg.shards.layout import list_shards
from videogcg.shards.reader import ShardFormatError, ShardSample, find_sample, iter_dataset, iter_shard, read_manifest
from videogcg.shards.writer import ShardWriter, ShardWriterConfig, encode_clip

__all__ = [
    "ShardFormatError",
    "ShardSample",
    "ShardWriter",
    "ShardWriterConfig",
    "encode_clip",
    "find_sample",
    "iter_dataset",
    "iter_shard",
    "list_shards",
    "read_manifest",
]
