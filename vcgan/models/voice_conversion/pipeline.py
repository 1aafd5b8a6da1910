"""The conversion pipeline shared by every voice-conversion model.

wav -> WORLD analysis -> normalise spectral features with the *source* speaker's
statistics -> model -> de-normalise with the *target* speaker's statistics ->
log-Gaussian F0 transform -> WORLD synthesis with the source aperiodicity.
A model is a callable on normalised features shaped (1, dims, frames); the
identity callable gives the statistics transform (the usual baseline).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from ...engine.chunking import apply_in_chunks
from ...features.audio import limit_peak
from ...features.f0 import convert_f0
from ...features.world import FeatureConfig, WorldFeatures, analyze, synthesize

Mapping = Callable[[torch.Tensor], torch.Tensor]


@dataclass
class SpeakerStats:
    spectral_mean: np.ndarray
    spectral_std: np.ndarray
    log_f0_mean: float
    log_f0_std: float

    @classmethod
    def from_dict(cls, d: dict) -> "SpeakerStats":
        return cls(np.asarray(d["spectral_mean"], np.float64), np.asarray(d["spectral_std"], np.float64),
                   float(d["log_f0_mean"]), float(d["log_f0_std"]))

    def normalize(self, spectral: np.ndarray) -> np.ndarray:
        return (spectral - self.spectral_mean) / self.spectral_std

    def model_input(self, spectral: np.ndarray) -> torch.Tensor:
        """Normalised (T, D) spectral features as the (1, D, T) float32 tensor a mapping takes."""
        return torch.from_numpy(self.normalize(spectral).T.astype(np.float32))[None]

    def denormalize(self, spectral: np.ndarray) -> np.ndarray:
        return spectral * self.spectral_std + self.spectral_mean

    @property
    def log_f0(self) -> tuple[float, float]:
        return self.log_f0_mean, self.log_f0_std


def identity(x: torch.Tensor) -> torch.Tensor:
    return x


def shift_average(fn: Mapping, shifts: int) -> Mapping:
    """``fn`` averaged over the input delayed by 0 .. shifts - 1 frames ("cycle spinning").

    The 2-1-2D generators downsample time by 4, so what they do to a frame depends on
    where it falls modulo 4; averaging the outputs of the 4 alignments makes the mapping
    shift-invariant, as translation-invariant denoising does for decimated wavelets
    (Coifman and Donoho, 1995). Each delayed copy starts with repeats of the first frame,
    which are dropped from its output."""
    if shifts < 1:
        raise ValueError(f"shifts must be at least 1, got {shifts}")
    if shifts == 1:
        return fn

    def averaged(x: torch.Tensor) -> torch.Tensor:
        delayed = (torch.cat([x[..., :1].expand(*x.shape[:-1], k), x], -1) for k in range(shifts))
        return sum(fn(xk)[..., k:].float() for k, xk in enumerate(delayed)) / shifts

    return averaged


def convert_features(
    feats: WorldFeatures,
    source: SpeakerStats,
    target: SpeakerStats,
    mapping: Mapping = identity,
    *,
    chunk_frames: int | None = None,
    chunk_overlap: int = 32,
) -> WorldFeatures:
    x = source.model_input(feats.spectral)
    with torch.no_grad():
        y = apply_in_chunks(mapping, x, chunk_frames, chunk_overlap)
    spectral = target.denormalize(y[0].float().numpy().T.astype(np.float64))
    return WorldFeatures(
        f0=convert_f0(feats.f0, source.log_f0, target.log_f0),
        spectral=spectral,
        coded_ap=feats.coded_ap,
    )


def convert_analysed(feats: WorldFeatures, cfg: FeatureConfig, source: SpeakerStats, target: SpeakerStats,
                     mapping: Mapping = identity, **kw) -> np.ndarray:
    """The converted waveform of an utterance already analysed (one analysis, many targets)."""
    return limit_peak(synthesize(convert_features(feats, source, target, mapping, **kw), cfg))


def convert_waveform(x: np.ndarray, cfg: FeatureConfig, source: SpeakerStats, target: SpeakerStats,
                     mapping: Mapping = identity, **kw) -> np.ndarray:
    return convert_analysed(analyze(x, cfg), cfg, source, target, mapping, **kw)


def quiet_cuts(x: np.ndarray, sample_rate: int, every_s: float, search_s: float, window_s: float = 0.05) -> list[int]:
    """Where to cut a long signal into pieces of about ``every_s`` seconds: the centre of the
    quietest ``window_s`` within the last ``search_s`` seconds before each nominal cut (a pause
    between words, where pieces join without a seam). Returns [0, cut, ..., len(x)]."""
    n, every, search = len(x), int(every_s * sample_rate), int(search_s * sample_rate)
    win = max(1, int(window_s * sample_rate))
    cuts = [0]
    while n - cuts[-1] > every + search:
        lo, hi = cuts[-1] + every - search, cuts[-1] + every
        energy = np.convolve(np.asarray(x[lo:hi], np.float64) ** 2, np.ones(win) / win, mode="valid")
        cuts.append(lo + int(np.argmin(energy)) + win // 2)
    return cuts + [n]


def convert_in_pieces(x: np.ndarray, cfg: FeatureConfig, source: SpeakerStats, conversions,
                      every_s: float = 20.0, search_s: float = 5.0, context_s: float = 0.25,
                      fade_s: float = 0.01, **kw) -> list[np.ndarray]:
    """:func:`convert_waveform` of a long input piece by piece, so that memory stays bounded
    by the piece length, not the input's: cut at quiet points (:func:`quiet_cuts`), each piece
    analysed once, with ``context_s`` of its neighbours, then converted and synthesised for each
    of ``conversions`` ((target statistics, mapping) pairs), and the pieces joined with ``fade_s``
    linear cross-fades. One waveform per conversion, each as long as ``x``."""
    sr, n = cfg.sample_rate, len(x)
    cuts = quiet_cuts(x, sr, every_s, search_s)
    ctx, fade = int(context_s * sr), int(fade_s * sr)
    outs, weight = [np.zeros(n) for _ in conversions], np.zeros(n)
    for a, b in zip(cuts[:-1], cuts[1:]):
        pa, pb = max(0, a - ctx), min(n, b + ctx)
        oa, ob = max(0, a - fade), min(n, b + fade)
        w = np.ones(ob - oa)
        if oa < a:
            w[: 2 * (a - oa)] = np.linspace(0, 1, 2 * (a - oa) + 2)[1:-1]
        if ob > b:
            w[-2 * (ob - b):] = np.linspace(1, 0, 2 * (ob - b) + 2)[1:-1]
        feats = analyze(x[pa:pb], cfg)
        for out, (target, mapping) in zip(outs, conversions):
            y = synthesize(convert_features(feats, source, target, mapping, **kw), cfg)
            y = np.pad(y, (0, max(0, (pb - pa) - len(y))))[: pb - pa]
            out[oa:ob] += w * y[oa - pa: ob - pa]
        weight[oa:ob] += w
    return [limit_peak(out / np.maximum(weight, 1e-8)) for out in outs]


def sample_media(utterance: WorldFeatures, features: FeatureConfig, stats: dict, source: str, target: str,
                 mapping: Mapping, step: int) -> list:
    """Converted audio and an envelope comparison of one utterance, for the training logger."""
    from ...features.world import spectral_to_envelope
    from ...plotting import spectrogram_figure

    conv = convert_features(utterance, SpeakerStats.from_dict(stats[source]), SpeakerStats.from_dict(stats[target]), mapping)
    wav = synthesize(conv, features)

    def log_env(spectral):
        return np.log(spectral_to_envelope(np.asarray(spectral, np.float64), features) + 1e-10)

    panels = [(f"source ({source})", log_env(utterance.spectral)),
              (f"converted {source}->{target}, step {step}", log_env(conv.spectral))]
    tag = f"convert/{source}_to_{target}"
    return [("audio", tag, wav, features.sample_rate),
            ("figure", tag + "_envelope", spectrogram_figure(panels, features.sample_rate))]
