"""The feature cache: WORLD features per utterance plus per-speaker statistics.

Layout of a feature directory::

    features.yaml          feature configuration the cache was made with
    manifest.json          speaker -> split -> [{"utt", "audio", "npz"}]
    stats.json             per-speaker statistics from the *training* split only
    <speaker>/<split>/<utt>.npz   f0, spectral, coded_ap
"""
from __future__ import annotations

import json
import os
import tempfile
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import yaml
from tqdm import tqdm

from ..errors import AudioError, VcganError
from ..fileio import atomic_write_text, content_digest, load_cached_npz, store_cached_npz
from .audio import load_audio
from .corpus import Corpus
from .f0 import log_f0_stats
from .world import FeatureConfig, WorldFeatures, analyze


def save_features(path: Path, feats: WorldFeatures) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".npz")
    os.close(fd)
    try:
        np.savez(tmp, f0=feats.f0, spectral=feats.spectral.astype(np.float32), coded_ap=feats.coded_ap.astype(np.float32))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_features(path: Path) -> WorldFeatures:
    """One prepared utterance; a missing, truncated or foreign file is a clear error naming it."""
    try:
        with np.load(path) as z:
            return WorldFeatures(f0=z["f0"].astype(np.float64), spectral=z["spectral"], coded_ap=z["coded_ap"])
    except FileNotFoundError:
        raise VcganError(f"{path}: prepared features missing; run `vcgan prepare` again") from None
    except Exception as exc:  # BadZipFile, EOFError, KeyError, ValueError: a damaged or foreign file
        raise VcganError(f"{path}: prepared features unreadable ({type(exc).__name__}: {exc}); delete it and "
                         "run `vcgan prepare` again") from None


def extract_file(audio_path: Path, cfg: FeatureConfig) -> WorldFeatures:
    """Load one file and analyse it; errors name the file."""
    x = load_audio(audio_path, cfg.sample_rate)
    feats = analyze(x, cfg)
    if not np.all(np.isfinite(feats.spectral)):
        raise AudioError(f"{audio_path}: WORLD analysis produced non-finite features")
    if not np.any(feats.f0 > 0):
        raise AudioError(f"{audio_path}: no voiced frames found (is it speech?)")
    return feats


# Bump when analyze() changes: cached analyses of an older definition are ignored.
ANALYSIS_VERSION = 1


def analyze_file_cached(audio_path, cfg: FeatureConfig, cache_dir=None) -> WorldFeatures:
    """WORLD analysis of one audio file; with ``cache_dir`` kept there by the hash of the
    file's bytes and the feature configuration, and reused by later calls (several
    systems converting the same inputs). An unreadable cache entry is analysed again."""
    if cache_dir is None:
        return analyze(load_audio(audio_path, cfg.sample_rate), cfg)
    key = content_digest(audio_path, f"world-analysis v{ANALYSIS_VERSION} {json.dumps(cfg.to_dict(), sort_keys=True)}")
    entry = Path(cache_dir) / f"{key}.npz"
    hit = load_cached_npz(entry, "f0", "spectral", "coded_ap")
    if hit is not None:  # stored at full precision: a cached analysis converts exactly as a fresh one
        return WorldFeatures(*hit)
    feats = analyze(load_audio(audio_path, cfg.sample_rate), cfg)
    store_cached_npz(entry, f0=feats.f0, spectral=feats.spectral, coded_ap=feats.coded_ap)
    return feats


def _job(args):
    audio_path, out_path, cfg_dict = args
    try:
        feats = extract_file(Path(audio_path), FeatureConfig(**cfg_dict))
    except AudioError as exc:
        return out_path, str(exc)
    except Exception as exc:  # a crash inside the vocoder still names the file
        return out_path, f"{audio_path}: feature extraction failed ({type(exc).__name__}: {exc})"
    save_features(Path(out_path), feats)
    return out_path, None


def _stamp(path) -> list:
    """Size and modification time of a file: an audio file whose stamp changed is analysed again."""
    st = Path(path).stat()
    return [st.st_size, st.st_mtime_ns]


def prepare_features(
    corpus: Corpus,
    out_dir,
    cfg: FeatureConfig,
    *,
    jobs: int | None = None,
    skip_bad: bool = False,
    progress: bool = True,
) -> dict:
    """Analyse every file of ``corpus`` once (in parallel, cached) and write statistics.

    Files already in the cache with the same feature configuration are not
    recomputed. A bad file raises :class:`AudioError`, or is reported and skipped
    when ``skip_bad`` is set. Returns the per-speaker statistics.
    """
    out_dir = Path(out_dir)
    cfg_file = out_dir / "features.yaml"
    if cfg_file.exists():
        old = yaml.safe_load(cfg_file.read_text()) or {}
        if old != cfg.to_dict():
            raise VcganError(
                f"{out_dir}: holds features made with a different configuration ({old}); "
                "use another output directory or delete it"
            )
    atomic_write_text(cfg_file, yaml.safe_dump(cfg.to_dict(), sort_keys=False))

    todo = []
    # speakers prepared earlier into the same directory stay in the manifest
    manifest = json.loads((out_dir / "manifest.json").read_text()) if (out_dir / "manifest.json").is_file() else {}
    # an npz is reused only if it was analysed from the same audio file, unchanged since
    previous = {e["npz"]: e for splits in manifest.values() for entries in splits.values() for e in entries}
    for spk, splits in corpus.items():
        manifest[spk] = {}
        for split, files in splits.items():
            dup = sorted(s for s, n in Counter(Path(f).stem for f in files).items() if n > 1)
            if dup:
                raise VcganError(f"speaker {spk!r} ({split}): several files share the name(s) {dup[:5]}; rename them")
            manifest[spk][split] = []
            for audio_path in files:
                npz = out_dir / spk / split / f"{Path(audio_path).stem}.npz"
                entry = {"utt": Path(audio_path).stem, "audio": str(audio_path), "npz": str(npz.relative_to(out_dir)),
                         "audio_stamp": _stamp(audio_path)}
                manifest[spk][split].append(entry)
                old = previous.get(entry["npz"], {})
                if not npz.exists() or (old.get("audio"), old.get("audio_stamp")) != (entry["audio"], entry["audio_stamp"]):
                    todo.append((str(audio_path), str(npz), cfg.to_dict()))

    jobs = jobs or os.cpu_count() or 1
    failures: dict[str, str] = {}
    if todo:
        bar = tqdm(total=len(todo), desc="WORLD analysis", unit="utt", disable=not progress)
        if jobs == 1:
            results = map(_job, todo)
        else:
            pool = ProcessPoolExecutor(max_workers=jobs)
            results = pool.map(_job, todo, chunksize=1)
        try:
            for out_path, err in results:
                bar.update(1)
                if err is not None:
                    if not skip_bad:
                        raise AudioError(err)
                    failures[out_path] = err
                    tqdm.write(f"skipping: {err}")
        finally:
            bar.close()
            if jobs != 1:
                pool.shutdown(cancel_futures=True)

    for spk in manifest:
        for split in manifest[spk]:
            manifest[spk][split] = [
                e for e in manifest[spk][split] if str(out_dir / e["npz"]) not in failures
            ]
    atomic_write_text(out_dir / "manifest.json", json.dumps(manifest, indent=1))
    stats = compute_stats(out_dir, manifest)
    atomic_write_text(out_dir / "stats.json", json.dumps(stats, indent=1))
    return stats


def compute_stats(out_dir: Path, manifest: dict) -> dict:
    """Per-speaker spectral mean/std and log-F0 mean/std from the training split only."""
    stats = {}
    for spk, splits in manifest.items():
        entries = splits.get("train", [])
        if not entries:
            raise VcganError(f"speaker {spk!r}: no usable training utterances for statistics")
        feats = [load_features(out_dir / e["npz"]) for e in entries]
        spec = np.concatenate([f.spectral for f in feats]).astype(np.float64)
        try:
            mu, sd = log_f0_stats([f.f0 for f in feats])
        except ValueError:
            raise VcganError(f"speaker {spk!r}: too few voiced frames in the training data for F0 statistics") from None
        stats[spk] = {
            "spectral_mean": spec.mean(0).tolist(),
            "spectral_std": np.maximum(spec.std(0), 1e-5).tolist(),
            "log_f0_mean": mu,
            "log_f0_std": sd,
            "num_utterances": len(feats),
            "num_frames": int(spec.shape[0]),
        }
    return stats


class FeatureStore:
    """Read access to a prepared feature directory."""

    def __init__(self, root):
        self.root = Path(root)
        for name in ("features.yaml", "manifest.json", "stats.json"):
            if not (self.root / name).is_file():
                raise VcganError(f"{self.root}: not a prepared feature directory ({name} missing; run `vcgan prepare`)")
        self.config = FeatureConfig.from_dict(yaml.safe_load((self.root / "features.yaml").read_text()))
        self.manifest = json.loads((self.root / "manifest.json").read_text())
        self.stats = json.loads((self.root / "stats.json").read_text())

    @property
    def speakers(self) -> list[str]:
        return sorted(self.manifest)

    def check_speakers(self, speakers) -> None:
        missing = [s for s in speakers if s not in self.manifest]
        if missing:
            raise VcganError(f"{self.root}: speaker(s) {missing} not prepared; available: {self.speakers}")

    def utterances(self, speaker: str, split: str = "train") -> list[WorldFeatures]:
        self.check_speakers([speaker])
        return [load_features(self.root / e["npz"]) for e in self.manifest[speaker].get(split, [])]

