"""Building blocks shared by the speech and image networks."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class NarrowConv2d(nn.Conv2d):
    """A stride-1 2D convolution to a few output channels (a network's output layer).

    oneDNN's CPU kernels handle 1-4 output channels poorly: the 5x15 output layer
    of the 2-1-2D generators ran at ~2 GFLOP/s and cost ~30% of a StarGAN-VC2
    training step at width 16. The same function computed as the transposed
    convolution with the flipped, transposed kernel (its output side has the
    many channels) is 5-7x faster there (docs/benchmarks.md). The weights, the
    state dict and the result (to float rounding) are those of ``nn.Conv2d``;
    other devices, strides, dilations and groups take the ordinary path.
    """

    def _conv_forward(self, x, weight, bias):
        k, p = self.kernel_size, self.padding
        if (x.device.type != "cpu" or self.stride != (1, 1) or self.dilation != (1, 1) or self.groups != 1
                or self.padding_mode != "zeros" or isinstance(p, str) or p[0] >= k[0] or p[1] >= k[1]):
            return super()._conv_forward(x, weight, bias)
        w = weight.flip(-1, -2).transpose(0, 1)
        return F.conv_transpose2d(x, w, bias, padding=(k[0] - 1 - p[0], k[1] - 1 - p[1]))


class GLU(nn.Module):
    """Gated linear unit over channels: split into (a, b) and return a * sigmoid(b)."""

    def forward(self, x):
        a, b = x.chunk(2, dim=1)
        return a * torch.sigmoid(b)


def norm_layer(kind: str, dim: int, channels: int) -> nn.Module:
    """A normalisation layer by name ("instance", "batch", "none") for 1D or 2D maps."""
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
        super().__init__(conv(in_ch, 2 * out_ch, kernel, stride, padding), norm_layer(norm, dim, 2 * out_ch), GLU())


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
        self.norm = norm_layer(norm, dim, 2 * out_ch)
        self.glu = GLU()

    def forward(self, x):
        return self.glu(self.norm(self.shuffle(self.conv(x))))


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
