"""What a training run writes besides checkpoints: a JSON-lines log, TensorBoard
scalars and media, and a PNG of the loss curves."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

SCALAR_PREFIXES_NOT_LOSSES = ("lr/", "time/", "progress")


class RunLogger:
    """Writes under ``out_dir``; a logger of a non-main rank writes nothing."""

    def __init__(self, out_dir, enabled: bool = True):
        self.out_dir = Path(out_dir)
        self.enabled = enabled
        self._writer = None

    @property
    def log_path(self) -> Path:
        return self.out_dir / "train_log.jsonl"

    @property
    def writer(self):
        if self._writer is None and self.enabled:
            from torch.utils.tensorboard import SummaryWriter

            self._writer = SummaryWriter(str(self.out_dir / "tensorboard"))
        return self._writer

    def scalars(self, step: int, values: dict) -> None:
        if not self.enabled:
            return
        with open(self.log_path, "a") as f:
            f.write(json.dumps({"step": step, **values}) + "\n")
        for k, v in values.items():
            self.writer.add_scalar(k, v, step)

    def media(self, step: int, items: list) -> None:
        """``("audio", tag, array, rate)``, ``("figure", tag, fig)`` or ``("image", tag, array)``
        (CHW or HWC, values in 0..1)."""
        if not self.enabled:
            return
        for item in items:
            kind, tag = item[0], item[1]
            if kind == "audio":
                wav = torch.as_tensor(np.asarray(item[2], dtype=np.float32)).clamp(-1, 1)[None]
                self.writer.add_audio(tag, wav, step, sample_rate=item[3])
            elif kind == "figure":
                self.writer.add_figure(tag, item[2], step)
            elif kind == "image":
                img = np.clip(np.asarray(item[2], dtype=np.float32), 0.0, 1.0)
                if img.ndim == 2:
                    img = img[None]
                fmt = "CHW" if img.shape[0] in (1, 3) else "HWC"
                self.writer.add_image(tag, img, step, dataformats=fmt)
            else:
                raise ValueError(f"unknown media kind {kind!r} for {tag!r}")
        self.writer.flush()

    def plot_curves(self, path=None) -> Path | None:
        """Loss curves from the log as a PNG, one panel per optimizer group."""
        if not self.enabled or not self.log_path.is_file():
            return None
        return plot_training_curves(self.log_path, path or self.out_dir / "training_curves.png")

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None


GROUP_TITLES = {"g": "generator", "d": "discriminator"}


def plot_training_curves(log_path, out_path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [json.loads(line) for line in Path(log_path).read_text().splitlines() if line.strip()]
    keys = list(dict.fromkeys(k for r in rows for k in r))  # losses that stop (identity) stay plotted
    groups: dict[str, list[str]] = {}
    for k in keys:
        if "/" in k and not k.startswith(SCALAR_PREFIXES_NOT_LOSSES):
            groups.setdefault(k.split("/", 1)[0], []).append(k)
    fig, axes = plt.subplots(1, max(1, len(groups)), figsize=(6 * max(1, len(groups)), 4), squeeze=False)
    steps = [r["step"] for r in rows]
    for ax, (group, names) in zip(axes[0], groups.items()):
        for k in names:
            ax.plot(steps, [r.get(k, np.nan) for r in rows], label=k.split("/", 1)[1])
        ax.set_title(f"{GROUP_TITLES.get(group, group)} losses")
        ax.set_xlabel("step")
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    out_path = Path(out_path)
    fig.savefig(out_path, dpi=100)
    plt.close(fig)
    return out_path
