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

from ...engine.checkpoint import inference_state, weights_mismatch
from ...engine.inference import InferenceModel
from ...errors import CheckpointError, VcganError
from ...features.audio import limit_peak, load_audio, output_paths, save_audio
from ...features.cache import extract_file
from ...features.stft import STFTConfig, stft_analyze, stft_synthesize
from ...features.world import FeatureConfig, WorldFeatures, filter_by_envelope_change, synthesize

SYNTHESIS = ("filter", "world")  # how the mel-cepstrum model's output becomes a waveform


class _FilesMixin:
    """Apply ``filter_file`` to a file or a directory."""

    def filter_paths(self, inputs, out, seed: int = 0, griffin_lim: bool = False, chunk_frames: int | None = 2000,
                     progress: bool = True, synthesis: str | None = "filter", skip_bad: bool = False) -> list[Path]:
        """Postfilter a file or every audio file of a directory into ``out`` (a file for one input,
        else a directory). With ``skip_bad`` an unusable input is reported and skipped (``self.skipped``)."""
        from ...fileio import map_files

        if synthesis is not None and self.kind != "mcep":
            raise VcganError("--synthesis: for the mel-cepstrum model (the STFT model keeps the input's phase)")
        if griffin_lim and self.kind != "stft":
            raise VcganError("--griffin-lim: for the STFT model (the mel-cepstrum model filters the input waveform)")
        synthesis = synthesis or "filter"
        chunk_frames = 2000 if chunk_frames is None else chunk_frames
        if synthesis not in SYNTHESIS:
            raise VcganError(f"synthesis: expected one of {SYNTHESIS}, got {synthesis!r}")
        if chunk_frames is not None and chunk_frames < 1:
            raise VcganError(f"--chunk-frames: give a positive number of frames, got {chunk_frames}")
        files, targets = output_paths(inputs, out)

        def one(i):
            y = self.filter_file(files[i], seed, griffin_lim, chunk_frames, synthesis)
            save_audio(targets[i], limit_peak(y, 0.99), self.sample_rate)

        done, skipped = map_files(range(len(files)), one, skip_bad=skip_bad, progress=progress, desc="postfilter")
        self.skipped = [(files[i], msg) for i, msg in skipped]
        return [targets[i] for i in done]

    def apply_paths(self, inputs, out, **options) -> list[Path]:
        return self.filter_paths(inputs, out, **options)

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


class SpeechPostfilter(_FilesMixin, InferenceModel):
    """A trained GAN postfilter (mel-cepstrum or band-split STFT) as ``vcgan postfilter`` applies it."""

    purpose = "postfilter for synthetic speech"

    def __init__(self, model, meta: dict, path=None, checkpoint: dict | None = None):
        from .family import FAMILY

        InferenceModel.__init__(self, path or "(in memory)", checkpoint or {"meta": meta}, FAMILY)
        self.model, self.meta = model, meta
        self.kind = meta["kind"]  # mcep | stft
        self.features = FeatureConfig.from_dict(meta["features"])
        self.stft = STFTConfig.from_dict(meta["stft"]) if meta.get("stft") else None
        self.sample_rate = self.stft.sample_rate if self.stft else self.features.sample_rate

    @classmethod
    def from_checkpoint(cls, path) -> "SpeechPostfilter":
        from ...engine.inference import load_inference

        return load_inference(path, command="postfilter")

    def details(self) -> dict:
        if self.kind == "mcep":
            what = (f"{self.features.spectral_dim}-dim mel-cepstra at {self.features.sample_rate} Hz "
                    "(synthetic -> natural); output filtered by the envelope change or WORLD-resynthesised")
        else:
            what = (f"log-amplitude STFT ({self.stft.n_fft}-point) at {self.stft.sample_rate} Hz in "
                    f"{len(self.meta.get('bands') or [])} bands (synthetic -> natural); the input's phase kept")
        return {"maps": what}

    def filter_features(self, feats: np.ndarray, seed: int = 0, chunk_frames: int = 2000) -> np.ndarray:
        return self.model.apply(feats, seed=seed, chunk_frames=chunk_frames)

    def apply(self, path, **options) -> np.ndarray:
        """The postfiltered waveform of one audio file (``filter_file``)."""
        return self.filter_file(path, **options)



def load_checkpoint_postfilter(path, checkpoint: dict, device: str = "cpu") -> SpeechPostfilter:
    """``Family.load`` of the GAN postfilters (they run on the CPU: ``device`` other than "cpu" is refused)."""
    if str(device) != "cpu":
        raise VcganError(f"the GAN postfilters run on the CPU (device {device!r} asked)")
    from .family import load_postfilter

    meta = checkpoint.get("meta") or {}
    try:
        model = load_postfilter(meta, inference_state(checkpoint))
    except RuntimeError as err:  # load_state_dict: missing, unexpected or misshapen weights
        raise weights_mismatch(path, "gan_postfilter", err) from None
    except KeyError as err:
        raise CheckpointError(f"{path}: gan_postfilter checkpoint without {err} in its metadata") from None
    return SpeechPostfilter(model, meta, path, checkpoint)


class GVScaling(_FilesMixin):
    """The standard non-learned postfilter: each utterance's spectral trajectories scaled
    around their mean to the natural training data's global variance (c0 / nothing kept)."""

    def __init__(self, gv: np.ndarray, kind: str, features: FeatureConfig, stft: STFTConfig | None = None):
        self.gv, self.kind, self.features, self.stft = np.asarray(gv, np.float64), kind, features, stft
        self.keep = 1 if kind == "mcep" else 0
        self.sample_rate = features.sample_rate

    @classmethod
    def from_features(cls, feats_dir, natural: str = "natural", kind: str = "mcep") -> "GVScaling":
        from ...features.cache import FeatureStore
        from ...metrics.oversmoothing import global_variance

        store = FeatureStore(feats_dir)
        store.check_speakers([natural])
        if kind == "mcep":
            trajs, stft = [u.spectral for u in store.utterances(natural, "train")], None
        else:
            from .data import stft_features

            stft = STFTConfig(sample_rate=store.config.sample_rate)
            trajs = list(stft_features(store, natural, "train", stft).values())
        if not trajs:
            raise VcganError(f"{feats_dir}: no natural training utterances ({natural!r}) to take the GV from")
        return cls(global_variance(trajs), kind, store.config, stft)

    def filter_features(self, feats: np.ndarray, seed: int = 0, chunk_frames: int = 0) -> np.ndarray:
        from ...metrics.oversmoothing import gv_scaling

        return gv_scaling(feats, self.gv, keep=self.keep)
