"""Batches for the trainer: a deterministic epoch-seeded sampler and a DataLoader over the memmap.

The order of an epoch is a permutation drawn from ``seed + epoch`` alone (like DistributedSampler),
so a resumed run sees exactly the batches an uninterrupted one would, without saving sampler
state. A global batch of G clips is split into ``world_size`` contiguous chunks, one per rank;
gathering the ranks' keys in rank order therefore gives the global batch in sampler order.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import DataLoader

from skelzoo.errors import SkelzooError


class EpochBatchSampler:
    """Yields this rank's index arrays for one epoch; the last incomplete global batch is dropped."""

    def __init__(self, num_clips: int, global_batch: int, seed: int, rank: int = 0, world_size: int = 1, shuffle: bool = True):
        if global_batch % world_size:
            raise SkelzooError(
                f"batch size {global_batch} does not split evenly over {world_size} processes; "
                f"use a multiple of {world_size}."
            )
        if global_batch > num_clips:
            raise SkelzooError(
                f"batch size {global_batch} is larger than the {num_clips} training clips; "
                f"use --batch-size {num_clips} or less."
            )
        self.num_clips, self.global_batch = num_clips, global_batch
        self.local_batch = global_batch // world_size
        self.seed, self.rank, self.world_size, self.shuffle = seed, rank, world_size, shuffle
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.num_clips // self.global_batch

    def __iter__(self):
        if self.shuffle:
            order = np.random.default_rng([self.seed, self.epoch]).permutation(self.num_clips)
        else:
            order = np.arange(self.num_clips)
        lo = self.rank * self.local_batch
        for b in range(len(self)):
            start = b * self.global_batch + lo
            yield order[start : start + self.local_batch]


class _BatchReader(torch.utils.data.Dataset):
    """`reader[indices]` is a whole batch (one memmap read per batch, not per clip)."""

    def __init__(self, dataset) -> None:
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, indices):
        data, frames, _labels = self.dataset.get_batch(indices)
        return torch.from_numpy(data), torch.from_numpy(np.asarray(frames, dtype=np.int64))


def make_loader(dataset, sampler: EpochBatchSampler, workers: int = 0, pin_memory: bool = False) -> DataLoader:
    """A DataLoader whose 'samples' are the sampler's index arrays (auto-batching off)."""
    return DataLoader(
        _BatchReader(dataset),
        sampler=sampler,
        batch_size=None,
        num_workers=workers,
        pin_memory=pin_memory,
        persistent_workers=workers > 0,
        prefetch_factor=2 if workers > 0 else None,
    )
