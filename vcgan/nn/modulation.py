"""Distribution-level losses on feature trajectories, shared by the speech postfilters."""
from __future__ import annotations

import torch


def modulation_loss(fake: torch.Tensor, real: torch.Tensor, skip: int = 0) -> torch.Tensor:
    """Squared log distance between the batch modulation spectra of two ``(batch, 1, frames, dims)``
    tensors, dims ``skip:`` (Takamichi et al.'s modulation spectrum, as the MS distance measures it:
    each crop's trajectories with their mean removed, Hann-windowed, power over the batch; the
    DC row is left out). In squared nepers of power, averaged over modulation frequencies and dims."""
    f, r = fake[..., skip:].float(), real[..., skip:].float()
    window = torch.hann_window(f.shape[2] + 2, periodic=False, device=f.device, dtype=f.dtype)[1:-1, None]

    def power(z):
        z = (z - z.mean(2, keepdim=True)) * window
        return (torch.fft.rfft(z, dim=2).abs() ** 2).mean((0, 1))[1:]  # (frequencies, dims)

    return _squared_log_ratio(power(f), power(r))


def gv_loss(fake: torch.Tensor, real: torch.Tensor, skip: int = 0) -> torch.Tensor:
    """Squared log ratio of the global variances of two ``(batch, 1, frames, dims)`` tensors, dims
    ``skip:``: each crop's variance over frames, averaged over the batch, per dim (the GV the
    log-GV distance measures, as a batch statistic); averaged over dims."""
    f, r = fake[..., skip:].float(), real[..., skip:].float()
    return _squared_log_ratio(f.var(2, unbiased=False).mean((0, 1)), r.var(2, unbiased=False).mean((0, 1)))


def _squared_log_ratio(a: torch.Tensor, b: torch.Tensor, tiny: float = 1e-8) -> torch.Tensor:
    return ((torch.log(a + tiny) - torch.log(b + tiny)) ** 2).mean()
