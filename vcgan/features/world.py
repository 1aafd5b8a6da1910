"""WORLD analysis/synthesis and the spectral parameterisations used by the models.

Spectral envelopes are modelled either as SPTK mel-cepstra (``pysptk.sp2mc`` with
the frequency-warping constant for the sample rate) or as WORLD's coded spectral
envelope; aperiodicity is stored coded (a few bands) and decoded for synthesis.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields

import numpy as np
import pysptk
import pyworld

from ..errors import ConfigError

F0_METHODS = ("harvest", "dio")
SPECTRAL_KINDS = ("mcep", "coded_sp")


@dataclass(frozen=True)
class FeatureConfig:
    """How waveforms become features; stored with every feature cache and checkpoint."""

    sample_rate: int = 16000
    frame_period: float = 5.0
    f0_method: str = "harvest"
    f0_floor: float = 60.0
    f0_ceil: float = 500.0
    spectral: str = "mcep"
    # number of spectral coefficients including c0 (36 -> c0..c35 as in CycleGAN-VC2)
    spectral_dim: int = 36

    def __post_init__(self):
        if self.f0_method not in F0_METHODS:
            raise ConfigError(f"features.f0_method: expected one of {F0_METHODS}, got {self.f0_method!r}")
        if self.spectral not in SPECTRAL_KINDS:
            raise ConfigError(f"features.spectral: expected one of {SPECTRAL_KINDS}, got {self.spectral!r}")
        if self.sample_rate < 8000:
            raise ConfigError(f"features.sample_rate: {self.sample_rate} Hz is too low (>= 8000)")
        if not 2 <= self.spectral_dim <= 128:
            raise ConfigError(f"features.spectral_dim: {self.spectral_dim} out of range [2, 128]")

    @property
    def fft_size(self) -> int:
        return pyworld.get_cheaptrick_fft_size(self.sample_rate, self.f0_floor)

    @property
    def alpha(self) -> float:
        """All-pass constant approximating the mel scale at this sample rate."""
        return float(pysptk.util.mcepalpha(self.sample_rate))

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "FeatureConfig":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ConfigError(f"features: unknown key(s) {unknown}; known: {sorted(known)}")
        return cls(**d)


@dataclass
class WorldFeatures:
    f0: np.ndarray  # (T,) Hz, 0 for unvoiced
    spectral: np.ndarray  # (T, spectral_dim) mel-cepstrum or coded envelope
    coded_ap: np.ndarray  # (T, n_bands) coded aperiodicity

    @property
    def num_frames(self) -> int:
        return len(self.f0)


def analyze_f0(x: np.ndarray, cfg: FeatureConfig) -> tuple[np.ndarray, np.ndarray]:
    x = np.ascontiguousarray(x, dtype=np.float64)
    kw = dict(f0_floor=cfg.f0_floor, f0_ceil=cfg.f0_ceil, frame_period=cfg.frame_period)
    if cfg.f0_method == "harvest":
        f0, t = pyworld.harvest(x, cfg.sample_rate, **kw)
    else:
        f0, t = pyworld.dio(x, cfg.sample_rate, **kw)
        f0 = pyworld.stonemask(x, f0, t, cfg.sample_rate)
    return f0, t


def envelope_to_spectral(sp: np.ndarray, cfg: FeatureConfig) -> np.ndarray:
    if cfg.spectral == "mcep":
        return pysptk.sp2mc(sp, order=cfg.spectral_dim - 1, alpha=cfg.alpha)
    return pyworld.code_spectral_envelope(sp, cfg.sample_rate, cfg.spectral_dim)


def spectral_to_envelope(spectral: np.ndarray, cfg: FeatureConfig) -> np.ndarray:
    spectral = np.ascontiguousarray(spectral, dtype=np.float64)
    if cfg.spectral == "mcep":
        return pysptk.mc2sp(spectral, alpha=cfg.alpha, fftlen=cfg.fft_size)
    return pyworld.decode_spectral_envelope(spectral, cfg.sample_rate, cfg.fft_size)


def analyze(x: np.ndarray, cfg: FeatureConfig) -> WorldFeatures:
    """WORLD analysis of a mono float64 waveform at ``cfg.sample_rate``."""
    x = np.ascontiguousarray(x, dtype=np.float64)
    f0, t = analyze_f0(x, cfg)
    sp = pyworld.cheaptrick(x, f0, t, cfg.sample_rate, f0_floor=cfg.f0_floor, fft_size=cfg.fft_size)
    ap = pyworld.d4c(x, f0, t, cfg.sample_rate, fft_size=cfg.fft_size)
    return WorldFeatures(
        f0=f0,
        spectral=envelope_to_spectral(sp, cfg),
        coded_ap=pyworld.code_aperiodicity(ap, cfg.sample_rate),
    )


def synthesize(feats: WorldFeatures, cfg: FeatureConfig) -> np.ndarray:
    """WORLD synthesis back to a float64 waveform."""
    sp = spectral_to_envelope(feats.spectral, cfg)
    ap = pyworld.decode_aperiodicity(
        np.ascontiguousarray(feats.coded_ap, dtype=np.float64), cfg.sample_rate, cfg.fft_size
    )
    f0 = np.ascontiguousarray(feats.f0, dtype=np.float64)
    return pyworld.synthesize(f0, sp, ap, cfg.sample_rate, cfg.frame_period)
