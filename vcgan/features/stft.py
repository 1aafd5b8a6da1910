"""STFT log-amplitude spectrograms, their inversion, and frequency-band split/merge.

Spectrograms are ``(frames, bins)`` arrays of natural-log amplitude (``log(|X| + floor)``)
with the phase kept beside them, so a processed amplitude can be put back on the input's
own phase (exact when nothing changed) or on a Griffin-Lim estimate.

Band split/merge is normalised overlap-add over frequency: each band carries a weight per
bin (1 in its core, a ramp over each overlap with a neighbour), and merging divides the
weighted sum by the summed weights, so ``band_merge(band_split(S))`` is ``S`` exactly for
any layout, even or not, and processed bands blend over their overlaps without seams.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields

import numpy as np

from ..errors import ConfigError

AMPLITUDE_FLOOR = 1e-5


@dataclass(frozen=True)
class STFTConfig:
    sample_rate: int = 16000
    n_fft: int = 512
    win_length: int = 400  # 25 ms at 16 kHz
    hop_length: int = 80  # 5 ms: the WORLD frame period

    def __post_init__(self):
        if not 0 < self.win_length <= self.n_fft:
            raise ConfigError(f"stft.win_length: {self.win_length} must be in (0, n_fft={self.n_fft}]")
        if not 0 < self.hop_length <= self.win_length:
            raise ConfigError(f"stft.hop_length: {self.hop_length} must be in (0, win_length={self.win_length}]")

    @property
    def bins(self) -> int:
        return self.n_fft // 2 + 1

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "STFTConfig":
        unknown = sorted(set(d) - {f.name for f in fields(cls)})
        if unknown:
            raise ConfigError(f"stft: unknown key(s) {unknown}")
        return cls(**d)


def stft_analyze(x: np.ndarray, cfg: STFTConfig) -> tuple[np.ndarray, np.ndarray]:
    """(log-amplitude, phase), each (frames, bins)."""
    import librosa

    spec = librosa.stft(np.asarray(x, dtype=np.float64), n_fft=cfg.n_fft, hop_length=cfg.hop_length,
                        win_length=cfg.win_length, window="hann", center=True)
    return np.log(np.abs(spec) + AMPLITUDE_FLOOR).T, np.angle(spec).T


def stft_synthesize(logamp: np.ndarray, phase: np.ndarray | None, cfg: STFTConfig, length: int | None = None,
                    griffin_lim_iters: int = 32) -> np.ndarray:
    """Waveform from log-amplitude on ``phase`` (frames, bins), or on Griffin-Lim's estimate when ``phase`` is None."""
    import librosa

    amp = np.maximum(np.exp(np.asarray(logamp, dtype=np.float64)) - AMPLITUDE_FLOOR, 0.0).T
    kw = dict(hop_length=cfg.hop_length, win_length=cfg.win_length, window="hann", center=True, length=length)
    if phase is None:
        # a fixed start for the random phase: the same input gives the same waveform
        return librosa.griffinlim(amp, n_iter=griffin_lim_iters, n_fft=cfg.n_fft, random_state=0, **kw)
    if phase.shape != logamp.shape:
        raise ValueError(f"phase {phase.shape} and log-amplitude {logamp.shape} differ in shape")
    return librosa.istft(amp * np.exp(1j * np.asarray(phase).T), n_fft=cfg.n_fft, **kw)


@dataclass(frozen=True)
class BandLayout:
    """Frequency bands as half-open bin ranges ``[start, stop)``, sorted, covering ``0..bins``."""

    bins: int
    edges: tuple[tuple[int, int], ...]

    def __post_init__(self):
        e = self.edges
        if not e:
            raise ConfigError("band layout: no bands")
        if e[0][0] != 0 or e[-1][1] != self.bins:
            raise ConfigError(f"band layout {list(e)}: bands must cover bins 0..{self.bins}")
        for (a0, a1), (b0, b1) in zip(e, e[1:]):
            if not (a0 < b0 and a1 < b1):
                raise ConfigError(f"band layout {list(e)}: bands must be sorted, each starting and ending after the previous")
            if b0 > a1:
                raise ConfigError(f"band layout {list(e)}: bins {a1}..{b0 - 1} belong to no band")
        if any(b - a < 1 for a, b in e):
            raise ConfigError(f"band layout {list(e)}: empty band")

    @classmethod
    def even(cls, bins: int, n_bands: int, overlap: int) -> "BandLayout":
        """``n_bands`` bands of (near-)equal core width; neighbours share ``overlap`` bins."""
        if n_bands < 1 or overlap < 0:
            raise ConfigError(f"band layout: n_bands={n_bands} must be >= 1 and overlap={overlap} >= 0")
        cuts = [round(i * bins / n_bands) for i in range(n_bands + 1)]
        lo, hi = overlap // 2, overlap - overlap // 2
        edges = tuple((max(0, cuts[i] - (lo if i else 0)), min(bins, cuts[i + 1] + (hi if i < n_bands - 1 else 0)))
                      for i in range(n_bands))
        if any(cuts[i + 1] - cuts[i] <= overlap for i in range(n_bands)) and n_bands > 1:
            raise ConfigError(f"band layout: {n_bands} bands of {bins} bins are too narrow for an overlap of {overlap}")
        return cls(bins, edges)

    @classmethod
    def from_config(cls, bins: int, n_bands: int = 4, overlap: int = 16, edges=None) -> "BandLayout":
        if edges:
            return cls(bins, tuple((int(a), int(b)) for a, b in edges))
        return cls.even(bins, n_bands, overlap)

    @property
    def widths(self) -> list[int]:
        return [b - a for a, b in self.edges]

    def weights(self) -> list[np.ndarray]:
        """Per-band bin weights: 1 in the core, a raised-sine ramp across each overlap (never 0)."""
        out = []
        for i, (a, b) in enumerate(self.edges):
            w = np.ones(b - a)
            if i > 0:
                left = self.edges[i - 1][1] - a  # bins shared with the band below
                if left > 0:
                    w[:left] = np.sin(0.5 * np.pi * (np.arange(left) + 0.5) / left) ** 2
            if i < len(self.edges) - 1:
                right = b - self.edges[i + 1][0]
                if right > 0:
                    w[b - a - right:] = np.cos(0.5 * np.pi * (np.arange(right) + 0.5) / right) ** 2
            out.append(w)
        return out


def band_split(spec, layout: BandLayout) -> list:
    """Slices ``spec[..., start:stop]`` per band (numpy arrays or torch tensors)."""
    if spec.shape[-1] != layout.bins:
        raise ValueError(f"spectrogram has {spec.shape[-1]} bins, the band layout {layout.bins}")
    return [spec[..., a:b] for a, b in layout.edges]


def band_merge(bands, layout: BandLayout):
    """Normalised overlap-add of per-band spectra back to ``layout.bins`` bins."""
    if len(bands) != len(layout.edges):
        raise ValueError(f"{len(bands)} bands given, the layout has {len(layout.edges)}")
    is_torch = not isinstance(bands[0], np.ndarray)
    weights = layout.weights()
    total_w = np.zeros(layout.bins)
    for (a, b), w in zip(layout.edges, weights):
        total_w[a:b] += w
    if is_torch:
        import torch

        ref = bands[0]
        out = torch.zeros(*ref.shape[:-1], layout.bins, dtype=ref.dtype, device=ref.device)
        for (a, b), w, band in zip(layout.edges, weights, bands):
            out[..., a:b] += band * torch.as_tensor(w / total_w[a:b], dtype=ref.dtype, device=ref.device)
        return out
    out = np.zeros((*bands[0].shape[:-1], layout.bins), dtype=np.result_type(bands[0].dtype, np.float64))
    for (a, b), w, band in zip(layout.edges, weights, bands):
        out[..., a:b] += band * (w / total_w[a:b])
    return out
