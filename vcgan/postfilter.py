"""`vcgan postfilter`: apply a trained GAN postfilter to speech files.

Mel-cepstrum model: WORLD analysis of the input, the postfilter on its mel-cepstra, and
either the input waveform filtered by the change of its envelope (``synthesis="filter"``:
the input's own excitation, no vocoder loss) or WORLD synthesis with the input's own F0
and aperiodicity (``synthesis="world"``). STFT model: the postfilter
on the log-amplitude spectrogram, inverted with the input's own phase (or Griffin-Lim).
Any length: long inputs are filtered in chunks with exact context.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .engine.checkpoint import inference_state, load_checkpoint
from .errors import CheckpointError, VcganError
from .features.audio import limit_peak, load_audio, output_paths, save_audio
from .features.cache import extract_file
from .features.stft import STFTConfig, stft_analyze, stft_synthesize
from .features.world import FeatureConfig, WorldFeatures, filter_by_envelope_change, synthesize

SYNTHESIS = ("filter", "world")  # how the mel-cepstrum model's output becomes a waveform


class _FilesMixin:
    """Apply ``filter_file`` to a file or a directory."""

    def filter_paths(self, inputs, out, seed: int = 0, griffin_lim: bool = False, chunk_frames: int = 2000,
                     progress: bool = True, synthesis: str = "filter") -> list[Path]:
        """Postfilter a file or every audio file of a directory into ``out`` (a file for one input, else a directory)."""
        from tqdm import tqdm

        files, targets = output_paths(inputs, out)
        for src, dst in tqdm(list(zip(files, targets)), desc="postfilter", unit="file", disable=not progress):
            y = self.filter_file(src, seed, griffin_lim, chunk_frames, synthesis)
            save_audio(dst, limit_peak(y, 0.99), self.sample_rate)
        return targets

    def filter_file(self, path, seed: int = 0, griffin_lim: bool = False, chunk_frames: int = 2000,
                    synthesis: str = "filter") -> np.ndarray:
        if synthesis not in SYNTHESIS:
            raise VcganError(f"synthesis: expected one of {SYNTHESIS}, got {synthesis!r}")
        if self.kind == "mcep":
            x = load_audio(path, self.sample_rate)
            world = extract_file(Path(path), self.features)
            spectral = self.filter_features(world.spectral, seed, chunk_frames)
            if synthesis == "filter":
                return filter_by_envelope_change(x, world.spectral, spectral, self.features)
            return synthesize(WorldFeatures(world.f0, spectral, world.coded_ap), self.features)
        x = load_audio(path, self.sample_rate)
        logamp, phase = stft_analyze(x, self.stft)
        out = self.filter_features(logamp, seed, chunk_frames)
        return stft_synthesize(out, None if griffin_lim else phase, self.stft, length=len(x))


class SpeechPostfilter(_FilesMixin):
    def __init__(self, model, meta: dict):
        self.model, self.meta = model, meta
        self.kind = meta["kind"]
        self.features = FeatureConfig.from_dict(meta["features"])
        self.stft = STFTConfig.from_dict(meta["stft"]) if meta.get("stft") else None
        self.sample_rate = self.stft.sample_rate if self.stft else self.features.sample_rate

    @classmethod
    def from_checkpoint(cls, path) -> "SpeechPostfilter":
        from .models.gan_postfilter import load_postfilter

        ckpt = load_checkpoint(path)
        meta = ckpt.get("meta") or {}
        if meta.get("family") != "gan_postfilter":
            raise CheckpointError(f"{path}: not a GAN postfilter checkpoint (family {meta.get('family')!r})")
        return cls(load_postfilter(meta, inference_state(ckpt)), meta)

    def filter_features(self, feats: np.ndarray, seed: int = 0, chunk_frames: int = 2000) -> np.ndarray:
        return self.model.apply(feats, seed=seed, chunk_frames=chunk_frames)


class GVScaling(_FilesMixin):
    """The standard non-learned postfilter: each utterance's spectral trajectories scaled
    around their mean to the natural training data's global variance (c0 / nothing kept)."""

    def __init__(self, gv: np.ndarray, kind: str, features: FeatureConfig, stft: STFTConfig | None = None):
        self.gv, self.kind, self.features, self.stft = np.asarray(gv, np.float64), kind, features, stft
        self.keep = 1 if kind == "mcep" else 0
        self.sample_rate = features.sample_rate

    @classmethod
    def from_features(cls, feats_dir, natural: str = "natural", kind: str = "mcep") -> "GVScaling":
        from .features.cache import FeatureStore
        from .metrics.postfilter import global_variance

        store = FeatureStore(feats_dir)
        store.check_speakers([natural])
        if kind == "mcep":
            trajs, stft = [u.spectral for u in store.utterances(natural, "train")], None
        else:
            from .models.gan_postfilter.data import stft_features

            stft = STFTConfig(sample_rate=store.config.sample_rate)
            trajs = list(stft_features(store, natural, "train", stft).values())
        if not trajs:
            raise VcganError(f"{feats_dir}: no natural training utterances ({natural!r}) to take the GV from")
        return cls(global_variance(trajs), kind, store.config, stft)

    def filter_features(self, feats: np.ndarray, seed: int = 0, chunk_frames: int = 0) -> np.ndarray:
        from .metrics.postfilter import gv_scaling

        return gv_scaling(feats, self.gv, keep=self.keep)
