"""Figures people would rather look at than read: spectrogram comparisons."""
from __future__ import annotations

from pathlib import Path

import numpy as np


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def spectrogram_figure(panels: list[tuple[str, np.ndarray]], sample_rate: int, hop_s: float = 0.005):
    """One row per (title, log-magnitude spectral envelope [frames, bins]) panel."""
    plt = _pyplot()
    fig, axes = plt.subplots(len(panels), 1, figsize=(10, 2.4 * len(panels)), squeeze=False)
    for ax, (title, spec) in zip(axes[:, 0], panels):
        spec = np.asarray(spec)
        extent = [0, spec.shape[0] * hop_s, 0, sample_rate / 2000]
        ax.imshow(spec.T, origin="lower", aspect="auto", extent=extent, cmap="magma")
        ax.set_title(title, fontsize=10)
        ax.set_ylabel("kHz")
    axes[-1, 0].set_xlabel("time [s]")
    fig.tight_layout()
    return fig


def save_figure(fig, path) -> Path:
    plt = _pyplot()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
