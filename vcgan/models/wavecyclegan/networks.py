"""WaveCycleGAN (Tanaka et al., SLT 2018) and WaveCycleGAN2 (Tanaka et al., 2019) networks.

Every network takes waveforms shaped ``(batch, 1, samples)``.

* :class:`WaveGeneratorV1`: the 1D gated CNN of CycleGAN-VC on samples: a wide gated
  input layer, strided gated downsampling, gated residual blocks, gated 1D pixel-shuffle
  upsampling. Inputs are padded to a multiple of the total stride and trimmed back.
  Decimation and pixel-shuffle interpolation fold and image components across the
  band (aliasing), which WaveCycleGAN2 removes.
* :class:`WaveGeneratorV2`: stride 1 throughout: a gated input layer and gated residual
  blocks with dilated convolutions, nothing that resamples time and no normalisation over
  time, so the output at a sample depends only on the input within its receptive field
  (the filter is time-invariant and a chunk's output does not depend on where it starts).
* :class:`WavePatchDiscriminator`: a waveform patch discriminator (MelGAN's: grouped
  strided convolutions, a score per patch); several at average-pooled scales make
  MelGAN's multi-scale discriminator, and :class:`PeriodDiscriminator` on samples folded by
  a period, HiFi-GAN's multi-period one (options beside the paper-style waveform view).
* :class:`SpectrogramDiscriminator`: a 2D patch discriminator over a log-mel spectrogram
  that :class:`LogMel` computes from the waveform, differentiably, on the fly (the
  acoustic-parameter-domain discriminator of WaveCycleGAN2).
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from ...errors import ConfigError
from ...nn import GLU, GatedConv, GatedUpsample, pad_time, zero_init
from ...nn.blocks import norm_layer

LOG_FLOOR = 1e-5  # log-mel floor (about -100 dB of a full-scale sine's amplitude)


class LogMel(nn.Module):
    """``log(mel @ |STFT(x)| + floor)`` of ``(B, 1, T)`` waveforms -> ``(B, n_mels, frames)``.

    The same amplitude mel spectrogram as ``librosa.feature.melspectrogram(power=1)``
    (Hann window, centred frames with zero padding, librosa's Slaney mel basis), in
    torch so that gradients reach the waveform. The magnitude is ``sqrt(re^2 + im^2 + eps)``:
    finite gradients at silent bins."""

    def __init__(self, sample_rate: int = 16000, n_fft: int = 1024, hop_length: int = 160,
                 win_length: int | None = None, n_mels: int = 80, fmin: float = 0.0, fmax: float | None = None):
        super().__init__()
        import librosa

        self.n_fft, self.hop, self.win = int(n_fft), int(hop_length), int(win_length or n_fft)
        if not 0 < self.win <= self.n_fft:
            raise ConfigError(f"model.mel.win_length: {self.win} must be in (0, n_fft={self.n_fft}]")
        basis = librosa.filters.mel(sr=sample_rate, n_fft=self.n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax)
        self.register_buffer("basis", torch.tensor(basis, dtype=torch.float32), persistent=False)
        self.register_buffer("window", torch.hann_window(self.win, periodic=True), persistent=False)

    def amplitude(self, x: torch.Tensor) -> torch.Tensor:
        """The mel amplitude spectrogram (no log), ``(B, n_mels, frames)``."""
        x = x.float().reshape(-1, x.shape[-1])
        spec = torch.stft(x, self.n_fft, self.hop, self.win, self.window, center=True, pad_mode="constant",
                          return_complex=True)
        mag = (spec.real.pow(2) + spec.imag.pow(2) + 1e-16).sqrt()
        return torch.matmul(self.basis, mag)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.log(self.amplitude(x) + LOG_FLOOR)


class Downsample(nn.Module):
    """Average pooling by 2 (kernel 4): the coarser scales of a multi-scale discriminator."""

    def __init__(self, times: int = 1):
        super().__init__()
        self.pool = nn.Sequential(*[nn.AvgPool1d(4, 2, padding=1, count_include_pad=False) for _ in range(times)])

    def forward(self, x):
        return self.pool(x)


class GatedResidual(nn.Module):
    """``x + conv(GLU-conv(x))``, the gated residual block; ``dilation`` spreads both
    convolutions (WaveCycleGAN2), ``norm`` ("none" | "instance") follows the gated one."""

    def __init__(self, channels: int, hidden: int, kernel: int = 3, dilation: int = 1, norm: str = "none"):
        super().__init__()
        pad = dilation * (kernel // 2)
        self.gated = nn.Sequential(nn.Conv1d(channels, 2 * hidden, kernel, padding=pad, dilation=dilation),
                                   norm_layer(norm, 1, 2 * hidden), GLU())
        self.conv = nn.Conv1d(hidden, channels, kernel, padding=pad, dilation=dilation)
        self.norm = norm_layer(norm, 1, channels)

    def forward(self, x):
        return x + self.norm(self.conv(self.gated(x)))


class WaveGeneratorV1(nn.Module):
    """WaveCycleGAN's generator: gated conv (``in_kernel``) -> ``downsamplings`` stride-2
    gated convolutions (width doubling) -> ``res_blocks`` gated residual blocks -> as many
    gated pixel-shuffle upsamplings -> conv to one channel. ``residual``: the output is
    added to the input (the last layer starts at zero, so training starts from the identity)."""

    def __init__(self, channels: int = 32, in_kernel: int = 15, kernel: int = 15, downsamplings: int = 2,
                 res_blocks: int = 6, norm: str = "none", residual: bool = True):
        super().__init__()
        c, self.stride, self.residual = channels, 2 ** downsamplings, residual
        layers = [GatedConv(1, 1, c, in_kernel, norm="none")]
        for i in range(downsamplings):
            layers.append(GatedConv(1, c * 2 ** i, c * 2 ** (i + 1), kernel, stride=2, norm=norm))
        top = c * 2 ** downsamplings
        layers += [GatedResidual(top, top, 3, 1, norm) for _ in range(res_blocks)]
        for i in reversed(range(downsamplings)):
            layers.append(GatedUpsample(1, c * 2 ** (i + 1), c * 2 ** i, kernel, norm=norm))
        layers.append(nn.Conv1d(c, 1, in_kernel, padding=in_kernel // 2))
        self.net = nn.Sequential(*layers)
        if residual:
            zero_init(self.net[-1])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        xp, n = pad_time(x, self.stride)
        y = self.net(xp)[..., :n]
        return x + y if self.residual else y


def check_filter_taps(taps) -> None:
    if isinstance(taps, bool) or not isinstance(taps, int) or taps < 0 or (taps and taps % 2 == 0):
        raise ConfigError(f"config key 'model.filter_taps': 0 or an odd number of taps (centred), got {taps!r}")


class WaveGeneratorV2(nn.Module):
    """WaveCycleGAN2's generator: gated conv (``in_kernel``) -> gated residual blocks
    whose dilations cycle through ``dilations`` -> conv to one channel; stride 1, no
    resampling, no normalisation over time. ``residual``: output = input + G(input).

    ``filter_taps`` K > 0 (odd): the last conv gives K channels instead, the taps of a
    time-varying FIR filter centred on each sample, and G(input) is the input filtered
    by them, ``sum_k a_k(t) x(t + k - K // 2)``: the network can reshape the input's
    spectrum from moment to moment but adds nothing where the input is silent."""

    def __init__(self, channels: int = 32, in_kernel: int = 15, kernel: int = 3, dilations=(1, 2, 4, 8, 16, 32),
                 res_blocks: int = 6, out_kernel: int = 15, residual: bool = True, filter_taps: int = 0):
        super().__init__()
        if in_kernel % 2 == 0 or kernel % 2 == 0 or out_kernel % 2 == 0:
            raise ConfigError("config keys 'model.in_kernel', 'model.kernel', 'model.out_kernel': odd sizes "
                              "(centred, same-length convolutions)")
        check_filter_taps(filter_taps)
        c, self.residual, self.taps = channels, residual, int(filter_taps)
        self.dilations = [int(dilations[i % len(dilations)]) for i in range(res_blocks)]
        self.kernels = (in_kernel, kernel, out_kernel)
        self.net = nn.Sequential(
            GatedConv(1, 1, c, in_kernel, norm="none"),
            *[GatedResidual(c, c, kernel, d, "none") for d in self.dilations],
            nn.Conv1d(c, self.taps or 1, out_kernel, padding=out_kernel // 2),
        )
        if residual:
            zero_init(self.net[-1])

    @property
    def receptive_field(self) -> int:
        """Input samples one output sample depends on (odd: centred on it)."""
        k_in, k, k_out = self.kernels
        net = 1 + (k_in - 1) + sum(2 * (k - 1) * d for d in self.dilations) + (k_out - 1)
        return max(net, self.taps)  # the filter's taps reach K // 2 samples either side

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.net(x)
        if self.taps:
            half = self.taps // 2
            shifted = F.pad(x, (half, half)).unfold(-1, self.taps, 1)  # (B, 1, T, K): x(t + k - K // 2)
            y = (y * shifted[:, 0].transpose(1, 2).to(y.dtype)).sum(1, keepdim=True)
        return x + y if self.residual else y


def v1_receptive_field(g: WaveGeneratorV1) -> int:
    """The input samples one output sample of a v1 generator depends on (an upper bound)."""
    field, scale = 0, 1  # scale: input samples per sample at the current layer's rate
    for layer in g.net:
        convs = [m for m in layer.modules() if isinstance(m, nn.Conv1d)]
        field += sum((m.kernel_size[0] - 1) * m.dilation[0] * scale for m in convs)
        scale *= int(np.prod([m.stride[0] for m in convs]))
        if isinstance(layer, GatedUpsample):
            scale //= 2
    return field + 1


def receptive_field(g: nn.Module) -> int:
    return g.receptive_field if isinstance(g, WaveGeneratorV2) else v1_receptive_field(g)


class WavePatchDiscriminator(nn.Module):
    """MelGAN's waveform discriminator block: conv (k15) -> ``downsamplings`` grouped
    stride-4 convolutions (k41) -> conv (k5) -> a score per patch. LeakyReLU 0.2, no
    normalisation (samples of a batch stay independent)."""

    def __init__(self, channels: int = 16, downsamplings: int = 3, max_channels: int = 256):
        super().__init__()
        c = channels
        layers = [nn.Conv1d(1, c, 15, padding=7), nn.LeakyReLU(0.2)]
        for _ in range(downsamplings):
            out = min(4 * c, max_channels)
            groups = max(1, c // 4)
            while out % groups or c % groups:
                groups -= 1
            layers += [nn.Conv1d(c, out, 41, stride=4, padding=20, groups=groups), nn.LeakyReLU(0.2)]
            c = out
        layers += [nn.Conv1d(c, c, 5, padding=2), nn.LeakyReLU(0.2), nn.Conv1d(c, 1, 3, padding=1)]
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return self.net(x)


class Periodic(nn.Module):
    """``(B, 1, T)`` -> ``(B, 1, T/p, p)``: the samples folded by period ``p`` (zero-padded at the
    end), so that a 2D convolution over the first axis sees every ``p``-th sample (HiFi-GAN)."""

    def __init__(self, period: int):
        super().__init__()
        self.period = int(period)

    def forward(self, x):
        p = self.period
        x = nn.functional.pad(x, (0, (-x.shape[-1]) % p))
        return x.reshape(x.shape[0], 1, -1, p)


class PeriodDiscriminator(nn.Module):
    """HiFi-GAN's period discriminator on a :class:`Periodic` view: (5x1) convolutions with
    stride 3 over the folded samples, widths doubling, a score map."""

    def __init__(self, channels: int = 16, downsamplings: int = 3, max_channels: int = 256):
        super().__init__()
        c, layers = 1, []
        width = channels
        for _ in range(downsamplings):
            layers += [nn.Conv2d(c, width, (5, 1), stride=(3, 1), padding=(2, 0)), nn.LeakyReLU(0.2)]
            c, width = width, min(2 * width, max_channels)
        layers += [nn.Conv2d(c, c, (5, 1), padding=(2, 0)), nn.LeakyReLU(0.2), nn.Conv2d(c, 1, (3, 1), padding=(1, 0))]
        self.net = nn.Sequential(*layers)

    def forward(self, folded):
        return self.net(folded)


class SpectrogramDiscriminator(nn.Module):
    """A 2D patch discriminator over ``(B, bins, frames)`` log spectrograms: conv (3x9) ->
    ``downsamplings`` stride-2 convs (3x9, width doubling) -> conv (3x3) to a score map."""

    def __init__(self, channels: int = 16, downsamplings: int = 3, max_channels: int = 256):
        super().__init__()
        c = channels
        layers = [nn.Conv2d(1, c, (3, 9), padding=(1, 4)), nn.LeakyReLU(0.2)]
        for _ in range(downsamplings):
            out = min(2 * c, max_channels)
            layers += [nn.Conv2d(c, out, (3, 9), stride=2, padding=(1, 4)), nn.LeakyReLU(0.2)]
            c = out
        layers.append(nn.Conv2d(c, 1, 3, padding=1))
        self.net = nn.Sequential(*layers)

    def forward(self, spec):
        return self.net(spec.unsqueeze(1))


def band_energy(y: np.ndarray, sample_rate: int, freqs) -> tuple[float, float]:
    """(energy at ``freqs``, energy elsewhere) of a signal's Hann-windowed spectrum, each
    frequency counted within +-2 bins: how much of a tone's output lies off its harmonics."""
    y = np.asarray(y, np.float64)
    spec = np.abs(np.fft.rfft(y * np.hanning(len(y)))) ** 2
    bins = np.fft.rfftfreq(len(y), 1.0 / sample_rate)
    on = np.zeros(len(spec), bool)
    step = bins[1]
    for f in freqs:
        on |= np.abs(bins - f) <= 2.5 * step
    return float(spec[on].sum()), float(spec[~on].sum())
