"""Layers the voice-conversion families share: the 2-1-2D generator body of
CycleGAN-VC2 (StarGAN-VC2 reuses it with other 1D blocks) and the gated PatchGAN trunk."""
from __future__ import annotations

import torch
from torch import nn

from ...errors import ConfigError
from ...nn import GatedConv, GatedUpsample, NarrowConv2d, pad_time, zero_init


class TwoOneTwoD(nn.Module):
    """The 2-1-2D network of CycleGAN-VC2 around a pluggable 1D middle.

    2D gated conv (c) -> two stride-2 gated 2D downsamplings (2c, 2c) -> 1x1 conv to
    1D (2c channels, frames/4) -> ``middle`` -> 1x1 conv back to 2D -> two gated
    pixel-shuffle upsamplings (2c, c) -> 2D conv to one channel. Widths count the
    gated outputs, as in the papers (each gated layer computes value and gate).
    With ``residual`` the output is added to the input (the last conv starts at zero).
    ``middle_channels`` sets the 1D width apart from the 2D one (default 2c, as in the papers).
    """

    def __init__(self, dims: int, channels: int, residual: bool = False, middle_channels: int | None = None):
        super().__init__()
        if dims % 4:
            raise ConfigError(f"features.spectral_dim: the 2-1-2D generator needs a multiple of 4, got {dims}")
        c, q = channels, dims // 4
        self.residual = residual
        self.inp = GatedConv(2, 1, c, (5, 15), norm="none")
        self.down = nn.Sequential(GatedConv(2, c, 2 * c, (5, 5), stride=2), GatedConv(2, 2 * c, 2 * c, (5, 5), stride=2))
        m = middle_channels or 2 * c
        self.to_1d = nn.Sequential(nn.Conv1d(2 * c * q, m, 1), nn.InstanceNorm1d(m, affine=True))
        self.to_2d = nn.Sequential(nn.Conv1d(m, 2 * c * q, 1), nn.InstanceNorm1d(2 * c * q, affine=True))
        self.up = nn.Sequential(GatedUpsample(2, 2 * c, 2 * c, (5, 5)), GatedUpsample(2, 2 * c, c, (5, 5)))
        self.out = NarrowConv2d(c, 1, (5, 15), padding=(2, 7))
        if residual:
            zero_init(self.out)

    @property
    def middle_channels(self) -> int:
        return self.to_1d[0].out_channels

    def forward(self, x: torch.Tensor, middle) -> torch.Tensor:
        xp, frames = pad_time(x, 4)
        h = self.down(self.inp(xp.unsqueeze(1)))
        b, ch, q, t = h.shape
        h = self.to_2d(middle(self.to_1d(h.reshape(b, ch * q, t))))
        y = self.out(self.up(h.reshape(b, ch, q, t))).squeeze(1)[..., :frames]
        return x + y if self.residual else y


def gated_patch_trunk(channels: int, in_channels: int = 1) -> nn.Sequential:
    """The gated 2D conv stack of the CycleGAN-VC2 PatchGAN (c, 2c, 4c, 8c, 8c); input (B, in_channels, Q, T)."""
    c = channels
    return nn.Sequential(
        GatedConv(2, in_channels, c, (3, 3), norm="none"),
        GatedConv(2, c, 2 * c, (3, 3), stride=2),
        GatedConv(2, 2 * c, 4 * c, (3, 3), stride=2),
        GatedConv(2, 4 * c, 8 * c, (3, 3), stride=2),
        GatedConv(2, 8 * c, 8 * c, (1, 5)),
    )


def with_segment_moments(x: torch.Tensor) -> torch.Tensor:
    """(B, Q, T) features -> (B, 3, Q, T): the features, and each dimension's mean and
    standard deviation over the segment's frames as constant maps.

    A discriminator fed these sees a segment's per-dimension moments in its first layer,
    whatever its receptive field and however its instance norms rescale the maps."""
    mean = x.mean(-1, keepdim=True)
    std = (x.float().var(-1, keepdim=True, unbiased=False) + 1e-5).sqrt().to(x.dtype)
    return torch.stack([x, mean.expand_as(x), std.expand_as(x)], 1)
