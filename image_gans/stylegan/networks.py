"""StyleGAN's networks (Karras, Laine, Aila, CVPR 2019) and a DCGAN of a comparable size.

Every StyleGAN layer uses the equalised learning rate: weights are stored as N(0, 1) and
scaled at run time by ``1 / sqrt(fan_in)``; the leaky ReLU's gain ``sqrt(2)`` is applied
after the activation (the official release folds it into the weight scale: the product
is the same). The mapping network's slower learning rate (0.01x) is the engine's
``train.optim.g.lr_mult`` on ``generators.g.mapping``: with Adam, a 100x smaller step on
N(0, 1) weights is what the official code gets by storing N(0, 100^2) weights scaled by 0.01.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

LRELU_GAIN = math.sqrt(2.0)


class EqualLinear(nn.Module):
    """``y = x (scale W)^T + b`` with ``W ~ N(0, 1)`` stored and ``scale = 1 / sqrt(fan_in)``."""

    def __init__(self, fan_in: int, fan_out: int, bias: bool = True, bias_init: float = 0.0):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(fan_out, fan_in))
        self.bias = nn.Parameter(torch.full((fan_out,), float(bias_init))) if bias else None
        self.scale = 1.0 / math.sqrt(fan_in)

    def forward(self, x):
        return F.linear(x, self.weight * self.scale, self.bias)


class EqualConv2d(nn.Module):
    """A 'same' convolution with the equalised learning rate (``scale = 1 / sqrt(c_in k^2)``)."""

    def __init__(self, c_in: int, c_out: int, kernel: int, bias: bool = True, stride: int = 1):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(c_out, c_in, kernel, kernel))
        self.bias = nn.Parameter(torch.zeros(c_out)) if bias else None
        self.scale = 1.0 / math.sqrt(c_in * kernel * kernel)
        self.stride, self.padding = stride, kernel // 2

    def forward(self, x):
        return F.conv2d(x, self.weight * self.scale, self.bias, stride=self.stride, padding=self.padding)


class ScaledLeakyReLU(nn.Module):
    def forward(self, x):
        return F.leaky_relu(x, 0.2) * LRELU_GAIN


class Blur(nn.Module):
    """The binomial [1, 2, 1] x [1, 2, 1] / 16 low-pass of StyleGAN's up- and downsampling."""

    def __init__(self, channels: int):
        super().__init__()
        k = torch.tensor([1.0, 2.0, 1.0])
        k = (k[:, None] * k[None, :]) / 16.0
        self.register_buffer("kernel", k.expand(channels, 1, 3, 3).clone(), persistent=False)

    def forward(self, x):
        return F.conv2d(x, self.kernel.to(x.dtype), padding=1, groups=x.shape[1])  # zero padding, as the official


def pixel_norm(z: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    return z * torch.rsqrt(z.pow(2).mean(1, keepdim=True) + eps)


def instance_norm(x: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    x = x - x.mean((2, 3), keepdim=True)
    return x * torch.rsqrt(x.pow(2).mean((2, 3), keepdim=True) + eps)


class MappingNetwork(nn.Module):
    """z (pixel-normalised) -> w through ``layers`` fully connected layers with leaky ReLU."""

    def __init__(self, z_dim: int, w_dim: int, layers: int = 8):
        super().__init__()
        mods = []
        for i in range(layers):
            mods += [EqualLinear(z_dim if i == 0 else w_dim, w_dim), ScaledLeakyReLU()]
        self.net = nn.Sequential(*mods)

    def forward(self, z):
        return self.net(pixel_norm(z))


class StyledEpilogue(nn.Module):
    """What follows each synthesis convolution, in the paper's order: per-pixel noise scaled by
    a learned per-channel weight (initialised to 0), bias, leaky ReLU, instance norm, then AdaIN
    with a per-channel scale centred at 1 and a bias, both an affine map of w."""

    def __init__(self, channels: int, w_dim: int):
        super().__init__()
        self.noise_weight = nn.Parameter(torch.zeros(channels))
        self.bias = nn.Parameter(torch.zeros(channels))
        self.style = EqualLinear(w_dim, 2 * channels)

    def forward(self, x, w, noise):
        x = x + self.noise_weight.view(1, -1, 1, 1) * noise.to(x.dtype)
        x = F.leaky_relu(x + self.bias.view(1, -1, 1, 1), 0.2)
        return adain(instance_norm(x), self.style(w))


def adain(x_normalised: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
    """``x * (1 + s_scale) + s_bias`` per channel; ``style`` (n, 2c) = [scale | bias]."""
    scale, bias = style.chunk(2, dim=1)
    return x_normalised * (1.0 + scale[:, :, None, None]) + bias[:, :, None, None]


def channels_at(resolution: int, base: int, cap: int) -> int:
    return int(min(base // resolution, cap))


class SynthesisNetwork(nn.Module):
    """From a learned 4x4 constant to ``size`` x ``size``: per resolution two 3x3 convolutions
    (the first after nearest 2x upsampling, followed by the binomial blur), each followed by a
    :class:`StyledEpilogue` with its own w and its own noise image; one 1x1 to-RGB at the end
    (no progressive growing). ``num_layers`` = 2 log2(size) - 2 styles."""

    def __init__(self, size: int, img_channels: int, w_dim: int, channel_base: int, channel_max: int):
        super().__init__()
        self.size, self.log2 = int(size), int(math.log2(size))
        if 2 ** self.log2 != size or size < 4:
            raise ValueError(f"image size must be a power of two >= 4, got {size}")
        ch = [channels_at(2 ** r, channel_base, channel_max) for r in range(2, self.log2 + 1)]
        self.const = nn.Parameter(torch.ones(1, ch[0], 4, 4))
        self.convs = nn.ModuleList()  # None for the first layer (the constant is its input)
        self.blurs = nn.ModuleList()
        self.epilogues = nn.ModuleList()
        self.resolutions = []
        for i, c in enumerate(ch):
            res = 4 * 2 ** i
            prev = ch[max(i - 1, 0)]
            self.convs.append(nn.Identity() if i == 0 else EqualConv2d(prev, c, 3))
            self.blurs.append(nn.Identity() if i == 0 else Blur(c))
            self.epilogues.append(StyledEpilogue(c, w_dim))
            self.convs.append(EqualConv2d(c, c, 3))
            self.blurs.append(nn.Identity())
            self.epilogues.append(StyledEpilogue(c, w_dim))
            self.resolutions += [res, res]
        self.to_rgb = EqualConv2d(ch[-1], img_channels, 1)

    @property
    def num_layers(self) -> int:
        return len(self.epilogues)

    def make_noise(self, n: int, device=None, generator: torch.Generator | None = None) -> list[torch.Tensor]:
        """One (n, 1, r, r) standard normal image per layer (separate images for the two
        convolutions of a resolution)."""
        return [torch.randn(n, 1, r, r, device=device, generator=generator) for r in self.resolutions]

    def forward(self, ws: torch.Tensor, noise: list[torch.Tensor] | None = None) -> torch.Tensor:
        if ws.shape[1] != self.num_layers:
            raise ValueError(f"expected {self.num_layers} styles per sample, got {ws.shape[1]}")
        n = ws.shape[0]
        noise = noise if noise is not None else self.make_noise(n, ws.device)
        x = self.const.expand(n, -1, -1, -1).to(ws.dtype)
        for i, (conv, blur, epi) in enumerate(zip(self.convs, self.blurs, self.epilogues)):
            if i > 0:
                if i % 2 == 0:  # first convolution of a new resolution
                    x = F.interpolate(x, scale_factor=2, mode="nearest")
                x = blur(conv(x))
            x = epi(x, ws[:, i], noise[i])
        return self.to_rgb(x)


class StyleGenerator(nn.Module):
    """Mapping + synthesis, with style mixing during training and the truncation trick.

    ``w_avg`` follows the batch mean of w with ``w_avg_beta`` (0.995) at every training
    forward pass: the centre the truncation trick moves styles towards."""

    def __init__(self, size: int = 32, img_channels: int = 1, z_dim: int = 128, w_dim: int = 128,
                 mapping_layers: int = 8, channel_base: int = 4096, channel_max: int = 128,
                 mixing_prob: float = 0.9, w_avg_beta: float = 0.995):
        super().__init__()
        self.z_dim, self.w_dim = int(z_dim), int(w_dim)
        self.mapping = MappingNetwork(z_dim, w_dim, mapping_layers)
        self.synthesis = SynthesisNetwork(size, img_channels, w_dim, channel_base, channel_max)
        self.mixing_prob, self.w_avg_beta = float(mixing_prob), float(w_avg_beta)
        self.register_buffer("w_avg", torch.zeros(w_dim))

    @property
    def num_layers(self) -> int:
        return self.synthesis.num_layers

    def styles(self, z: torch.Tensor) -> torch.Tensor:
        """(n, num_layers, w_dim): the same w for every layer."""
        return self.mapping(z)[:, None].expand(-1, self.num_layers, -1)

    def truncate(self, ws: torch.Tensor, psi: float = 1.0, layers: int | None = None) -> torch.Tensor:
        """``w_avg + psi (w - w_avg)`` on the first ``layers`` styles (all if None)."""
        if psi == 1.0:
            return ws
        layers = self.num_layers if layers is None else int(layers)
        mask = (torch.arange(self.num_layers, device=ws.device) < layers)[None, :, None]
        avg = self.w_avg.to(ws.dtype)
        return torch.where(mask, avg + psi * (ws - avg), ws)

    def forward(self, z: torch.Tensor, psi: float = 1.0, truncation_layers: int | None = None,
                noise: list[torch.Tensor] | None = None) -> torch.Tensor:
        w = self.mapping(z)
        if self.training:
            with torch.no_grad():
                self.w_avg.copy_(torch.lerp(w.detach().float().mean(0), self.w_avg, self.w_avg_beta))
        ws = w[:, None].expand(-1, self.num_layers, -1)
        cutoff = self.mixing_cutoff() if self.training else None
        if cutoff is not None:
            ws = crossover(ws, self.styles(torch.randn_like(z)), cutoff)
        return self.synthesis(self.truncate(ws, psi, truncation_layers), noise)

    def mixing_cutoff(self) -> int | None:
        """Style mixing: with probability ``mixing_prob`` one crossover for the batch, the first
        layer of the second latent drawn uniformly from 1 .. num_layers - 1, i.e. among all
        layers, also between the two convolutions of one resolution; else None."""
        if self.mixing_prob <= 0 or self.num_layers < 2 or float(torch.rand(())) >= self.mixing_prob:
            return None
        return int(torch.randint(1, self.num_layers, ()))


def crossover(ws1: torch.Tensor, ws2: torch.Tensor, cutoff: int) -> torch.Tensor:
    """Styles ``ws1`` on layers ``< cutoff`` and ``ws2`` from ``cutoff`` on (0: all ws2; the
    number of layers: all ws1)."""
    layer = torch.arange(ws1.shape[1], device=ws1.device)[None, :, None]
    return torch.where(layer < cutoff, ws1, ws2)


def minibatch_stddev(x: torch.Tensor, group: int = 4) -> torch.Tensor:
    """Appends one feature map: the standard deviation of each feature over groups of
    ``group`` samples (the largest divisor of the batch not above it), averaged over
    features and pixels (StyleGAN's minibatch-stddev layer)."""
    n, c, h, w = x.shape
    g = max(d for d in range(1, min(group, n) + 1) if n % d == 0)
    y = x.float().reshape(g, n // g, c, h, w)
    y = (y - y.mean(0)).pow(2).mean(0).add(1e-8).sqrt().mean((1, 2, 3))  # (n // g,)
    y = y.repeat(g).reshape(n, 1, 1, 1).expand(n, 1, h, w)
    return torch.cat([x, y.to(x.dtype)], 1)


class DiscriminatorBlock(nn.Module):
    """3x3 conv, blur, stride-2 3x3 conv (leaky ReLU after each); ``residual``: plus a 1x1
    skip on the 2x average-pooled input, summed with 1/sqrt(2) (StyleGAN2's residual D)."""

    def __init__(self, c_in: int, c_out: int, residual: bool):
        super().__init__()
        self.conv0 = EqualConv2d(c_in, c_in, 3)
        self.blur = Blur(c_in)
        self.conv1 = EqualConv2d(c_in, c_out, 3, stride=2)
        self.act = ScaledLeakyReLU()
        self.skip = EqualConv2d(c_in, c_out, 1, bias=False) if residual else None

    def forward(self, x):
        y = self.act(self.conv1(self.blur(self.act(self.conv0(x)))))
        if self.skip is None:
            return y
        return (y + self.skip(F.avg_pool2d(x, 2))) / math.sqrt(2.0)


class StyleDiscriminator(nn.Module):
    """From-RGB 1x1, one :class:`DiscriminatorBlock` per resolution down to 4x4, then the
    minibatch-stddev layer, a 3x3 conv, a fully connected layer and the logit."""

    def __init__(self, size: int = 32, img_channels: int = 1, channel_base: int = 4096, channel_max: int = 128,
                 residual: bool = True, mbstd_group: int = 4):
        super().__init__()
        log2 = int(math.log2(size))
        if 2 ** log2 != size or size < 4:
            raise ValueError(f"image size must be a power of two >= 4, got {size}")
        ch = {2 ** r: channels_at(2 ** r, channel_base, channel_max) for r in range(2, log2 + 1)}
        self.from_rgb = nn.Sequential(EqualConv2d(img_channels, ch[size], 1), ScaledLeakyReLU())
        self.blocks = nn.Sequential(*[DiscriminatorBlock(ch[2 ** r], ch[2 ** (r - 1)], residual)
                                      for r in range(log2, 2, -1)])
        self.mbstd_group = int(mbstd_group)
        c4 = ch[4]
        self.conv = nn.Sequential(EqualConv2d(c4 + 1, c4, 3), ScaledLeakyReLU())
        self.fc = nn.Sequential(EqualLinear(c4 * 16, c4), ScaledLeakyReLU())
        self.out = EqualLinear(c4, 1)

    def forward(self, x):
        x = self.blocks(self.from_rgb(x))
        x = self.conv(minibatch_stddev(x, self.mbstd_group))
        return self.out(self.fc(x.flatten(1)))


class DCGANGenerator(nn.Module):
    """Radford et al. (ICLR 2016): z -> 4x4 by a linear layer, then 4x4 stride-2 transposed
    convolutions with batch norm and ReLU, tanh at the end. Widths halve per resolution
    from ``channels`` at 4x4."""

    def __init__(self, size: int = 32, img_channels: int = 1, z_dim: int = 128, channels: int = 256):
        super().__init__()
        log2 = int(math.log2(size))
        if 2 ** log2 != size or size < 8:
            raise ValueError(f"image size must be a power of two >= 8, got {size}")
        self.z_dim = int(z_dim)
        self.fc = nn.Sequential(nn.Linear(z_dim, channels * 16), nn.BatchNorm1d(channels * 16), nn.ReLU())
        layers, c = [], channels
        for _ in range(log2 - 3):
            layers += [nn.ConvTranspose2d(c, c // 2, 4, 2, 1, bias=False), nn.BatchNorm2d(c // 2), nn.ReLU()]
            c //= 2
        layers += [nn.ConvTranspose2d(c, img_channels, 4, 2, 1), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        self.channels = int(channels)

    def forward(self, z):
        return self.net(self.fc(z).view(len(z), self.channels, 4, 4))


class DCGANDiscriminator(nn.Module):
    """4x4 stride-2 convolutions with leaky ReLU (batch norm after all but the first) down to
    4x4, then a linear logit; widths double per resolution up to ``channels`` at 4x4."""

    def __init__(self, size: int = 32, img_channels: int = 1, channels: int = 256):
        super().__init__()
        log2 = int(math.log2(size))
        if 2 ** log2 != size or size < 8:
            raise ValueError(f"image size must be a power of two >= 8, got {size}")
        c = channels // 2 ** (log2 - 3)
        layers = [nn.Conv2d(img_channels, c, 4, 2, 1), nn.LeakyReLU(0.2)]
        for _ in range(log2 - 3):
            layers += [nn.Conv2d(c, c * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(c * 2), nn.LeakyReLU(0.2)]
            c *= 2
        self.net = nn.Sequential(*layers, nn.Flatten(), nn.Linear(c * 16, 1))

    def forward(self, x):
        return self.net(x)
