"""Image (aliasing) components of a waveform filter, measured on a sweep of steady tones.

A time-invariant filter, linear or not, maps a tone of frequency f to energy at multiples of f
only (at a sample rate that is a multiple of f, the multiples above Nyquist fold onto multiples
again). A generator that decimates and upsamples (WaveCycleGAN's strided layers, its 1D
pixel shuffle) is periodically time-varying instead and puts energy at ``k * f + m * sr / s``
for its stride s: the image components. Their share of the output energy, per tone, is what
:func:`tone_sweep` reports.
"""
from __future__ import annotations

import numpy as np

# tones f = sr / k, k whole, so that every harmonic falls on an FFT bin of whole periods, and k
# odd, so that the images of a stride-2 or stride-4 resampler (at m sr / 4 +- f) fall between them
SWEEP_DIVISORS = (79, 41, 31, 21, 15, 11, 9, 7, 5, 3)


def off_harmonic_share(y: np.ndarray, period: int) -> float:
    """Share of the energy of ``y`` (a whole number of ``period``-sample periods, rectangular
    window, so no leakage) outside the bins of the tone's harmonics."""
    spec = np.abs(np.fft.rfft(y)) ** 2
    periods = len(y) // period
    on = spec[::periods].sum()
    total = spec.sum()
    return float((total - on) / max(total, 1e-30))


def tone_sweep(filter_wave, sample_rate: int, amplitude: float = 0.1, seconds: float = 1.0,
               divisors=SWEEP_DIVISORS) -> dict:
    """``filter_wave(x) -> y`` (same length) applied to one steady tone per frequency
    ``sample_rate / k``; per tone, the output energy off the tone's harmonics as a share and in dB,
    measured over whole periods in the middle half (away from the edges), and their energy mean."""
    n = int(seconds * sample_rate)
    t = np.arange(n)
    rows = {}
    for k in divisors:
        x = amplitude * np.sin(2 * np.pi * t / k)
        y = np.asarray(filter_wave(x), dtype=np.float64)
        start = (n // 4) // k * k
        length = (n // 2) // k * k
        share = off_harmonic_share(y[start:start + length], k)
        rows[f"{sample_rate / k:.0f}"] = {"share": share, "db": float(10 * np.log10(max(share, 1e-30)))}
    mean = float(np.mean([r["share"] for r in rows.values()]))
    return {"tones_hz": rows, "mean_share": mean, "mean_db": float(10 * np.log10(max(mean, 1e-30))),
            "amplitude": amplitude}
