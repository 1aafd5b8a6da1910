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


def filter_by_envelope_change(x: np.ndarray, spectral_in: np.ndarray, spectral_out: np.ndarray,
                              cfg: FeatureConfig) -> np.ndarray:
    """Apply the change from ``spectral_in`` to ``spectral_out`` (per-frame envelopes of ``x``,
    WORLD frames) to the waveform itself, instead of resynthesising it.

    Each short-time spectrum of ``x`` (25 ms Hann window, hop = the frame period, FFT of
    WORLD's size) is multiplied by the zero-phase gain sqrt(env_out / env_in) of its frame
    and the frames are overlap-added (window-weighted, so a gain of 1 returns ``x``). For
    mel-cepstra the gain is the amplitude response of the mel-cepstral difference. The
    excitation is the input's own: F0, aperiodicity and timing are untouched, and the
    vocoder's analysis/resynthesis loss is not paid (the differential filtering of
    direct-waveform voice conversion).
    """
    import torch

    x = np.ascontiguousarray(x, dtype=np.float64)
    a, b = (np.ascontiguousarray(s, dtype=np.float64) for s in (spectral_in, spectral_out))
    if a.shape != b.shape:
        raise ValueError(f"envelope change: {a.shape} frames/dims in, {b.shape} out")
    if cfg.spectral == "mcep":
        power_gain = pysptk.mc2sp(b - a, alpha=cfg.alpha, fftlen=cfg.fft_size)
    else:
        power_gain = spectral_to_envelope(b, cfg) / np.maximum(spectral_to_envelope(a, cfg), 1e-300)
    gain = np.sqrt(power_gain)  # (frames, fft_size // 2 + 1)
    hop = int(round(cfg.sample_rate * cfg.frame_period / 1000.0))
    win = min(int(round(cfg.sample_rate * 0.025)), cfg.fft_size)
    window = torch.hann_window(win, dtype=torch.float64)
    spec = torch.stft(torch.from_numpy(x), cfg.fft_size, hop, win, window, center=True, return_complex=True)
    frames = spec.shape[1]
    idx = np.minimum(np.arange(frames), len(gain) - 1)  # WORLD and the STFT may differ by a frame at the end
    spec = spec * torch.from_numpy(gain[idx].T)
    y = torch.istft(spec, cfg.fft_size, hop, win, window, center=True, length=len(x))
    return y.numpy()
