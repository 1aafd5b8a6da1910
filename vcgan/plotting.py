"""Figures people would rather look at than read: loss curves and spectrogram comparisons."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_training_curves(log_path, out_path) -> Path:
    rows = [json.loads(line) for line in Path(log_path).read_text().splitlines() if line.strip()]
    plt = _pyplot()
    keys = list(dict.fromkeys(k for r in rows for k in r))  # losses that stop (identity) stay plotted
    groups = {"generator": [k for k in keys if k.startswith("g/")],
              "discriminator": [k for k in keys if k.startswith("d/")]}
    fig, axes = plt.subplots(1, 2, figsize=(12, 4))
    steps = [r["step"] for r in rows]
    for ax, (title, keys) in zip(axes, groups.items()):
        for k in keys:
            ax.plot(steps, [r.get(k, np.nan) for r in rows], label=k.split("/", 1)[1])
        ax.set_title(f"{title} losses")
        ax.set_xlabel("step")
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    out_path = Path(out_path)
    fig.savefig(out_path, dpi=100)
    plt.close(fig)
    return out_path


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
