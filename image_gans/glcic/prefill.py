"""How the hole is filled before the completion network sees it: the training mean (the
paper), or an interpolation of the pixels around the hole on which the network then learns a
correction: the membrane (harmonic) fill, the thin-plate (biharmonic) fill, or the biharmonic
fill with the harmonic one beside it as a second input (``model.prefill``)."""
from __future__ import annotations

import torch
import torch.nn.functional as F

PREFILLS = ("mean", "harmonic", "biharmonic", "biharmonic+harmonic")

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


def _laplacian(u: torch.Tensor) -> torch.Tensor:
    """The 4-neighbour graph Laplacian of the pixel grid (the image's edges reflect): a
    symmetric operator, so the thin-plate energy's gradient is ``_laplacian(_laplacian(u))``."""
    p = F.pad(u, (1, 1, 1, 1), mode="replicate")
    return p[..., :-2, 1:-1] + p[..., 2:, 1:-1] + p[..., 1:-1, :-2] + p[..., 1:-1, 2:] - 4 * u


def _windows(mask: torch.Tensor, margin: int = 2):
    """Per image, the corner of one square window (the same side for the whole batch) that
    holds its hole and ``margin`` pixels around it, kept inside the image: what the thin-plate
    solve needs to see (its stencil reaches two pixels)."""
    h, w = mask.shape[-2:]
    hole = mask[:, 0] > 0.5

    def span(any_along: torch.Tensor, length: int):
        idx = torch.arange(length, device=mask.device).expand_as(any_along)
        lo = torch.where(any_along, idx, length).min(1).values
        hi = torch.where(any_along, idx, -1).max(1).values
        return lo, hi

    r0, r1 = span(hole.any(2), h)
    c0, c1 = span(hole.any(1), w)
    sides = (torch.maximum(r1 - r0, c1 - c0).clamp_min(0) + 1 + 2 * margin).clamp_max(max(h, w))
    side = int(sides.max())
    sh, sw = min(side, h), min(side, w)
    top = (r0 - margin).clamp(0, h - sh)
    left = (c0 - margin).clamp(0, w - sw)
    rows = top[:, None] + torch.arange(sh, device=mask.device)
    cols = left[:, None] + torch.arange(sw, device=mask.device)
    return rows[:, :, None], cols[:, None, :], sides


@torch.no_grad()
def biharmonic_fill(x: torch.Tensor, mask: torch.Tensor, iters: int | None = None,
                    harmonic: torch.Tensor | None = None) -> torch.Tensor:
    """``x`` (n, c, h, w) with the pixels where ``mask`` (n, 1, h, w) is 1 replaced by the
    thin-plate (biharmonic) interpolation of the known pixels: the fill that minimises the
    summed squared Laplacian, what ``skimage.restoration.inpaint_biharmonic`` computes. Solved
    by conjugate gradients from the harmonic fill, each image and channel on its own, on a
    window around each hole (the batch's largest hole plus the two pixels the stencil reaches);
    ``iters`` steps, by default three per pixel of the side of the image's own hole plus those
    two pixels (within about one grey level of the converged fill on average: a slightly
    smoother fill), so that an image's fill does not depend on the rest of its batch. Known
    pixels come back exactly; float32, outside autocast; about 7 ms per 64-px image with a hole
    of a quarter to a half of its side. ``harmonic``: ``harmonic_fill(x, mask)`` where the
    caller has it already (the starting point)."""
    with torch.autocast(x.device.type, enabled=False):
        x = x.float()
        if not bool((mask > 0.5).any()):
            return x.clone()
        rows, cols, sides = _windows(mask)
        steps = (3 * sides if iters is None else torch.full_like(sides, iters)).view(-1, 1, 1, 1)
        batch = torch.arange(x.shape[0], device=x.device)[:, None, None]
        start = harmonic_fill(x, mask) if harmonic is None else harmonic.float()
        u = start.permute(0, 2, 3, 1)[batch, rows, cols].permute(0, 3, 1, 2)
        mw = mask.float().permute(0, 2, 3, 1)[batch, rows, cols].permute(0, 3, 1, 2)
        hole = (mw > 0.5).to(x.dtype).expand_as(u)
        r = -_laplacian(_laplacian(u)) * hole
        p = r.clone()
        rs = (r * r).sum((2, 3), keepdim=True)
        for k in range(int(steps.max())):
            active = k < steps
            ap = _laplacian(_laplacian(p)) * hole
            a = torch.where(active, rs / (p * ap).sum((2, 3), keepdim=True).clamp_min(1e-30), 0.0)
            u = u + a * p
            r = r - a * ap
            rs_new = (r * r).sum((2, 3), keepdim=True)
            p = torch.where(active, r + rs_new / rs.clamp_min(1e-30) * p, p)
            rs = torch.where(active, rs_new, rs)
        out = x.permute(0, 2, 3, 1).clone()
        out[batch, rows, cols] = u.permute(0, 2, 3, 1)
        return torch.where(mask > 0.5, out.permute(0, 3, 1, 2), x).clamp(-1.0, 1.0)


def prefill_inputs(kind: str, x: torch.Tensor, mask: torch.Tensor, mean: torch.Tensor) -> list[torch.Tensor]:
    """What the completion network sees of the image for ``model.prefill`` = ``kind``: the
    filled image its output starts from (a correction of it, except with the mean fill), and
    for ``biharmonic+harmonic`` the harmonic fill as a second input."""
    if kind == "mean":
        return [x * (1 - mask) + mean.to(x.dtype) * mask]
    if kind == "harmonic":
        return [harmonic_fill(x, mask).to(x.dtype)]
    if kind == "biharmonic":
        return [biharmonic_fill(x, mask).to(x.dtype)]
    if kind == "biharmonic+harmonic":
        harmonic = harmonic_fill(x, mask)
        return [biharmonic_fill(x, mask, harmonic=harmonic).to(x.dtype), harmonic.to(x.dtype)]
    raise ValueError(f"model.prefill: one of {', '.join(PREFILLS)}, got {kind!r}")
