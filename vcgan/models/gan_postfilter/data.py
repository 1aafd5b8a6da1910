"""Synthetic/natural training pairs for the GAN postfilters.

A prepared feature directory (``vcgan prepare`` of ``ROOT/synthetic/*.wav`` and
``ROOT/natural/*.wav``) holds WORLD features of both sides; utterances pair by name.
Pairs are aligned frame by frame or by DTW (:func:`align_frames`), and the natural
frames are gathered onto the synthetic time axis, the postfilter's input.

Features: ``mcep`` (the WORLD mel-cepstra) or ``stft`` (log-amplitude spectrograms of
the same audio, cached beside the WORLD features). Both sides are normalised with the
natural training data's mean and standard deviation per dimension.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from ...errors import VcganError
from ...features.alignment import align_frames
from ...features.audio import load_audio
from ...features.cache import FeatureStore, load_features
from ...features.stft import STFTConfig, stft_analyze
from ...fileio import atomic_write_text


def stft_features(store: FeatureStore, speaker: str, split: str, cfg: STFTConfig) -> dict[str, np.ndarray]:
    """utt -> (frames, bins) log-amplitude of each file, cached under ``feats_dir/stft_<n_fft>_<win>_<hop>``."""
    root = store.root / f"stft_{cfg.n_fft}_{cfg.win_length}_{cfg.hop_length}" / speaker / split
    out = {}
    for e in store.manifest[speaker].get(split, []):
        path = root / f"{e['utt']}.npz"
        stamp = np.asarray(e.get("audio_stamp", [0, 0]), dtype=np.int64)
        if path.is_file():
            with np.load(path) as z:
                if np.array_equal(z["stamp"], stamp):
                    out[e["utt"]] = z["logamp"]
                    continue
        logamp, _ = stft_analyze(load_audio(e["audio"], cfg.sample_rate), cfg)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.npz")
        np.savez(tmp, logamp=logamp.astype(np.float32), stamp=stamp)
        tmp.replace(path)
        out[e["utt"]] = logamp.astype(np.float32)
    return out


def paired_utterances(store: FeatureStore, synthetic: str, natural: str, split: str = "train",
                      kind: str = "mcep", stft: STFTConfig | None = None, report_path=None):
    """[(name, x, y)] aligned on the synthetic time axis, and the alignment report."""
    store.check_speakers([synthetic, natural])
    syn = {e["utt"]: e for e in store.manifest[synthetic].get(split, [])}
    nat = {e["utt"]: e for e in store.manifest[natural].get(split, [])}
    names = sorted(set(syn) & set(nat))
    if not names:
        raise VcganError(f"{store.root}: no {split} utterance of {synthetic!r} has a same-named one in {natural!r}")
    unpaired = sorted(set(syn) ^ set(nat))
    if kind == "stft":
        if stft.hop_length * 1000 != store.config.frame_period * stft.sample_rate:
            raise VcganError(f"stft.hop_length {stft.hop_length} is not the WORLD frame period "
                             f"({store.config.frame_period} ms at {stft.sample_rate} Hz)")
        spec_x, spec_y = (stft_features(store, s, split, stft) for s in (synthetic, natural))
    pairs, report = [], {"pairs": len(names), "unpaired": unpaired, "utterances": {}}
    for name in names:
        fx, fy = load_features(store.root / syn[name]["npz"]), load_features(store.root / nat[name]["npz"])
        idx, rep = align_frames(fx.spectral, fy.spectral)
        report["utterances"][name] = rep
        if kind == "stft":
            x, y = spec_x[name], spec_y[name]
            n = min(len(x), len(idx))
            x, idx = x[:n], np.minimum(idx[:n], len(y) - 1)
        else:
            x, y = fx.spectral, fy.spectral
        pairs.append((name, np.asarray(x, np.float32), np.asarray(y, np.float32)[idx]))
    dtw = [r for r in report["utterances"].values() if r["method"] == "dtw"]
    report["dtw_pairs"] = len(dtw)
    report["mean_stretch"] = float(np.mean([r["stretch"] for r in dtw])) if dtw else 0.0
    report["max_stretch"] = float(max((r["stretch"] for r in dtw), default=0.0))
    if report_path is not None:
        atomic_write_text(Path(report_path), json.dumps(report, indent=1))
    return pairs, report


def natural_statistics(pairs) -> dict:
    y = np.concatenate([p[2] for p in pairs]).astype(np.float64)
    return {"mean": y.mean(0).tolist(), "std": np.maximum(y.std(0), 1e-5).tolist()}


class PairedCrops:
    """Dataset for :class:`ResumableLoader`: a random aligned crop of ``frames`` frames of
    one utterance pair as ``x`` (synthetic) and ``y`` (natural), each (1, frames, dims),
    normalised. Pairs shorter than a crop are left out (and counted)."""

    def __init__(self, pairs, stats: dict, frames: int):
        mean, std = np.asarray(stats["mean"], np.float32), np.asarray(stats["std"], np.float32)
        self.frames = int(frames)
        kept = [(x, y) for _, x, y in pairs if len(x) >= self.frames]
        self.too_short = len(pairs) - len(kept)
        if not kept:
            raise VcganError(f"data.segment_frames={frames}: every training pair is shorter than that")
        self.pairs = [((x - mean) / std, (y - mean) / std) for x, y in kept]

    def __len__(self):
        return len(self.pairs)

    def get(self, index: int, rng: np.random.Generator) -> dict:
        x, y = self.pairs[index]
        start = int(rng.integers(0, len(x) - self.frames + 1))
        sl = slice(start, start + self.frames)
        return {"x": torch.from_numpy(x[None, sl].copy()), "y": torch.from_numpy(y[None, sl].copy())}
