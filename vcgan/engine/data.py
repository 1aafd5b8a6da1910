"""A resumable loader: batches of an indexable dataset in a seeded order, exact on resume.

A dataset provides ``__len__()`` and ``get(index, rng) -> dict[str, Tensor]``; ``rng``
(a ``numpy.random.Generator``) is derived from the loader's seed, the epoch and the
sample's position, so random crops or masks are the same after a resume and with or
without background workers. The loader state is (epoch, position): a checkpoint
stores it and a resumed run continues with the next batch it would have drawn.
Data-parallel ranks share one permutation per epoch and take every ``world``-th batch
from it; rank and world size are passed in.
"""
from __future__ import annotations

import numpy as np
import torch


def _collate(samples: list[dict]) -> dict:
    return {k: torch.stack([torch.as_tensor(s[k]) for s in samples]) for k in samples[0]}


class _Keyed(torch.utils.data.Dataset):
    """Maps (index, seed) keys to samples, for worker processes."""

    def __init__(self, dataset):
        self.dataset = dataset

    def __len__(self):
        return len(self.dataset)

    def __getitem__(self, key):
        index, seed = key
        return self.dataset.get(int(index), np.random.default_rng(seed))


class ResumableLoader:
    def __init__(self, dataset, batch_size: int, *, seed: int = 0, rank: int = 0, world: int = 1,
                 shuffle: bool = True, num_workers: int = 0, collate=_collate):
        n = len(dataset)
        self.per_epoch = n // (batch_size * world)  # batches per rank and epoch (the remainder is dropped)
        if self.per_epoch < 1:
            raise ValueError(f"{n} samples are fewer than one batch of {batch_size} on each of {world} rank(s)")
        if not 0 <= rank < world:
            raise ValueError(f"rank {rank} is outside a world of {world}")
        self.dataset, self.batch_size, self.seed = dataset, int(batch_size), int(seed)
        self.rank, self.world, self.shuffle = rank, world, shuffle
        self.num_workers, self.collate = int(num_workers), collate
        self.epoch, self.position = 0, 0  # position: batches this rank drew in the epoch
        self._iter = None

    def _keys(self, epoch: int, batch: int) -> list[tuple[int, int]]:
        n = len(self.dataset)
        order = (np.random.default_rng([self.seed, epoch]).permutation(n) if self.shuffle else np.arange(n))
        first = (batch * self.world + self.rank) * self.batch_size
        return [(int(order[first + i]), int(np.random.SeedSequence([self.seed, epoch, first + i])
                                            .generate_state(1)[0])) for i in range(self.batch_size)]

    def _batches(self, epoch: int, start: int):
        """Key lists of this rank's batches ``start..`` of ``epoch``."""
        return [self._keys(epoch, b) for b in range(start, self.per_epoch)]

    def _open(self):
        batches = self._batches(self.epoch, self.position)
        if self.num_workers > 0:
            loader = torch.utils.data.DataLoader(_Keyed(self.dataset), batch_sampler=batches,
                                                 num_workers=self.num_workers, collate_fn=self.collate,
                                                 persistent_workers=False)
            self._iter = iter(loader)
        else:
            keyed = _Keyed(self.dataset)
            self._iter = (self.collate([keyed[k] for k in keys]) for keys in batches)

    def next_batch(self) -> dict:
        if self.position >= self.per_epoch:
            self.epoch, self.position, self._iter = self.epoch + 1, 0, None
        if self._iter is None:
            self._open()
        batch = next(self._iter)
        self.position += 1
        return batch

    def state_dict(self) -> dict:
        return {"epoch": self.epoch, "position": self.position, "seed": self.seed}

    def load_state_dict(self, state: dict) -> None:
        if int(state["seed"]) != self.seed:
            raise ValueError(f"data loader state of seed {state['seed']}, this loader has seed {self.seed}")
        self.epoch, self.position, self._iter = int(state["epoch"]), int(state["position"]), None
