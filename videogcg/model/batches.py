"""The training stream: examples of this process's share of the shards, epoch after epoch, encoded and
batched inside the loader workers (so decoding, resizing and collation stay off the training loop).

Batching happens here rather than in the DataLoader so that skipped samples never shrink a batch (every
DDP rank takes the same number of full steps) and so each batch carries the counts of what was skipped
while it was made, whichever worker process made it. The stream is a pure function of the seed, the
rank and the number of batches already taken, which is what makes resuming exact.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import count, islice
from pathlib import Path

from torch.utils.data import IterableDataset, get_worker_info

from videogcg.model.data import ShardExamples, SkipSample
from videogcg.model.inputs import Batch, ExampleEncoder

logger = logging.getLogger(__name__)


@dataclass
class TrainingBatches(IterableDataset):
    shards: dict[Path, frozenset[str]]
    encoder: ExampleEncoder
    batch_size: int
    rank: int = 0
    world_size: int = 1
    shuffle_buffer: int = 64
    seed: int = 0
    source_weights: dict[str, float] | None = None  # expected copies of each sample of a source (default 1)
    start: int = 0  # batches of this process already trained on (resume)

    def __post_init__(self) -> None:
        super().__init__()

    def _examples(self, worker: tuple[int, int]) -> Iterator:
        """Encoded examples of (loader worker, workers), epoch after epoch, each with the skipped-so-far Counter."""
        skipped: Counter = Counter()
        for epoch in count():
            examples = ShardExamples(
                self.shards, self.rank, self.world_size, self.shuffle_buffer, self.seed, epoch, skipped, worker, self.source_weights
            )
            produced = False
            for example in examples:
                try:
                    encoded = self.encoder(example)
                except SkipSample as reason:
                    examples.skip(str(reason), example.key)
                    continue
                produced = True
                yield encoded, skipped
            if not produced:
                raise RuntimeError(f"rank {self.rank}: no trainable sample in {len(self.shards)} shard(s); skipped {dict(skipped)}")

    def _batches(self, worker: tuple[int, int]) -> Iterator[Batch]:
        reported: Counter = Counter()
        examples = self._examples(worker)
        while True:
            chunk = list(islice(examples, self.batch_size))
            skipped = chunk[-1][1]
            yield self.encoder.collate([encoded for encoded, _ in chunk], skipped - reported)
            reported = Counter(skipped)

    def __iter__(self) -> Iterator[Batch]:
        info = get_worker_info()
        workers, index = (info.num_workers, info.id) if info else (1, 0)
        # The DataLoader takes batches from its workers in turn, starting with worker 0. The stream's batch b
        # comes from logical worker b % n, so a resumed loader's worker w plays logical worker (w + start) % n.
        logical = (index + self.start) % workers
        already = len(range(logical, self.start, workers))
        yield from islice(self._batches((logical, workers)), already, None)
