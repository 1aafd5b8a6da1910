"""A small statistical acoustic model: frame labels -> acoustic features, trained with MSE.

A stack of 1D convolutions (ReLU, dropout) over the frame sequence, trained on random
crops with the targets z-scored per dimension. Its predictions are the conditional mean
of the data, hence over-smoothed in time and frequency: the speech statistical
parametric synthesis produces and GAN postfilters are made to repair.

:func:`out_of_fold` predicts every training utterance with a model that did not see it
(K folds): predictions on a model's own training data are less smoothed than on new
text, and a postfilter must learn from the kind of input it will get.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn


@dataclass
class AcousticConfig:
    channels: int = 128
    layers: int = 4
    kernel: int = 5
    dropout: float = 0.1
    steps: int = 1000
    lr: float = 1e-3
    batch_size: int = 8
    crop_frames: int = 128
    seed: int = 0


class AcousticModel(nn.Module):
    def __init__(self, in_dim: int, out_dim: int, cfg: AcousticConfig):
        super().__init__()
        layers, c = [], in_dim
        for _ in range(cfg.layers):
            layers += [nn.Conv1d(c, cfg.channels, cfg.kernel, padding=cfg.kernel // 2), nn.ReLU(), nn.Dropout(cfg.dropout)]
            c = cfg.channels
        self.net = nn.Sequential(*layers, nn.Conv1d(c, out_dim, 1))
        self.register_buffer("in_mean", torch.zeros(in_dim))
        self.register_buffer("in_std", torch.ones(in_dim))
        self.register_buffer("out_mean", torch.zeros(out_dim))
        self.register_buffer("out_std", torch.ones(out_dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(batch, frames, in_dim) -> (batch, frames, out_dim), normalised units."""
        return self.net(((x - self.in_mean) / self.in_std).transpose(1, 2)).transpose(1, 2)

    @torch.no_grad()
    def predict(self, x: np.ndarray) -> np.ndarray:
        self.eval()
        y = self(torch.from_numpy(np.asarray(x, np.float32))[None])[0]
        return (y * self.out_std + self.out_mean).numpy().astype(np.float64)


def _stats(arrays):
    """Mean and standard deviation per dimension; a dimension constant in the training data
    gets scale 1, so a value it never took there (a phone unseen in a fold) stays moderate."""
    cat = np.concatenate(arrays).astype(np.float64)
    std = cat.std(0)
    return (torch.tensor(cat.mean(0), dtype=torch.float32),
            torch.tensor(np.where(std < 1e-3, 1.0, std), dtype=torch.float32))


def train_acoustic(inputs: list[np.ndarray], targets: list[np.ndarray], cfg: AcousticConfig | None = None,
                   progress: bool = False, desc: str = "acoustic model") -> AcousticModel:
    """Fit labels -> features on frame-aligned (frames, dims) pairs."""
    from tqdm import tqdm

    cfg = cfg or AcousticConfig()
    if len(inputs) != len(targets) or not inputs:
        raise ValueError("inputs and targets must be non-empty lists of equal length")
    for i, (x, y) in enumerate(zip(inputs, targets)):
        if len(x) != len(y):
            raise ValueError(f"utterance {i}: {len(x)} label frames but {len(y)} feature frames")
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    model = AcousticModel(inputs[0].shape[1], targets[0].shape[1], cfg)
    model.in_mean, model.in_std = _stats(inputs)
    model.out_mean, model.out_std = _stats(targets)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, cfg.steps)
    crop = min(cfg.crop_frames, min(len(x) for x in inputs))
    xs = [torch.from_numpy(np.asarray(x, np.float32)) for x in inputs]
    ys = [(torch.from_numpy(np.asarray(y, np.float32)) - model.out_mean) / model.out_std for y in targets]
    model.train()
    for _ in tqdm(range(cfg.steps), desc=desc, disable=not progress, leave=False):
        picks = rng.integers(0, len(xs), cfg.batch_size)
        starts = [int(rng.integers(0, len(xs[i]) - crop + 1)) for i in picks]
        xb = torch.stack([xs[i][s:s + crop] for i, s in zip(picks, starts)])
        yb = torch.stack([ys[i][s:s + crop] for i, s in zip(picks, starts)])
        loss = torch.nn.functional.mse_loss(model(xb), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    return model.eval()


def fold_indices(n: int, folds: int, seed: int = 0) -> list[list[int]]:
    """A seeded partition of ``range(n)`` into ``folds`` parts."""
    order = np.random.default_rng(seed).permutation(n)
    return [sorted(order[k::folds].tolist()) for k in range(folds)]


def out_of_fold(inputs: list[np.ndarray], targets: list[np.ndarray], folds: int, cfg: AcousticConfig | None = None,
                progress: bool = False) -> list[np.ndarray]:
    """Predictions for every utterance from a model trained on the other folds."""
    n = len(inputs)
    if not 2 <= folds <= n:
        raise ValueError(f"folds must be in [2, {n}], got {folds}")
    preds: list[np.ndarray | None] = [None] * n
    for k, part in enumerate(fold_indices(n, folds, (cfg or AcousticConfig()).seed)):
        held = set(part)
        train = [i for i in range(n) if i not in held]
        model = train_acoustic([inputs[i] for i in train], [targets[i] for i in train], cfg, progress,
                               desc=f"acoustic model, fold {k + 1}/{folds}")
        for i in held:
            preds[i] = model.predict(inputs[i])
    return preds
