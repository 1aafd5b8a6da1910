"""Measures postfilters are judged by: global variance, modulation spectrum, log-spectral distance.

Inputs are feature trajectories, one ``(frames, dims)`` array per utterance (mel-cepstra or
log-amplitude spectra), always in natural-log units as the features store them.

* **GV** (global variance): each utterance's variance over time, per dimension, averaged
  over utterances. Over-smoothed speech has too little. The distance to natural speech is
  the RMS over dimensions of the difference of the natural logs of the GVs.
* **MS** (modulation spectrum, Takamichi et al.): the power spectrum of each dimension's
  trajectory (its utterance mean removed), in dB, over Hann-windowed segments of
  ``ms_frames`` frames with half-segment hops (utterances shorter than one segment are
  zero-padded), averaged over segments and utterances: an ``(ms_frames // 2 + 1, dims)``
  array whose row ``k`` is the modulation frequency ``k * frame_rate / ms_frames``.
  The distance is the RMS over modulation frequencies, averaged over dimensions, in dB.
* **LSD** (log-spectral distance) between two frame-aligned log-amplitude spectrograms:
  per frame the RMS over frequency bins of the difference in dB, averaged over frames.
* **GV scaling** (variance scaling, Silen et al. 2012): the standard non-learned
  postfilter, scaling each utterance's deviation from its mean so that its variance
  becomes the natural GV.
"""
from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np

NEPER_TO_DB = 20.0 / np.log(10.0)  # natural-log amplitude -> dB
MS_FRAMES = 128  # 0.64 s at 5 ms frames: 1.56 Hz modulation resolution


def _trajectories(trajs: Iterable[np.ndarray]) -> list[np.ndarray]:
    out = [np.asarray(t, dtype=np.float64) for t in trajs]
    if not out:
        raise ValueError("no utterances given")
    dims = {t.shape[1] if t.ndim == 2 else None for t in out}
    if None in dims or len(dims) != 1:
        raise ValueError(f"trajectories must be (frames, dims) arrays of one width; got shapes {[t.shape for t in out][:4]}")
    return out


def global_variance(trajs: Iterable[np.ndarray]) -> np.ndarray:
    """Per-utterance variance over time, per dimension, averaged over utterances: (dims,)."""
    return np.mean([t.var(axis=0) for t in _trajectories(trajs)], axis=0)


def log_gv_distance(gv: np.ndarray, gv_ref: np.ndarray, dims: slice = slice(1, None)) -> float:
    """RMS over ``dims`` (default: all but c0) of ln(gv) - ln(gv_ref)."""
    a, b = np.asarray(gv, dtype=np.float64)[dims], np.asarray(gv_ref, dtype=np.float64)[dims]
    tiny = np.finfo(np.float64).tiny
    return float(np.sqrt(np.mean((np.log(np.maximum(a, tiny)) - np.log(np.maximum(b, tiny))) ** 2)))


def modulation_spectrum(trajs: Iterable[np.ndarray], ms_frames: int = MS_FRAMES) -> np.ndarray:
    """Average modulation spectrum in dB, (ms_frames // 2 + 1, dims); see the module docstring."""
    parts = [modulation_power(t, ms_frames) for t in _trajectories(trajs)]
    return power_to_db(sum(p for p, _ in parts), sum(c for _, c in parts))


def modulation_power(traj: np.ndarray, ms_frames: int = MS_FRAMES) -> tuple[np.ndarray, int]:
    """One utterance's summed modulation power over its segments, and the number of segments:
    :func:`modulation_spectrum` of a set is :func:`power_to_db` of their sums."""
    if ms_frames < 4:
        raise ValueError(f"ms_frames must be >= 4, got {ms_frames}")
    window = np.hanning(ms_frames + 2)[1:-1]  # strictly positive
    hop = ms_frames // 2
    t = np.asarray(traj, dtype=np.float64)
    centred = t - t.mean(axis=0)
    if len(centred) < ms_frames:
        centred = np.pad(centred, ((0, ms_frames - len(centred)), (0, 0)))
    starts = range(0, len(centred) - ms_frames + 1, hop)
    segs = np.stack([centred[s:s + ms_frames] for s in starts])  # (n, L, dims)
    power = np.abs(np.fft.rfft(segs * window[None, :, None], axis=1)) ** 2 / (window ** 2).sum()
    return power.sum(axis=0), len(segs)


def power_to_db(total: np.ndarray, count: int) -> np.ndarray:
    return 10.0 * np.log10(np.maximum(total / count, 1e-12))


def modulation_frequencies(ms_frames: int = MS_FRAMES, frame_period_ms: float = 5.0) -> np.ndarray:
    """Modulation frequency [Hz] of each row of :func:`modulation_spectrum`."""
    return np.arange(ms_frames // 2 + 1) * (1000.0 / frame_period_ms) / ms_frames


def ms_distance(ms: np.ndarray, ms_ref: np.ndarray, dims: slice = slice(1, None)) -> float:
    """RMS over modulation frequencies of the dB difference, averaged over ``dims`` (default: all but c0)."""
    diff = np.asarray(ms, dtype=np.float64)[:, dims] - np.asarray(ms_ref, dtype=np.float64)[:, dims]
    return float(np.mean(np.sqrt(np.mean(diff ** 2, axis=0))))


def log_spectral_distance(logamp: np.ndarray, logamp_ref: np.ndarray) -> float:
    """Mean over frames of the per-frame RMS dB difference of two aligned (frames, bins) log-amplitude spectrograms."""
    a, b = np.asarray(logamp, dtype=np.float64), np.asarray(logamp_ref, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"log-spectral distance needs aligned spectrograms, got {a.shape} and {b.shape}")
    return float(np.mean(np.sqrt(np.mean((NEPER_TO_DB * (a - b)) ** 2, axis=1))))


def gv_scaling(traj: np.ndarray, gv_target: np.ndarray, keep: int = 1) -> np.ndarray:
    """Variance scaling: dims from ``keep`` on get the variance ``gv_target`` around the utterance mean."""
    t = np.asarray(traj, dtype=np.float64)
    out = t.copy()
    mean, var = t[:, keep:].mean(axis=0), t[:, keep:].var(axis=0)
    scale = np.sqrt(np.asarray(gv_target, dtype=np.float64)[keep:] / np.maximum(var, 1e-12))
    out[:, keep:] = mean + scale * (t[:, keep:] - mean)
    return out


def postfilter_measures(trajs: Sequence[np.ndarray], natural: Sequence[np.ndarray], ms_frames: int = MS_FRAMES,
                        dims: slice = slice(1, None)) -> dict:
    """GV, log-GV distance, MS and MS distance of ``trajs`` against the ``natural`` set."""
    gv, gv_nat = global_variance(trajs), global_variance(natural)
    ms, ms_nat = modulation_spectrum(trajs, ms_frames), modulation_spectrum(natural, ms_frames)
    return {"gv": gv, "log_gv_distance": log_gv_distance(gv, gv_nat, dims),
            "ms": ms, "ms_distance": ms_distance(ms, ms_nat, dims)}
