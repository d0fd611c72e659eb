"""Length-bucketed batches: similar lengths share a batch, so little compute goes to padding."""

from __future__ import annotations

import math
import random
from collections.abc import Iterator, Sequence

from torch.utils.data import DistributedSampler, Sampler


class BucketBatchSampler(Sampler[list[int]]):
    """Shuffle, cut into chunks of ``bucket`` batches, sort each chunk by length, batch it.

    Indices come from a DistributedSampler, so under DDP every rank sees its own share of
    the data and, since the shares have equal size, the same number of batches.
    """

    def __init__(self, lengths: Sequence[int], batch_size: int, shuffle: bool = True,
                 seed: int = 0, rank: int = 0, world: int = 1, bucket: int = 50):
        super().__init__()
        self.lengths = list(lengths)
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.seed = seed
        self.chunk = batch_size * bucket
        self.epoch = 0
        self.base = DistributedSampler(self.lengths, num_replicas=world, rank=rank,
                                       shuffle=shuffle, seed=seed)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch
        self.base.set_epoch(epoch)

    def __iter__(self) -> Iterator[list[int]]:
        indices = list(self.base)
        batches = []
        for start in range(0, len(indices), self.chunk):
            part = sorted(indices[start : start + self.chunk], key=self.lengths.__getitem__)
            batches += [part[i : i + self.batch_size] for i in range(0, len(part), self.batch_size)]
        if self.shuffle:
            random.Random(self.seed + self.epoch).shuffle(batches)
        return iter(batches)

    def __len__(self) -> int:
        n = len(self.base)
        full, rest = divmod(n, self.chunk)
        return full * math.ceil(self.chunk / self.batch_size) + math.ceil(rest / self.batch_size)
