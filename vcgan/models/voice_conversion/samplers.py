"""Random fixed-length segments of normalised spectral features, sampled per step.

Each step draws ``batch_size`` crops per domain, uniformly over all possible crop
positions of the whole training set: O(batch) work per step, no per-epoch
reshuffling or re-cropping of the corpus. The generator state is checkpointed,
so a resumed run sees exactly the samples it would have seen.
"""
from __future__ import annotations

import numpy as np
import torch

from ...errors import VcganError


class SegmentSampler:
    def __init__(self, domains: dict[str, list[np.ndarray]], segment_frames: int, batch_size: int, seed: int = 0):
        """``domains``: name -> list of (dims, frames) float arrays."""
        self.segment_frames = int(segment_frames)
        self.batch_size = int(batch_size)
        self.rng = np.random.Generator(np.random.PCG64(seed))
        self.domains = {}
        for name, utts in domains.items():
            utts = [np.ascontiguousarray(u, dtype=np.float32) for u in utts]
            # short utterances are tiled in time so that every one of them can be cropped
            utts = [np.tile(u, (1, -(-self.segment_frames // u.shape[1]))) if u.shape[1] < self.segment_frames else u
                    for u in utts]
            if not utts:
                raise VcganError(f"domain {name!r} has no training utterances")
            positions = np.array([u.shape[1] - self.segment_frames + 1 for u in utts], dtype=np.float64)
            self.domains[name] = (utts, positions / positions.sum())

    def crop(self, name: str, n: int) -> torch.Tensor:
        utts, p = self.domains[name]
        idx = self.rng.choice(len(utts), size=n, p=p)
        out = []
        for i in idx:
            start = self.rng.integers(0, utts[i].shape[1] - self.segment_frames + 1)
            out.append(utts[i][:, start:start + self.segment_frames])
        return torch.from_numpy(np.stack(out))

    def next_batch(self) -> dict[str, torch.Tensor]:
        return {name: self.crop(name, self.batch_size) for name in self.domains}

    def state_dict(self) -> dict:
        return {"rng": self.rng.bit_generator.state}

    def load_state_dict(self, state: dict) -> None:
        self.rng.bit_generator.state = state["rng"]


class DomainPairSampler(SegmentSampler):
    """Batches for multi-domain models: per sample a random source speaker, a different
    random target speaker, a crop ``x`` of the source and a crop ``y`` of the target."""

    def __init__(self, domains, segment_frames, batch_size, seed=0):
        super().__init__(domains, segment_frames, batch_size, seed)
        self.names = list(self.domains)
        if len(self.names) < 2:
            raise VcganError(f"a many-to-many model needs at least 2 speakers, got {self.names}")

    def next_batch(self):
        n = len(self.names)
        src = self.rng.integers(0, n, self.batch_size)
        trg = (src + self.rng.integers(1, n, self.batch_size)) % n  # never equal to src
        x = torch.cat([self.crop(self.names[s], 1) for s in src])
        y = torch.cat([self.crop(self.names[t], 1) for t in trg])
        return {"x": x, "y": y, "src": torch.from_numpy(src).long(), "trg": torch.from_numpy(trg).long()}


def normalized_training_set(store, speaker: str) -> list[np.ndarray]:
    """A speaker's training spectral features, normalised with its own statistics, as (dims, frames)."""
    from .pipeline import SpeakerStats

    stats = SpeakerStats.from_dict(store.stats[speaker])
    return [stats.normalize(u.spectral.astype(np.float64)).T for u in store.utterances(speaker, "train")]


def sampler_seed(cfg: dict) -> int:
    """Different sample streams on different data-parallel ranks."""
    import os

    return int(cfg["train"]["seed"]) + int(os.environ.get("RANK", "0"))


class RandomSegments:
    """Random normal segments shaped like a sampler's batches (benchmarks, smoke tests):
    two domains ``a``/``b``, or, with ``domains``, (``x``, ``y``, ``src``, ``trg``)."""

    def __init__(self, dims: int, frames: int, batch: int, domains: int = 0, seed: int = 0):
        self.shape, self.domains = (batch, dims, frames), domains
        self.gen = torch.Generator().manual_seed(seed)

    def next_batch(self):
        r = lambda: torch.randn(self.shape, generator=self.gen)  # noqa: E731
        if self.domains:
            src = torch.randint(0, self.domains, (self.shape[0],), generator=self.gen)
            return {"x": r(), "y": r(), "src": src, "trg": (src + 1) % self.domains}
        return {"a": r(), "b": r()}

    def state_dict(self):
        return {"gen": self.gen.get_state()}

    def load_state_dict(self, state):
        self.gen.set_state(state["gen"])
