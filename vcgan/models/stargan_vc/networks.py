"""StarGAN-VC (Kameoka et al., SLT 2018) and StarGAN-VC2 (Kaneko et al., Interspeech 2019) networks.

Inputs are normalised spectral features (batch, dims, frames) and integer speaker
indices; every network has the signature of the multi-domain objective,
``G(x, src, trg)``, ``D(x, src, trg)``, ``C(x)``, and uses only the codes its
paper conditions on.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ...errors import ConfigError

from ...nn import GLU, ConditionalInstanceNorm, GatedConv, ProjectionHead, pad_time, pair_code, zero_init
from ..voice_conversion.layers import TwoOneTwoD, gated_patch_trunk, with_segment_moments


def _with_code(h: torch.Tensor, code: torch.Tensor) -> torch.Tensor:
    """Concatenate a (batch, n) code as constant feature maps to (batch, c, q, t)."""
    maps = code[:, :, None, None].expand(-1, -1, h.shape[2], h.shape[3]).to(h.dtype)
    return torch.cat([h, maps], 1)


class GatedDeconv(nn.Module):
    """Transposed conv (2*out channels) -> instance or batch norm -> GLU."""

    def __init__(self, in_ch, out_ch, kernel, stride, padding, norm="instance"):
        super().__init__()
        self.conv = nn.ConvTranspose2d(in_ch, 2 * out_ch, kernel, stride, padding)
        self.norm = (nn.BatchNorm2d(2 * out_ch) if norm == "batch" else nn.InstanceNorm2d(2 * out_ch, affine=True)
                     if norm == "instance" else nn.Identity())
        self.glu = GLU()

    def forward(self, x):
        return self.glu(self.norm(self.conv(x)))


class GeneratorStarVC(nn.Module):
    """StarGAN-VC generator: 2D gated encoder to a (5 x frames/4) bottleneck, and a
    gated decoder whose every layer also sees the target code as extra channels."""

    def __init__(self, dims: int, num_domains: int, channels: int = 32, residual: bool = False,
                 norm: str = "instance"):
        super().__init__()
        if dims % 4:
            raise ConfigError(f"features.spectral_dim: the StarGAN-VC generator needs a multiple of 4, got {dims}")
        self.residual = residual
        c, n, q = channels, num_domains, dims // 4
        self.num_domains = n
        self.encoder = nn.Sequential(
            GatedConv(2, 1, c, (3, 9), padding=(1, 4), norm=norm),
            GatedConv(2, c, 2 * c, (4, 8), stride=2, padding=(1, 3), norm=norm),
            GatedConv(2, 2 * c, 4 * c, (4, 8), stride=2, padding=(1, 3), norm=norm),
            GatedConv(2, 4 * c, 2 * c, (3, 5), padding=(1, 2), norm=norm),
            GatedConv(2, 2 * c, 5, (q, 5), stride=(q, 1), padding=(0, 2), norm=norm),
        )
        self.decoder = nn.ModuleList([
            GatedDeconv(5 + n, 2 * c, (q, 5), (q, 1), (0, 2), norm=norm),
            GatedDeconv(2 * c + n, 4 * c, (3, 5), 1, (1, 2), norm=norm),
            GatedDeconv(4 * c + n, 2 * c, (4, 8), 2, (1, 3), norm=norm),
            GatedDeconv(2 * c + n, c, (4, 8), 2, (1, 3), norm=norm),
        ])
        self.out = nn.ConvTranspose2d(c + n, 1, (3, 9), 1, (1, 4))
        if residual:  # output = input + decoder output, which starts at zero
            zero_init(self.out)

    def forward(self, x, src, trg):
        xp, frames = pad_time(x, 4)
        code = F.one_hot(trg, self.num_domains)
        h = self.encoder(xp.unsqueeze(1))
        for layer in self.decoder:
            h = layer(_with_code(h, code))
        y = self.out(_with_code(h, code)).squeeze(1)[..., :frames]
        return x + y if self.residual else y


class DiscriminatorStarVC(nn.Module):
    """StarGAN-VC discriminator: gated CNN with the target code concatenated to every
    layer's input; linear patch scores (the adversarial loss decides the link)."""

    def __init__(self, dims: int, num_domains: int, channels: int = 32, norm: str = "instance"):
        super().__init__()
        c, n = channels, num_domains
        self.num_domains = n
        self.layers = nn.ModuleList([
            GatedConv(2, 1 + n, c, (3, 9), padding=(1, 4), norm="none"),
            GatedConv(2, c + n, c, (3, 8), stride=(1, 2), padding=(1, 3), norm=norm),
            GatedConv(2, c + n, c, (3, 8), stride=(1, 2), padding=(1, 3), norm=norm),
            GatedConv(2, c + n, c, (3, 6), stride=(1, 2), padding=(1, 2), norm=norm),
        ])
        self.out = nn.Conv2d(c + n, 1, (dims, 3), padding=(0, 1))

    def forward(self, x, src, trg):
        code = F.one_hot(trg, self.num_domains)
        h = x.unsqueeze(1)
        for layer in self.layers:
            h = layer(_with_code(h, code))
        return self.out(_with_code(h, code))


class DomainClassifier(nn.Module):
    """StarGAN-VC domain classifier C(x): speaker logits from a gated CNN, averaged over time."""

    def __init__(self, dims: int, num_domains: int, channels: int = 32, norm: str = "instance"):
        super().__init__()
        c = channels
        self.net = nn.Sequential(
            GatedConv(2, 1, c, (4, 4), stride=(2, 2), padding=(1, 1), norm="none"),
            GatedConv(2, c, c, (4, 4), stride=(2, 2), padding=(1, 1), norm=norm),
            GatedConv(2, c, c, (4, 4), stride=(2, 2), padding=(1, 1), norm=norm),
            GatedConv(2, c, c, (3, 4), stride=(1, 2), padding=(1, 1), norm=norm),
        )
        self.out = nn.Conv2d(c, num_domains, (1, 1))

    def forward(self, x):
        return self.out(self.net(x.unsqueeze(1))).mean((2, 3))


class CINGatedBlock1d(nn.Module):
    """Conv1d -> conditional instance norm (pair code) -> GLU; with ``residual`` its
    output is added to its input.

    The paper's "512" is the convolution's width before the GLU, whose 256 gated
    channels feed the next block: the nine blocks chain with no convolution between
    them, so their input and output widths must agree. CycleGAN-VC2's residual block
    reads its "512" as gated width instead, because a second convolution maps it back
    to 256 (see ``ResidualBlock1d``); both keep the figures' channel counts."""

    def __init__(self, channels: int, code_dim: int, kernel: int = 5, residual: bool = False):
        super().__init__()
        self.conv = nn.Conv1d(channels, 2 * channels, kernel, padding=kernel // 2)
        self.norm = ConditionalInstanceNorm(2 * channels, code_dim)
        self.glu = GLU()
        self.residual = residual

    def forward(self, x, code):
        h = self.glu(self.norm(self.conv(x), code))
        return x + h if self.residual else h


class GeneratorStarVC2(nn.Module):
    """StarGAN-VC2 generator: the 2-1-2D network of CycleGAN-VC2 whose 1D blocks use
    modulation-based CIN driven by the concatenated source and target codes."""

    def __init__(self, dims: int, num_domains: int, channels: int = 128, num_blocks: int = 9, residual: bool = False,
                 residual_blocks: bool = False, middle_channels: int | None = None):
        super().__init__()
        self.num_domains = num_domains
        self.body = TwoOneTwoD(dims, channels, residual, middle_channels)
        width = self.body.middle_channels
        self.blocks = nn.ModuleList([CINGatedBlock1d(width, 2 * num_domains, residual=residual_blocks)
                                     for _ in range(num_blocks)])

    def forward(self, x, src, trg):
        code = pair_code(src, trg, self.num_domains, x.dtype)

        def middle(h):
            for block in self.blocks:
                h = block(h, code)
            return h

        return self.body(x, middle)


class ProjectionDiscriminator(nn.Module):
    """StarGAN-VC2 discriminator: gated 2D convs, global pooling and a projection on
    the embedding of the (source, target) pair: D(y, c_src, c_trg). With ``patch``
    the projection scores every position of the feature map instead; with ``moments``
    the trunk also reads the segment's per-dimension mean and standard deviation
    (:func:`~vcgan.models.voice_conversion.layers.with_segment_moments`)."""

    def __init__(self, dims: int, num_domains: int, channels: int = 128, patch: bool = False, moments: bool = False):
        super().__init__()
        self.num_domains = num_domains
        self.moments = moments
        self.net = gated_patch_trunk(channels, 3 if moments else 1)
        self.head = ProjectionHead(8 * channels, num_domains * num_domains, patch)

    def forward(self, x, src, trg):
        h = with_segment_moments(x) if self.moments else x.unsqueeze(1)
        return self.head(self.net(h), src * self.num_domains + trg)
