"""Building blocks shared by the speech and image networks."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ConfigError


class GLU(nn.Module):
    """Gated linear unit over channels: split into (a, b) and return a * sigmoid(b)."""

    def forward(self, x):
        a, b = x.chunk(2, dim=1)
        return a * torch.sigmoid(b)


def _norm(kind: str, dim: int, channels: int) -> nn.Module:
    if kind == "instance":
        return (nn.InstanceNorm1d if dim == 1 else nn.InstanceNorm2d)(channels, affine=True)
    if kind == "batch":
        return (nn.BatchNorm1d if dim == 1 else nn.BatchNorm2d)(channels)
    if kind == "none":
        return nn.Identity()
    raise ValueError(f"unknown normalisation {kind!r}")


class GatedConv(nn.Sequential):
    """Conv producing 2*out channels -> norm -> GLU: ``out`` gated channels.

    One convolution with doubled width is the same function as the separate
    'value' and 'gate' convolutions of the gated CNN papers, in one GEMM.
    """

    def __init__(self, dim: int, in_ch: int, out_ch: int, kernel, stride=1, padding=None, norm="instance"):
        conv = nn.Conv1d if dim == 1 else nn.Conv2d
        if padding is None:
            padding = tuple(k // 2 for k in kernel) if isinstance(kernel, tuple) else kernel // 2
        super().__init__(conv(in_ch, 2 * out_ch, kernel, stride, padding), _norm(norm, dim, 2 * out_ch), GLU())


class PixelShuffle1d(nn.Module):
    """(B, C*r, T) -> (B, C, T*r) with out[:, c, t*r + i] = in[:, c*r + i, t] (frames interleaved)."""

    def __init__(self, factor: int):
        super().__init__()
        self.factor = factor

    def forward(self, x):
        b, cr, t = x.shape
        r = self.factor
        return x.view(b, cr // r, r, t).permute(0, 1, 3, 2).reshape(b, cr // r, t * r)


class GatedUpsample(nn.Module):
    """Conv -> pixel shuffle (1D or 2D, factor 2) -> norm -> GLU."""

    def __init__(self, dim: int, in_ch: int, out_ch: int, kernel, norm="instance"):
        super().__init__()
        r = 2 ** dim  # channels consumed per output channel by the shuffle
        conv = nn.Conv1d if dim == 1 else nn.Conv2d
        padding = tuple(k // 2 for k in kernel) if isinstance(kernel, tuple) else kernel // 2
        self.conv = conv(in_ch, 2 * out_ch * r, kernel, 1, padding)
        self.shuffle = PixelShuffle1d(2) if dim == 1 else nn.PixelShuffle(2)
        self.norm = _norm(norm, dim, 2 * out_ch)
        self.glu = GLU()

    def forward(self, x):
        return self.glu(self.norm(self.shuffle(self.conv(x))))


class ResidualBlock1d(nn.Module):
    """x + IN(conv(GLU-conv(x))): the gated residual block of CycleGAN-VC/VC2."""

    def __init__(self, channels: int, hidden: int, kernel: int = 3):
        super().__init__()
        self.gated = GatedConv(1, channels, hidden, kernel)
        self.conv = nn.Conv1d(hidden, channels, kernel, padding=kernel // 2)
        self.norm = nn.InstanceNorm1d(channels, affine=True)

    def forward(self, x):
        return x + self.norm(self.conv(self.gated(x)))


def pad_time(x: torch.Tensor, multiple: int) -> tuple[torch.Tensor, int]:
    """Pad the last (time) axis of a (B, C, T) tensor up to a multiple; returns it and T."""
    n = x.shape[-1]
    extra = (-n) % multiple
    if extra == 0:
        return x, n
    return F.pad(x, (0, extra), mode="reflect" if n > extra else "replicate"), n


def zero_init(layer: nn.Module) -> nn.Module:
    """Zero weights and bias: a residual branch ending here starts as the identity map."""
    nn.init.zeros_(layer.weight)
    nn.init.zeros_(layer.bias)
    return layer


class TwoOneTwoD(nn.Module):
    """The 2-1-2D network of CycleGAN-VC2 around a pluggable 1D middle.

    2D gated conv (c) -> two stride-2 gated 2D downsamplings (2c, 2c) -> 1x1 conv to
    1D (2c channels, frames/4) -> ``middle`` -> 1x1 conv back to 2D -> two gated
    pixel-shuffle upsamplings (2c, c) -> 2D conv to one channel. Widths count the
    gated outputs, as in the papers (each gated layer computes value and gate).
    With ``residual`` the output is added to the input (the last conv starts at zero).
    """

    def __init__(self, dims: int, channels: int, residual: bool = False):
        super().__init__()
        if dims % 4:
            raise ConfigError(f"features.spectral_dim: the 2-1-2D generator needs a multiple of 4, got {dims}")
        c, q = channels, dims // 4
        self.residual = residual
        self.inp = GatedConv(2, 1, c, (5, 15), norm="none")
        self.down = nn.Sequential(GatedConv(2, c, 2 * c, (5, 5), stride=2), GatedConv(2, 2 * c, 2 * c, (5, 5), stride=2))
        self.to_1d = nn.Sequential(nn.Conv1d(2 * c * q, 2 * c, 1), nn.InstanceNorm1d(2 * c, affine=True))
        self.to_2d = nn.Sequential(nn.Conv1d(2 * c, 2 * c * q, 1), nn.InstanceNorm1d(2 * c * q, affine=True))
        self.up = nn.Sequential(GatedUpsample(2, 2 * c, 2 * c, (5, 5)), GatedUpsample(2, 2 * c, c, (5, 5)))
        self.out = nn.Conv2d(c, 1, (5, 15), padding=(2, 7))
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


def gated_patch_trunk(channels: int) -> nn.Sequential:
    """The gated 2D conv stack of the CycleGAN-VC2 PatchGAN (c, 2c, 4c, 8c, 8c); input (B, 1, Q, T)."""
    c = channels
    return nn.Sequential(
        GatedConv(2, 1, c, (3, 3), norm="none"),
        GatedConv(2, c, 2 * c, (3, 3), stride=2),
        GatedConv(2, 2 * c, 4 * c, (3, 3), stride=2),
        GatedConv(2, 4 * c, 8 * c, (3, 3), stride=2),
        GatedConv(2, 8 * c, 8 * c, (1, 5)),
    )
