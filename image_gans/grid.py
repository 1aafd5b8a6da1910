"""Image grids for TensorBoard and evaluation reports."""
from __future__ import annotations

import numpy as np
import torch


def make_grid(rows: list[torch.Tensor], pad: int = 2) -> np.ndarray:
    """Rows of image batches (each (n, c, h, w) in [-1, 1], same n, h, w) as one (3, H, W)
    array in [0, 1]; one-channel images are shown in grey."""
    rows = [r.detach().float().cpu().clamp(-1, 1).add(1).div(2) for r in rows]
    rows = [r.expand(-1, 3, -1, -1) if r.shape[1] == 1 else r for r in rows]
    n, _, h, w = rows[0].shape
    grid = np.ones((3, len(rows) * (h + pad) + pad, n * (w + pad) + pad), dtype=np.float32)
    for i, r in enumerate(rows):
        for j in range(n):
            y, x = pad + i * (h + pad), pad + j * (w + pad)
            grid[:, y:y + h, x:x + w] = r[j].numpy()
    return grid


def save_grid(path, rows: list[torch.Tensor]) -> None:
    save_array(path, make_grid(rows))


def save_array(path, grid: np.ndarray) -> None:
    """A (3, H, W) grid in [0, 1] as a PNG."""
    from PIL import Image

    Image.fromarray((grid.transpose(1, 2, 0) * 255).round().astype(np.uint8)).save(path)
