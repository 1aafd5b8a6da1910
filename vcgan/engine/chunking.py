"""Long inputs through a network in overlapping windows, blended by cross-fades.

Memory then stays bounded by the window, whatever the input's length. Each window's
outermost samples (or frames) are disturbed by its edge; the cross-fade gives them no
weight for the first quarter of each overlap, so where that quarter is at least a
network's one-sided receptive field the chunked result equals the whole-input result
(up to float rounding), and nothing jumps at the joins. Voice conversion runs its
feature frames through this; the waveform postfilters their samples.
"""
from __future__ import annotations

from typing import Callable

import torch

Mapping = Callable[[torch.Tensor], torch.Tensor]


def fade_in(overlap: int) -> torch.Tensor:
    """Weights over an overlap: 0 for its first quarter (what a window's edge
    disturbs), a linear ramp across its middle, 1 for its last quarter."""
    margin = overlap // 4
    ramp = torch.zeros(overlap)
    mid = overlap - 2 * margin
    ramp[margin:margin + mid] = torch.linspace(0, 1, mid + 2)[1:-1]
    ramp[margin + mid:] = 1.0
    return ramp


def apply_in_chunks(fn: Mapping, x: torch.Tensor, chunk: int | None, overlap: int, align: int = 1) -> torch.Tensor:
    """``fn`` on ``(..., T)`` whole (``chunk`` None or 0, or ``T <= chunk``), or on windows of
    ``chunk`` along the last axis, overlapping by ``overlap`` and blended by :func:`fade_in`
    cross-fades. ``align``: every window starts at a multiple of it (a network that
    downsamples time by 4 then sees each sample at the phase it has in the whole input)."""
    total = x.shape[-1]
    if not chunk or total <= chunk:
        return fn(x)
    align = max(1, int(align))
    chunk = max(align, chunk - chunk % align)
    overlap = min(max(0, overlap), chunk // 2)
    hop = max(align, (chunk - overlap) - (chunk - overlap) % align)
    overlap = chunk - hop
    out = None
    weight = torch.zeros(total, dtype=torch.float32, device=x.device)
    fade = fade_in(overlap).to(x.device) if overlap else None
    start = 0
    while True:
        end = min(start + chunk, total)
        if end - start < chunk:  # the last window: full length, ending at the input's end, still aligned
            start = max(0, end - chunk)
            start -= start % align
        y = fn(x[..., start:end]).float()
        if out is None:
            out = torch.zeros(*y.shape[:-1], total, dtype=torch.float32, device=x.device)
        w = torch.ones(end - start, device=x.device)
        if overlap and start > 0:
            w[:overlap] = fade
        if overlap and end < total:
            w[-overlap:] = fade.flip(0)
        out[..., start:end] += y * w
        weight[start:end] += w
        if end >= total:
            break
        start += hop
    return out / weight.clamp_min(1e-8)
