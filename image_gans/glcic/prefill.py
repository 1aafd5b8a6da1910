"""How the hole is filled before the completion network sees it: the training mean (the
paper), or a membrane (harmonic) interpolation of the pixels around the hole, on which the
network then learns a correction (``model.prefill: harmonic``)."""
from __future__ import annotations

import torch
import torch.nn.functional as F

PREFILLS = ("mean", "harmonic")

_NEIGHBOURS = torch.tensor([[0.0, 0.25, 0.0], [0.25, 0.0, 0.25], [0.0, 0.25, 0.0]])


def _jacobi(y: torch.Tensor, values: torch.Tensor, known: torch.Tensor, iters: int) -> torch.Tensor:
    """``iters`` Jacobi sweeps of Laplace's equation inside the unknown pixels (the image's
    edges reflect: replicate padding), the known pixels held at ``values``."""
    c = y.shape[1]
    kernel = _NEIGHBOURS.to(y).view(1, 1, 3, 3).repeat(c, 1, 1, 1)
    for _ in range(iters):
        y = torch.where(known > 0, values, F.conv2d(F.pad(y, (1, 1, 1, 1), mode="replicate"), kernel, groups=c))
    return y


@torch.no_grad()
def harmonic_fill(x: torch.Tensor, mask: torch.Tensor, iters: int = 10, coarse_iters: int = 30) -> torch.Tensor:
    """``x`` (n, c, h, w) with the pixels where ``mask`` (n, 1, h, w) is 1 replaced by the
    harmonic interpolation of the known pixels (each hole pixel the average of its four
    neighbours), solved coarse to fine: a pyramid of mask-weighted 2x2 averages, Laplace
    solved on the coarsest level, each finer level started from the one below (bilinear) and
    relaxed by Jacobi sweeps. Known pixels come back exactly; float32, outside autocast. A
    few milliseconds per 64-px image; an image with no known pixel comes back zero."""
    with torch.autocast(x.device.type, enabled=False):
        x = x.float()
        known = (mask < 0.5).to(x.dtype).expand_as(x[:, :1])
        levels = [(x * known, known)]
        while min(levels[-1][0].shape[-2:]) > 2:
            v, w = levels[-1]
            levels.append((F.avg_pool2d(v, 2), F.avg_pool2d(w, 2)))
        y = None
        for depth, (v, w) in reversed(list(enumerate(levels))):
            finest = depth == 0
            # the coarse levels take any pixel with a known child as known (its known children's
            # average): a starting point only; the finest level holds exactly the known pixels
            have = (w > 0.999 if finest else w > 0).to(x.dtype)
            values = v / w.clamp_min(1e-6) * have
            if y is None:
                mean = v.sum((2, 3), keepdim=True) / w.sum((2, 3), keepdim=True).clamp_min(1e-6)
                y = torch.where(have > 0, values, mean.expand_as(v))
            else:
                y = F.interpolate(y, size=v.shape[-2:], mode="bilinear", align_corners=False)
            y = _jacobi(y, values, have, iters if finest else coarse_iters)
        return torch.where(known > 0, x, y)
