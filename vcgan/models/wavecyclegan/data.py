"""Unpaired waveform crops for the WaveCycleGAN family.

Two piles of wavs, ``ROOT/<synthetic>/train`` and ``ROOT/<natural>/train``, need not
share a sentence. Each domain gets one gain, measured on its whole training corpus
(the RMS of its active frames brought to ``data.level``), never one per crop: a crop's
own level is part of what a discriminator judges, and a per-crop standardisation would
make the generator's output level depend on where a crop starts.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ...errors import ConfigError, VcganError
from ...features.audio import list_audio, load_audio

ACTIVE_DB = 40.0  # frames within this many dB of the loudest count as active speech
FRAME_S = 0.01


def active_rms(waves: list[np.ndarray], sample_rate: int) -> float:
    """RMS over the active 10-ms frames of a corpus (those within ``ACTIVE_DB`` of its loudest)."""
    n = max(1, int(FRAME_S * sample_rate))
    energies = []
    for x in waves:
        frames = x[: len(x) // n * n].reshape(-1, n)
        energies.append((frames ** 2).mean(1))
    e = np.concatenate(energies) if energies else np.zeros(0)
    if e.size == 0 or e.max() <= 0:
        raise VcganError("no audible frames to measure a level on")
    active = e[e >= e.max() * 10 ** (-ACTIVE_DB / 10)]
    return float(np.sqrt(active.mean()))


def domain_dir(root, name: str, split: str) -> Path:
    return Path(root) / name / split


def load_domain(root, name: str, split: str, sample_rate: int, min_samples: int = 0,
                side: str = "natural") -> tuple[list[str], list[np.ndarray]]:
    """(names, waveforms) of ``ROOT/name/split``; files shorter than ``min_samples`` are left out (named).
    ``side``: the config key that names the folder (``data.synthetic`` or ``data.natural``)."""
    d = domain_dir(root, name, split)
    if not d.is_dir():
        raise ConfigError(f"config keys 'data.root' and 'data.{side}': {d} is missing "
                          f"(expected ROOT/{name}/{split}/*.wav)")
    files = list_audio(d)
    if not files:
        raise ConfigError(f"config key 'data.root': no audio files in {d}")
    names, waves, short = [], [], []
    for f in files:
        x = load_audio(f, sample_rate).astype(np.float32)
        if len(x) < min_samples:
            short.append(f.name)
            continue
        names.append(f.stem)
        waves.append(x)
    if short:
        print(f"data: {len(short)} file(s) of {d} shorter than data.crop={min_samples} samples left out, e.g. {short[0]}")
    if not waves:
        raise ConfigError(f"config key 'data.crop': every file in {d} is shorter than {min_samples} samples")
    return names, waves


class UnpairedCrops:
    """Dataset for :class:`~vcgan.engine.data.ResumableLoader`: sample ``i`` is a crop of
    synthetic utterance ``i`` (``a``) and of a natural utterance the sample's rng picks
    (``b``), each ``crop`` samples long, scaled by its domain's gain. A crop is drawn up
    to 8 times until its RMS reaches a tenth of the domain level (speech, not a pause)."""

    TRIES = 8

    def __init__(self, synthetic: list[np.ndarray], natural: list[np.ndarray], gains: dict, crop: int, level: float):
        self.a, self.b, self.crop = synthetic, natural, int(crop)
        self.gain_a, self.gain_b = float(gains["synthetic"]), float(gains["natural"])
        self.floor = 0.1 * float(level)

    def __len__(self):
        return max(len(self.a), len(self.b))

    def _crop(self, x: np.ndarray, gain: float, rng: np.random.Generator) -> np.ndarray:
        for _ in range(self.TRIES):
            start = int(rng.integers(0, len(x) - self.crop + 1))
            piece = x[start:start + self.crop] * gain
            if np.sqrt(np.mean(piece ** 2)) >= self.floor:
                break
        return piece[None].astype(np.float32)

    def get(self, index: int, rng: np.random.Generator) -> dict:
        a = self._crop(self.a[index % len(self.a)], self.gain_a, rng)
        b = self._crop(self.b[int(rng.integers(len(self.b)))], self.gain_b, rng)
        return {"a": a, "b": b}


class RandomWaves:
    """Random noise shaped like the crops (benchmarks, smoke tests): ``a``/``b`` of (batch, 1, crop)."""

    def __init__(self, crop: int, batch_size: int, seed: int = 0):
        import torch

        self.shape = (batch_size, 1, crop)
        self.gen = torch.Generator().manual_seed(seed)

    def next_batch(self) -> dict:
        import torch

        return {k: 0.05 * torch.randn(self.shape, generator=self.gen) for k in ("a", "b")}

    def state_dict(self):
        return {"gen": self.gen.get_state()}

    def load_state_dict(self, state):
        self.gen.set_state(state["gen"])
