"""GLCIC's networks (Iizuka, Simo-Serra, Ishikawa, SIGGRAPH 2017, Table 1-3), with the widths
and depths scaled to the image size: a completion network of two stride-2 downsamplings,
dilated convolutions and two transposed-conv upsamplings, and one discriminator of a global
branch (the whole image) and a local branch (a crop around the hole) whose fully connected
outputs are concatenated and mapped to one logit."""
from __future__ import annotations

import torch
from torch import nn

PAPER_DILATIONS = (2, 4, 8, 16)


def dilations(map_size: int) -> tuple[int, ...]:
    """The paper's dilation rates (2, 4, 8, 16 on a 64-px feature map of a 256-px image), each
    capped at half the feature map's side: a rate beyond it reads mostly zero padding."""
    return tuple(min(d, max(1, map_size // 2)) for d in PAPER_DILATIONS)


def conv_bn(c_in: int, c_out: int, k: int, stride: int = 1, dilation: int = 1) -> nn.Sequential:
    pad = dilation * (k - 1) // 2
    return nn.Sequential(nn.Conv2d(c_in, c_out, k, stride, pad, dilation=dilation), nn.BatchNorm2d(c_out), nn.ReLU())


def deconv_bn(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(nn.ConvTranspose2d(c_in, c_out, 4, 2, 1), nn.BatchNorm2d(c_out), nn.ReLU())


def resize_conv_bn(c_in: int, c_out: int) -> nn.Sequential:
    """Nearest-neighbour 2x upsampling, then a 3x3 conv: every output pixel sums the same number
    of input taps, so no stride-2 checkerboard pattern (Odena, Dumoulin, Olah, Distill 2016), which a
    4x4 stride-2 transposed conv draws from uneven kernel overlap."""
    return nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(c_in, c_out, 3, 1, 1),
                         nn.BatchNorm2d(c_out), nn.ReLU())


UPSAMPLERS = {"transposed": deconv_bn, "nearest": resize_conv_bn}


class CompletionNetwork(nn.Module):
    """Input: the image with its hole filled (by the training mean in the paper) and the mask
    as one more channel; output: a full image in [-1, 1] (the paper's sigmoid output,
    rescaled). ``width`` is the paper's 64 (first layer; 2x and 4x after the downsamplings).
    ``residual``: the output is the filled input plus the last layer's output, clipped to
    [-1, 1], that layer starting at zero (the network learns a correction of a harmonic
    prefill and starts as that prefill). ``fills``: how many filled images it sees (the first
    is the one its output corrects; a second, e.g. the harmonic fill beside the biharmonic,
    is one more input). ``gate`` (with two fills): one more output channel, a per-pixel weight
    sigmoid(g) that moves the output from the first fill towards the second, starting near
    the first (sigmoid(-3) = 0.05). ``upsample``: the paper's transposed convs, or ``nearest``
    (nearest-neighbour upsampling and a conv)."""

    def __init__(self, channels: int, size: int, width: int = 64, residual: bool = False, fills: int = 1,
                 gate: bool = False, upsample: str = "transposed"):
        super().__init__()
        if gate and (fills != 2 or not residual):
            raise ValueError("a gate between fills needs two fills and a residual output")
        self.residual, self.fills, self.gate = residual, fills, gate
        w1, w2, w4 = width, 2 * width, 4 * width
        up = UPSAMPLERS[upsample]
        self.dilations = dilations(size // 4)
        self.net = nn.Sequential(
            conv_bn(fills * channels + 1, w1, 5),
            conv_bn(w1, w2, 3, 2), conv_bn(w2, w2, 3),
            conv_bn(w2, w4, 3, 2), conv_bn(w4, w4, 3), conv_bn(w4, w4, 3),
            *[conv_bn(w4, w4, 3, dilation=d) for d in self.dilations],
            conv_bn(w4, w4, 3), conv_bn(w4, w4, 3),
            up(w4, w2), conv_bn(w2, w2, 3),
            up(w2, w1), conv_bn(w1, w1 // 2, 3),
            nn.Conv2d(w1 // 2, channels + int(gate), 3, 1, 1),
        )
        if residual:
            nn.init.zeros_(self.net[-1].weight)
            nn.init.zeros_(self.net[-1].bias)
        if gate:
            nn.init.constant_(self.net[-1].bias[channels:], -3.0)

    def forward(self, x_filled: torch.Tensor, mask: torch.Tensor, *more_fills: torch.Tensor) -> torch.Tensor:
        if len(more_fills) != self.fills - 1:
            raise ValueError(f"the completion network sees {self.fills} filled images, got {1 + len(more_fills)}")
        y = self.net(torch.cat([x_filled, *more_fills, mask], 1))
        if self.gate:
            c = x_filled.shape[1]
            x_filled = x_filled + torch.sigmoid(y[:, c:]) * (more_fills[0] - x_filled)
            y = y[:, :c]
        if self.residual:
            return (x_filled + y).clamp(-1.0, 1.0)
        return 2.0 * torch.sigmoid(y) - 1.0


class Branch(nn.Module):
    """5x5 stride-2 convolutions (batch norm, ReLU) down to a 4x4 map, then a fully connected
    layer: the paper's global (six convs on 256 px) and local (five on 128 px) discriminators."""

    def __init__(self, channels: int, size: int, width: int, fc: int, max_width: int):
        super().__init__()
        layers, c, s = [], channels, size
        out = width
        while s > 4:
            layers.append(conv_bn(c, out, 5, 2))
            c, s, out = out, s // 2, min(2 * out, max_width)
        self.convs = nn.Sequential(*layers)
        self.fc = nn.Linear(c * s * s, fc)

    def forward(self, x):
        return self.fc(self.convs(x).flatten(1))


class ContextDiscriminator(nn.Module):
    """The global and local branches; their outputs concatenated and mapped to one logit.

    This is one network, not the engine's multi-view discriminator (a weighted sum of one
    loss per view): the paper's decision is a single classifier over both views' features,
    so evidence from the whole image and from the hole's surroundings is combined before the
    logit, not after."""

    def __init__(self, channels: int, size: int, local: int, width: int = 64, fc: int = 1024, max_width: int = 512):
        super().__init__()
        self.local_size = local
        self.global_branch = Branch(channels, size, width, fc, max_width)
        self.local_branch = Branch(channels, local, width, fc, max_width)
        self.head = nn.Linear(2 * fc, 1)

    def forward(self, x: torch.Tensor, crop: torch.Tensor) -> torch.Tensor:
        """``x`` (n, c, h, w); ``crop`` (n, 2) long: each local crop's top-left corner."""
        return self.head(torch.cat([self.global_branch(x), self.local_branch(local_crops(x, crop, self.local_size))], 1))


def local_crops(x: torch.Tensor, crop: torch.Tensor, size: int) -> torch.Tensor:
    """The ``size`` x ``size`` crop of each image at its (top, left)."""
    rows = crop[:, 0, None] + torch.arange(size, device=x.device)  # (n, size)
    cols = crop[:, 1, None] + torch.arange(size, device=x.device)
    n = torch.arange(len(x), device=x.device)[:, None, None]
    return x.permute(0, 2, 3, 1)[n, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2)

