"""Image networks: CycleGAN's ResNet generator and PatchGAN (Zhu et al., 2017), pix2pix's
U-Net (Isola et al., 2017), StarGAN's generator and two-head discriminator (Choi et al.,
2018). Images are (batch, channels, height, width) in [-1, 1]; any height and width work
(inputs are padded to the networks' stride and outputs cropped back)."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from vcgan.nn import NarrowConv2d

NORMS = ("instance", "instance-affine", "batch", "none")


def norm_layer(kind: str, channels: int) -> nn.Module:
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=False)  # CycleGAN/pix2pix: no affine parameters
    if kind == "instance-affine":
        return nn.InstanceNorm2d(channels, affine=True)  # StarGAN
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "none":
        return nn.Identity()
    raise ValueError(f"unknown normalisation {kind!r}; choose from {NORMS}")


def pad_to_multiple(x: torch.Tensor, multiple: int, mode: str = "reflect"):
    """(padded x, (height, width)) with height and width padded up to ``multiple``."""
    h, w = x.shape[-2:]
    ph, pw = (-h) % multiple, (-w) % multiple
    if ph or pw:
        x = F.pad(x, (0, pw, 0, ph), mode="reflect" if mode == "reflect" and min(h, w) > max(ph, pw) else "replicate")
    return x, (h, w)


def code_maps(code: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """A (batch, k) code as k constant channels of ``like``'s size and dtype."""
    return code[:, :, None, None].to(like.dtype).expand(-1, -1, *like.shape[-2:])


class ResnetBlock(nn.Module):
    def __init__(self, channels: int, norm: str = "instance"):
        super().__init__()
        self.body = nn.Sequential(
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3), norm_layer(norm, channels), nn.ReLU(True),
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3), norm_layer(norm, channels))

    def forward(self, x):
        return x + self.body(x)


class ResnetGenerator(nn.Module):
    """c7s1-ngf, d(2ngf), d(4ngf), R(4ngf) x blocks, u(2ngf), u(ngf), c7s1-out, tanh
    (reflection padding, instance norm): CycleGAN's generator; 6 blocks for 128 px,
    9 for 256 px; fewer for small images. ``extra_in`` adds channels to the input (a
    tiled domain code). The code channels are zero-padded while the image is reflected:
    a constant map reflection-padded stays constant, its convolution is a per-channel
    offset, and the instance norm after the first convolution would remove it, leaving
    the generator blind to the code; zero borders make its response vary over the image
    (StarGAN's own code zero-pads the first convolution)."""

    def __init__(self, in_ch: int = 3, out_ch: int = 3, ngf: int = 64, blocks: int = 6, down: int = 2,
                 norm: str = "instance", extra_in: int = 0):
        super().__init__()
        self.down = down
        layers = [nn.ReflectionPad2d(3), nn.Conv2d(in_ch + extra_in, ngf, 7), norm_layer(norm, ngf), nn.ReLU(True)]
        c = ngf
        for _ in range(down):
            layers += [nn.Conv2d(c, 2 * c, 3, stride=2, padding=1), norm_layer(norm, 2 * c), nn.ReLU(True)]
            c *= 2
        layers += [ResnetBlock(c, norm) for _ in range(blocks)]
        for _ in range(down):
            layers += [nn.ConvTranspose2d(c, c // 2, 3, stride=2, padding=1, output_padding=1),
                       norm_layer(norm, c // 2), nn.ReLU(True)]
            c //= 2
        layers += [nn.ReflectionPad2d(3), NarrowConv2d(c, out_ch, 7), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, x, code=None):
        xp, (h, w) = pad_to_multiple(x, 2 ** self.down)
        if code is None:
            return self.net(xp)[..., :h, :w]
        pad = self.net[0]  # ReflectionPad2d(3)
        maps = F.pad(code_maps(code, xp), pad.padding)
        return self.net[1:](torch.cat([pad(xp), maps], 1))[..., :h, :w]


class PatchDiscriminator(nn.Module):
    """PatchGAN: C64 (no norm) - C128 - C256 - C512 (stride 1) - 1, 4x4 convs, LeakyReLU 0.2.
    ``layers=3`` is the 70x70 PatchGAN; small images take fewer layers (smaller patches)."""

    def __init__(self, in_ch: int = 3, ndf: int = 64, layers: int = 3, norm: str = "instance"):
        super().__init__()
        seq = [nn.Conv2d(in_ch, ndf, 4, 2, 1), nn.LeakyReLU(0.2, True)]
        c = ndf
        for i in range(1, layers):
            nxt = ndf * min(2 ** i, 8)
            seq += [nn.Conv2d(c, nxt, 4, 2, 1, bias=norm == "none"), norm_layer(norm, nxt), nn.LeakyReLU(0.2, True)]
            c = nxt
        nxt = ndf * min(2 ** layers, 8)
        seq += [nn.Conv2d(c, nxt, 4, 1, 1, bias=norm == "none"), norm_layer(norm, nxt), nn.LeakyReLU(0.2, True),
                nn.Conv2d(nxt, 1, 4, 1, 1)]
        self.net = nn.Sequential(*seq)
        self.min_size = 2 ** layers * 2 + 2  # smallest input that leaves one patch

    def forward(self, x, *codes):
        if min(x.shape[-2:]) < self.min_size:
            x, _ = pad_to_multiple(x, self.min_size, mode="replicate")
        return self.net(x)


class UnetGenerator(nn.Module):
    """pix2pix U-Net: encoder C64-C128-C256-C512... (4x4, stride 2, LeakyReLU 0.2 between
    levels), decoder of transposed convs (ReLU before each) whose every level also reads
    the mirrored encoder level (skip connection), dropout 0.5 in the three innermost
    decoder levels, tanh. ``enc[i]`` and ``dec[i]`` hold the convolutions and norms; the
    activations and skips are in ``forward``."""

    def __init__(self, in_ch: int = 3, out_ch: int = 3, ngf: int = 64, down: int = 5, norm: str = "batch",
                 dropout: float = 0.5):
        super().__init__()
        if down < 2:
            raise ValueError("the U-Net needs at least 2 levels")
        self.levels = down
        widths = [ngf * min(2 ** i, 8) for i in range(down)]
        self.enc = nn.ModuleList()
        c = in_ch
        for i, w in enumerate(widths):
            layers = [nn.Conv2d(c, w, 4, 2, 1, bias=i in (0, down - 1) or norm == "none")]
            if 0 < i < down - 1:  # the outermost and innermost encoder levels have no norm
                layers.append(norm_layer(norm, w))
            self.enc.append(nn.Sequential(*layers))
            c = w
        self.dec = nn.ModuleList()
        for k, i in enumerate(reversed(range(down))):  # dec[k] produces encoder level i - 1's size
            cin = widths[i] if k == 0 else 2 * widths[i]
            if i == 0:
                self.dec.append(nn.Sequential(nn.ConvTranspose2d(cin, out_ch, 4, 2, 1), nn.Tanh()))
                continue
            layers = [nn.ConvTranspose2d(cin, widths[i - 1], 4, 2, 1, bias=norm == "none"), norm_layer(norm, widths[i - 1])]
            if dropout and k < 3:
                layers.append(nn.Dropout(dropout))
            self.dec.append(nn.Sequential(*layers))

    def forward(self, x):
        xp, (h, w) = pad_to_multiple(x, 2 ** self.levels)
        skips, e = [], self.enc[0](xp)
        for layer in self.enc[1:]:
            skips.append(F.leaky_relu(e, 0.2))
            e = layer(skips[-1])
        y = self.dec[0](F.relu(e))
        for layer in self.dec[1:]:
            y = layer(F.relu(torch.cat([y, skips.pop()], 1)))
        return y[..., :h, :w]


class StarGANGenerator(nn.Module):
    """StarGAN's generator: the target domain code tiled as input channels (zero-padded:
    see ResnetGenerator), c7s1-64, two stride-2 downsamplings, residual blocks, two
    upsamplings, c7s1 tanh; instance norm with affine parameters. ``G(x, src, trg)``: ``trg`` an index (one-hot) or a
    0/1 attribute vector; ``src`` is not used."""

    def __init__(self, in_ch: int, num_domains: int, conv_dim: int = 64, blocks: int = 6):
        super().__init__()
        self.num_domains = num_domains
        self.net = ResnetGenerator(in_ch, in_ch, conv_dim, blocks, down=2, norm="instance-affine",
                                   extra_in=num_domains)

    def code(self, c: torch.Tensor) -> torch.Tensor:
        return F.one_hot(c, self.num_domains) if c.dtype == torch.long else c

    def forward(self, x, src, trg):
        return self.net(x, self.code(trg))


class StarGANDiscriminator(nn.Module):
    """StarGAN's discriminator: 4x4 stride-2 convs with LeakyReLU 0.01 (no normalisation),
    then two heads on the shared trunk: patch scores (real/fake, 3x3 conv) and domain
    logits from a conv whose kernel covers the whole feature map of an ``image_size``
    input (the paper's: a position-aware linear classifier). Other sizes work too: the
    logits are averaged over the positions the kernel leaves. Returns (scores, logits)."""

    def __init__(self, in_ch: int, num_domains: int, conv_dim: int = 64, layers: int = 6,
                 image_size: tuple[int, int] | int = 1):
        super().__init__()
        seq, c = [], in_ch
        for i in range(layers):
            nxt = conv_dim * 2 ** i
            seq += [nn.Conv2d(c, nxt, 4, 2, 1), nn.LeakyReLU(0.01)]
            c = nxt
        self.trunk = nn.Sequential(*seq)
        self.min_size = 2 ** layers
        size = (image_size, image_size) if isinstance(image_size, int) else tuple(image_size)
        kernel = tuple(max(s, self.min_size) // self.min_size for s in size)
        self.scores = nn.Conv2d(c, 1, 3, 1, 1, bias=False)
        self.classes = nn.Conv2d(c, num_domains, kernel, bias=False)

    def forward(self, x, *codes):
        need_h, need_w = (k * self.min_size for k in self.classes.kernel_size)  # the class kernel fits
        ph, pw = max(0, need_h - x.shape[-2]), max(0, need_w - x.shape[-1])
        if ph or pw:
            x = F.pad(x, (0, pw, 0, ph), mode="replicate")
        h = self.trunk(x)
        return self.scores(h), self.classes(h).mean((2, 3))
