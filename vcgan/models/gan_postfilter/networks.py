"""GAN postfilter networks (Kaneko et al., ICASSP 2017 and Interspeech 2017).

Features are handled as one-channel images ``(batch, 1, frames, dims)``: time by
quefrency for mel-cepstra, time by frequency for a band of an STFT spectrogram.

Generator: stride-1 2D convolutions (5x5; widths 128, 256, 128, 1 in the papers), the
synthetic input concatenated to every layer's input, a noise channel at the first, ReLU,
a linear output that is *added* to the input (the network learns the missing texture,
and positive and negative corrections alike). With ``zero_last`` the last layer starts
at zero, so training starts from the synthetic input itself. The first ``passthrough``
dimensions (c0, or c0-c1) are copied unchanged.

Discriminator: 2D convolutions (64, 128, 256, 128), stride 1 then 2, LeakyReLU, and a
1x1 convolution to a map of scores (the adversarial loss averages them), on the
dimensions the generator changes; with a condition channel it judges (input, output).
With ``delta`` each input channel also enters as its frame-to-frame difference, which
puts the fast modulations (the modulation spectrum above ~40 Hz, a few percent of the
trajectories' energy) on the same footing as the slow ones.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ...nn import NarrowConv2d, zero_init


class TexturePostfilter(nn.Module):
    """G(x, z) = x + f(x, z) on dims ``passthrough:``; any number of frames and dims."""

    def __init__(self, passthrough: int = 1, channels=(128, 256, 128), kernel: int = 5, zero_last: bool = True):
        super().__init__()
        self.passthrough = int(passthrough)
        widths = [2, *channels]  # the first layer sees (x, z)
        pad = kernel // 2
        self.hidden = nn.ModuleList(
            nn.Conv2d(widths[i] + (1 if i else 0), widths[i + 1], kernel, padding=pad) for i in range(len(channels)))
        self.out = NarrowConv2d(channels[-1] + 1, 1, kernel, padding=pad)
        if zero_last:
            zero_init(self.out)
        self.radius = (len(channels) + 1) * pad  # frames of context either side that reach one output frame

    def forward(self, x: torch.Tensor, noise: torch.Tensor | None = None) -> torch.Tensor:
        keep, body = x[..., :self.passthrough], x[..., self.passthrough:]
        if noise is None:
            noise = torch.randn_like(body)
        h = torch.cat([body, noise.to(body.dtype)], 1)
        for i, layer in enumerate(self.hidden):
            h = F.relu(layer(h if i == 0 else torch.cat([h, body], 1)))
        return torch.cat([keep, body + self.out(torch.cat([h, body], 1))], -1)

    def noise_shape(self, x: torch.Tensor) -> tuple:
        return (*x.shape[:-1], x.shape[-1] - self.passthrough)


class TextureDiscriminator(nn.Module):
    """Score map of (batch, channels, frames, dims) inputs, on dims ``passthrough:``."""

    def __init__(self, in_channels: int = 1, passthrough: int = 1, channels=(64, 128, 256, 128), kernel: int = 5,
                 slope: float = 0.2, delta: bool = False):
        super().__init__()
        self.passthrough = int(passthrough)
        self.delta = bool(delta)
        layers, c_in = [], in_channels * (2 if delta else 1)
        for i, c in enumerate(channels):
            layers += [nn.Conv2d(c_in, c, kernel, stride=1 if i == 0 else 2, padding=kernel // 2), nn.LeakyReLU(slope)]
            c_in = c
        self.net = nn.Sequential(*layers, nn.Conv2d(c_in, 1, 1))

    def _input(self, x: torch.Tensor) -> torch.Tensor:
        x = x[..., self.passthrough:]
        if not self.delta:
            return x
        diff = torch.diff(x, dim=2, prepend=x[:, :, :1])  # first frame: 0
        return torch.cat([x, diff], 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(self._input(x))

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Each hidden layer's activations (feature matching)."""
        h, out = self._input(x), []
        for layer in self.net[:-1]:
            h = layer(h)
            if isinstance(layer, nn.LeakyReLU):
                out.append(h)
        return out


def postfilter_in_chunks(g: TexturePostfilter, x: torch.Tensor, noise: torch.Tensor, chunk_frames: int) -> torch.Tensor:
    """``g(x, noise)`` for a long ``(1, 1, frames, dims)`` input, ``chunk_frames`` output frames
    at a time, each computed with ``g.radius`` frames of context either side: the result
    equals the whole-utterance output (up to float rounding) with bounded memory."""
    frames = x.shape[2]
    if frames <= chunk_frames:
        return g(x, noise)
    r = g.radius
    out = []
    for start in range(0, frames, chunk_frames):
        stop = min(frames, start + chunk_frames)
        lo, hi = max(0, start - r), min(frames, stop + r)
        y = g(x[:, :, lo:hi], noise[:, :, lo:hi])
        out.append(y[:, :, start - lo:stop - lo])
    return torch.cat(out, 2)
