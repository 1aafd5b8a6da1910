"""CycleGAN-VC (Kaneko & Kameoka, 2017) and CycleGAN-VC2 (Kaneko et al., ICASSP 2019) networks.

All networks take normalised spectral features shaped (batch, dims, frames).
With ``residual=True`` a generator predicts a correction added to its input, its
output layer starting at zero: training then starts from the statistics
transform (features are speaker-normalised) instead of from noise, which matters
when the training budget is minutes of CPU rather than days of GPU.
``channels`` is the width of the first layer (128 in both papers); every other
width scales with it, so ``channels=64`` is the same architecture at a quarter
of the FLOPs.
"""
from __future__ import annotations

from torch import nn

from ...errors import ConfigError
from ...nn import GatedConv, GatedUpsample, pad_time, zero_init
from ..voice_conversion.layers import TwoOneTwoD, gated_patch_trunk


class ResidualBlock1d(nn.Module):
    """x + IN(conv(GLU-conv(x))): the gated residual block of CycleGAN-VC/VC2.

    ``hidden`` counts gated outputs, the papers' gated-CNN convention (value and gate
    convolutions of that width each): the 2-1-2D "512" is this width, mapped back to
    the block's 256 channels by the second convolution."""

    def __init__(self, channels: int, hidden: int, kernel: int = 3):
        super().__init__()
        self.gated = GatedConv(1, channels, hidden, kernel)
        self.conv = nn.Conv1d(hidden, channels, kernel, padding=kernel // 2)
        self.norm = nn.InstanceNorm1d(channels, affine=True)

    def forward(self, x):
        return x + self.norm(self.conv(self.gated(x)))


class GeneratorVC1(nn.Module):
    """1D gated CNN: conv(k15) -> 2x gated downsample -> 6 residual blocks -> 2x pixel-shuffle upsample -> conv."""

    def __init__(self, dims: int = 24, channels: int = 128, num_res_blocks: int = 6, residual: bool = False):
        super().__init__()
        c = channels
        self.residual = residual
        self.net = nn.Sequential(
            GatedConv(1, dims, c, 15, norm="none"),
            GatedConv(1, c, 2 * c, 5, stride=2),
            GatedConv(1, 2 * c, 4 * c, 5, stride=2),
            *[ResidualBlock1d(4 * c, 8 * c) for _ in range(num_res_blocks)],
            GatedUpsample(1, 4 * c, 4 * c, 5),
            GatedUpsample(1, 4 * c, 2 * c, 5),
            nn.Conv1d(2 * c, dims, 15, padding=7),
        )
        if residual:
            zero_init(self.net[-1])

    def forward(self, x):
        xp, n = pad_time(x, 4)
        y = self.net(xp)[..., :n]
        return x + y if self.residual else y


class DiscriminatorVC1(nn.Module):
    """2D gated CNN discriminator of CycleGAN-VC. ``scores="segment"`` (the paper): a fully
    connected layer over the last feature map gives one score per segment of ``frames``
    frames. ``"frame"``: that layer is applied per output frame (any length; a time-patch
    discriminator, as checkpoints written before the paper's layer was used)."""

    def __init__(self, dims: int = 24, channels: int = 128, frames: int | None = 128, scores: str = "segment"):
        super().__init__()
        if scores not in ("segment", "frame"):
            raise ConfigError(f"model.disc_scores: expected 'segment' or 'frame', got {scores!r}")
        c = channels
        self.net = nn.Sequential(
            GatedConv(2, 1, c, (3, 3), stride=(1, 2), norm="none"),
            GatedConv(2, c, 2 * c, (3, 3), stride=(2, 2)),
            GatedConv(2, 2 * c, 4 * c, (3, 3), stride=(2, 2)),
            GatedConv(2, 4 * c, 8 * c, (6, 3), stride=(1, 2), padding=(0, 1)),
        )
        q = dims
        for _ in range(2):  # two stride-2 layers along frequency (kernel 3, padding 1)
            q = (q - 1) // 2 + 1
        q -= 5  # the last layer's kernel spans 6 bins without padding
        if q < 1:
            raise ConfigError(f"features.spectral_dim: the CycleGAN-VC discriminator needs at least 21, got {dims}")
        self.scores, self.frames = scores, frames
        if scores == "segment":
            if not frames:
                raise ConfigError("the CycleGAN-VC discriminator scores whole segments: give their length in frames")
            t = frames
            for _ in range(4):  # every layer halves time (kernel 3, padding 1)
                t = (t - 1) // 2 + 1
            self.fc = nn.Linear(8 * c * q * t, 1)
        else:
            self.fc = nn.Conv1d(8 * c * q, 1, 1)

    def forward(self, x):
        if self.scores == "segment" and x.shape[-1] != self.frames:
            raise ValueError(f"this discriminator scores segments of {self.frames} frames, got {x.shape[-1]}")
        h = self.net(x.unsqueeze(1))
        return self.fc(h.flatten(1)) if self.scores == "segment" else self.fc(h.flatten(1, 2))


class GeneratorVC2(nn.Module):
    """2-1-2D generator: 2D gated down/upsampling around 1D gated residual blocks."""

    def __init__(self, dims: int = 36, channels: int = 128, num_res_blocks: int = 6, residual: bool = False):
        super().__init__()
        self.body = TwoOneTwoD(dims, channels, residual)
        width = self.body.middle_channels
        self.res = nn.Sequential(*[ResidualBlock1d(width, 2 * width) for _ in range(num_res_blocks)])

    def forward(self, x):
        return self.body(x, self.res)


class PatchDiscriminator(nn.Module):
    """CycleGAN-VC2 PatchGAN: gated 2D convs, last layer a linear 1-channel conv (no sigmoid)."""

    def __init__(self, dims: int = 36, channels: int = 128):
        super().__init__()
        self.net = nn.Sequential(*gated_patch_trunk(channels), nn.Conv2d(8 * channels, 1, (1, 3), padding=(0, 1)))

    def forward(self, x):
        return self.net(x.unsqueeze(1))
