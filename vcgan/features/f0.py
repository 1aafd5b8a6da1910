"""Log-F0 statistics and the log-Gaussian normalised F0 transform."""
from __future__ import annotations

import numpy as np


def log_f0_stats(f0s: list[np.ndarray] | np.ndarray) -> tuple[float, float]:
    """Mean and standard deviation of log F0 over voiced frames (f0 > 0)."""
    if isinstance(f0s, np.ndarray):
        f0s = [f0s]
    voiced = np.concatenate([f[f > 0] for f in f0s]) if f0s else np.zeros(0)
    if voiced.size < 2:
        raise ValueError("log_f0_stats: fewer than 2 voiced frames")
    lf0 = np.log(voiced)
    return float(lf0.mean()), float(lf0.std())


def convert_f0(f0: np.ndarray, source: tuple[float, float], target: tuple[float, float]) -> np.ndarray:
    """Map voiced frames so that source log-F0 mean/std become the target's; unvoiced stay 0."""
    (mu_s, sd_s), (mu_t, sd_t) = source, target
    out = np.zeros_like(f0, dtype=np.float64)
    v = f0 > 0
    out[v] = np.exp((np.log(f0[v]) - mu_s) / sd_s * sd_t + mu_t)
    return out


def interpolate_log_f0(f0: np.ndarray) -> np.ndarray:
    """Continuous log F0: voiced frames' log F0, unvoiced frames linearly interpolated
    between their voiced neighbours (held flat at the ends); zeros if nothing is voiced."""
    f0 = np.asarray(f0, dtype=np.float64)
    v = f0 > 0
    if not v.any():
        return np.zeros_like(f0)
    t = np.arange(len(f0))
    return np.interp(t, t[v], np.log(f0[v]))
