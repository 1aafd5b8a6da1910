"""Synthetic/natural pairs for postfilter training, made offline from festival speech.

Natural speech: festival waveforms with their segment dumps (``<utt>.wav`` + ``<utt>.seg``).
Synthetic speech of the same sentences: an MSE acoustic model predicts the spectral
features from frame labels; the waveform is rebuilt with the *natural* excitation, so
only the spectral part differs:

* ``mcep``: predicted mel-cepstra, WORLD synthesis with the natural F0 and aperiodicity;
* ``stft``: predicted log-amplitude spectrogram (the model also gets the natural log-F0
  and voicing as input), inverted with the natural phase.

Training utterances get out-of-fold predictions (K folds); test utterances a model
trained on all training utterances. Output: ``OUT/{natural,synthetic}/{train,test}/
<utt>.wav`` (a corpus ``vcgan prepare`` reads) and ``OUT/pairs.json``, which records the
global variance of both sides: synthetic speech must have less than natural speech.

``dev=N`` moves the last N training utterances (by name) into ``OUT/*/dev``: their
synthetic side is out-of-fold like the rest of the training side, and ``vcgan prepare``
never reads them, so a postfilter can be tuned on them without touching the test set.
"""
from __future__ import annotations

import json
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict
from pathlib import Path

import numpy as np

from ..errors import VcganError
from ..features.audio import limit_peak, list_audio, load_audio, save_audio
from ..features.f0 import interpolate_log_f0
from ..features.stft import STFTConfig, stft_analyze, stft_synthesize
from ..features.world import FeatureConfig, WorldFeatures, analyze, synthesize
from ..fileio import atomic_write_text
from ..metrics.oversmoothing import global_variance
from .acoustic import AcousticConfig, out_of_fold, train_acoustic
from .festival import read_segments
from .labels import frame_labels

KINDS = ("mcep", "stft")


def _analyse(args):
    path, feats_cfg, stft_cfg = args
    x = load_audio(path, feats_cfg["sample_rate"])
    world = analyze(x, FeatureConfig(**feats_cfg))
    out = {"x": x, "world": world}
    if stft_cfg:
        out["logamp"], out["phase"] = stft_analyze(x, STFTConfig(**stft_cfg))
    return out


def _utterances(directory) -> list[tuple[str, Path, Path]]:
    directory = Path(directory)
    if not directory.is_dir():
        raise VcganError(f"{directory}: no such directory")
    out = []
    for wav in list_audio(directory):
        seg = wav.with_suffix(".seg")
        if not seg.is_file():
            raise VcganError(f"{wav}: no segment file {seg.name} beside it")
        out.append((wav.stem, wav, seg))
    if not out:
        raise VcganError(f"{directory}: no audio files")
    return out


def _inputs(labels: np.ndarray, world: WorldFeatures, kind: str) -> np.ndarray:
    if kind == "mcep":
        return labels
    lf0 = interpolate_log_f0(world.f0)[:, None]
    return np.concatenate([labels, lf0, (world.f0 > 0)[:, None]], 1).astype(np.float32)


def make_pairs(train_dir, test_dir, out_dir, kind: str = "mcep", folds: int = 4,
               features: FeatureConfig | None = None, stft: STFTConfig | None = None,
               acoustic: AcousticConfig | None = None, jobs: int | None = None, progress: bool = True,
               dev: int = 0) -> dict:
    from tqdm import tqdm

    if kind not in KINDS:
        raise VcganError(f"kind: expected one of {KINDS}, got {kind!r}")
    features, acoustic = features or FeatureConfig(), acoustic or AcousticConfig()
    stft = (stft or STFTConfig(sample_rate=features.sample_rate)) if kind == "stft" else None
    out_dir = Path(out_dir)
    splits = {"train": _utterances(train_dir), "test": _utterances(test_dir)}
    if dev < 0:
        raise VcganError(f"dev: expected a number of training utterances >= 0, got {dev}")
    if dev and dev > len(splits["train"]) - folds:
        raise VcganError(f"dev: {dev} of {len(splits['train'])} training utterances leaves fewer than "
                         f"{folds} (the folds) to train on")
    jobs = jobs or os.cpu_count() or 1
    data = {}
    for split, utts in splits.items():
        args = [(str(wav), features.to_dict(), stft.to_dict() if stft else None) for _, wav, _ in utts]
        with ProcessPoolExecutor(jobs) as pool:
            analysed = list(tqdm(pool.map(_analyse, args), total=len(args), desc=f"analysing {split}",
                                 disable=not progress))
        items = []
        for (name, wav, seg), a in zip(utts, analysed):
            world = a["world"]
            labels = frame_labels(read_segments(seg), world.num_frames, features.frame_period)
            full = world.spectral if kind == "mcep" else a["logamp"]  # what the acoustic model predicts
            n = min(len(full), world.num_frames)
            items.append({"name": name, "x": a["x"], "world": world, "phase": a.get("phase"), "full": full,
                          "inputs": _inputs(labels, world, kind)[:n], "target": np.asarray(full[:n], np.float32)})
        data[split] = items

    train, test = data["train"], data["test"]
    preds = {"train": out_of_fold([u["inputs"] for u in train], [u["target"] for u in train], folds, acoustic,
                                  progress)}
    model = train_acoustic([u["inputs"] for u in train], [u["target"] for u in train], acoustic, progress,
                           desc="acoustic model, all training data")
    preds["test"] = [model.predict(u["inputs"]) for u in test]

    if dev:  # the last `dev` training utterances: out-of-fold predictions, kept out of the postfilter's data
        cut = len(train) - dev
        data = {"train": train[:cut], "dev": train[cut:], "test": test}
        preds = {"train": preds["train"][:cut], "dev": preds["train"][cut:], "test": preds["test"]}
    report = {"kind": kind, "folds": folds, "acoustic": asdict(acoustic), "features": features.to_dict(),
              "stft": stft.to_dict() if stft else None, "splits": {}}
    for split, items in data.items():
        for u, pred in tqdm(list(zip(items, preds[split])), desc=f"synthesising {split}", disable=not progress):
            w, predicted = u["world"], np.array(u["full"], dtype=np.float64)
            predicted[:len(pred)] = pred
            if kind == "mcep":
                y = synthesize(WorldFeatures(w.f0, predicted, w.coded_ap), features)
            else:
                y = stft_synthesize(predicted, u["phase"], stft, length=len(u["x"]))
            save_audio(out_dir / "synthetic" / split / f"{u['name']}.wav", limit_peak(y, 0.99), features.sample_rate)
            save_audio(out_dir / "natural" / split / f"{u['name']}.wav", u["x"], features.sample_rate)
        gv_nat = global_variance([u["target"] for u in items])
        gv_syn = global_variance(preds[split])
        report["splits"][split] = {
            "utterances": len(items),
            "gv_natural": float(np.mean(gv_nat[1:])), "gv_synthetic": float(np.mean(gv_syn[1:])),
            "gv_ratio_per_dim": (gv_syn / np.maximum(gv_nat, 1e-12)).tolist(),
            "rmse": float(np.sqrt(np.mean(np.concatenate([(p - u["target"]) ** 2 for p, u in zip(preds[split], items)])))),
        }
    atomic_write_text(out_dir / "pairs.json", json.dumps(report, indent=1))
    t = report["splits"]["test"]
    if not t["gv_synthetic"] < t["gv_natural"]:
        raise VcganError(f"synthetic speech is not over-smoothed: its mean GV on the test set ({t['gv_synthetic']:.4g}) "
                         f"is not below natural speech's ({t['gv_natural']:.4g}); see {out_dir / 'pairs.json'}")
    return report
