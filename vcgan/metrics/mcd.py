"""Objective measures between reference and converted speech.

MCD[dB] = 10/ln10 * sqrt(2 * sum_{d=1..24} (mc_ref[d] - mc_conv[d])^2), averaged over
the DTW path (DTW on c1..c24) after silent frames are dropped; mel-cepstra are
SPTK ``sp2mc`` of WORLD CheapTrick envelopes (harvest F0), order 24, with the
all-pass constant used throughout the literature (0.42 at 16 kHz), so figures
compare with published ones. c0 (energy) is excluded.
"""
from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pysptk
import pyworld

from ..features.audio import list_audio, load_audio
from ..fileio import content_digest, load_cached_npz, store_cached_npz

# Frequency-warping constants customary for mel-cepstral distortion.
LITERATURE_ALPHA = {8000: 0.31, 11025: 0.357, 16000: 0.42, 22050: 0.455, 24000: 0.466, 32000: 0.504, 44100: 0.544, 48000: 0.554}
MCD_ORDER = 24
# frames whose c0 lies more than this many nepers below the utterance maximum count as silence
SILENCE_C0_RANGE = 8.0
MCD_CONST = 10.0 / np.log(10.0) * np.sqrt(2.0)


def metric_alpha(sample_rate: int) -> float:
    return LITERATURE_ALPHA.get(sample_rate, float(pysptk.util.mcepalpha(sample_rate)))


def metric_analysis(x: np.ndarray, sample_rate: int) -> tuple[np.ndarray, np.ndarray]:
    """(mel-cepstrum [T, 25], F0 [T]) of every frame, as the measures define them."""
    x = np.ascontiguousarray(x, dtype=np.float64)
    f0, t = pyworld.harvest(x, sample_rate, frame_period=5.0)
    sp = pyworld.cheaptrick(x, f0, t, sample_rate)
    return pysptk.sp2mc(sp, MCD_ORDER, metric_alpha(sample_rate)), f0


def non_silent(mc: np.ndarray) -> np.ndarray:
    """Mask of the frames whose c0 lies within SILENCE_C0_RANGE of the utterance maximum."""
    return mc[:, 0] > mc[:, 0].max() - SILENCE_C0_RANGE


def analysis_for_metrics(x: np.ndarray, sample_rate: int) -> tuple[np.ndarray, np.ndarray]:
    """(mel-cepstrum [T, 25], F0 [T]) of non-silent frames."""
    mc, f0 = metric_analysis(x, sample_rate)
    keep = non_silent(mc)
    return mc[keep], f0[keep]


def dtw_path(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Optimal alignment (pairs of frame indices) under Euclidean frame distance."""
    import librosa

    _, wp = librosa.sequence.dtw(a.T, b.T, metric="euclidean")
    return wp[::-1]


@dataclass
class PairScore:
    name: str
    mcd: float
    log_f0_rmse: float
    vuv_error: float
    frames: int

    def as_dict(self):
        return dict(self.__dict__)


def score_features(name, mc_ref, f0_ref, mc_conv, f0_conv) -> PairScore:
    path = dtw_path(mc_ref[:, 1:], mc_conv[:, 1:])
    diff = mc_ref[path[:, 0], 1:] - mc_conv[path[:, 1], 1:]
    mcd = float(MCD_CONST * np.sqrt((diff**2).sum(1)).mean())
    fr, fc = f0_ref[path[:, 0]], f0_conv[path[:, 1]]
    both = (fr > 0) & (fc > 0)
    rmse = float(np.sqrt(np.mean((np.log(fr[both]) - np.log(fc[both])) ** 2))) if both.any() else float("nan")
    vuv = float(np.mean((fr > 0) != (fc > 0)))
    return PairScore(name, mcd, rmse, vuv, int(len(path)))


def analyse_file(path, sample_rate: int = 16000) -> tuple[np.ndarray, np.ndarray]:
    """:func:`analysis_for_metrics` of an audio file."""
    return analysis_for_metrics(load_audio(path, sample_rate), sample_rate)


# Bump when metric_analysis changes: cached analyses of an older definition are ignored.
ANALYSIS_VERSION = 1


def content_key(path, sample_rate: int) -> str:
    """Hash of the file's bytes and the analysis definition: equal keys, equal analyses."""
    return content_digest(path, f"metric-analysis v{ANALYSIS_VERSION} sr{sample_rate}")


def _analyse_job(args):
    return analyse_file(*args)


def analyse_files(paths, sample_rate: int = 16000, jobs: int | None = None, progress: bool = True,
                  cache_dir=None, desc: str = "analysing") -> dict[Path, tuple[np.ndarray, np.ndarray]]:
    """Metric analyses (non-silent mel-cepstra and F0) of ``paths``.

    Files with identical contents (a reference scored in several directions, an
    unconverted copy of a source file) are analysed once; with ``cache_dir`` the
    analyses are kept there by content hash, so later calls (other systems, other
    runs on the same references) reuse them.
    """
    keys = {p: content_key(p, sample_rate) for p in dict.fromkeys(map(Path, paths))}
    cache_dir = Path(cache_dir) if cache_dir else None
    done: dict[str, tuple] = {}
    todo: dict[str, Path] = {}
    for p, k in keys.items():
        if k in done or k in todo:
            continue
        hit = load_cached_npz(cache_dir / f"{k}.npz", "mc", "f0") if cache_dir else None
        if hit is not None:
            done[k] = hit
        else:
            todo[k] = p
    from tqdm import tqdm

    args = [(p, sample_rate) for p in todo.values()]
    jobs = max(1, min(jobs or os.cpu_count() or 1, len(args)))
    bar = dict(total=len(args), desc=desc, disable=not progress or not args)
    if jobs == 1:
        fresh = list(tqdm(map(_analyse_job, args), **bar))
    else:
        with ProcessPoolExecutor(jobs) as pool:
            fresh = list(tqdm(pool.map(_analyse_job, args), **bar))
    for k, analysis in zip(todo, fresh):
        done[k] = analysis
        if cache_dir:
            store_cached_npz(cache_dir / f"{k}.npz", mc=analysis[0], f0=analysis[1])
    return {p: done[k] for p, k in keys.items()}


def pair_files(ref_dir, conv_dir) -> list[tuple[Path, Path]]:
    """Converted files with a same-named (any audio extension) reference file."""
    refs = {p.stem: p for p in list_audio(ref_dir)}
    return [(refs[c.stem], c) for c in list_audio(conv_dir) if c.stem in refs]


def paired_or_error(ref_dir, conv_dir) -> list[tuple[Path, Path]]:
    pairs = pair_files(ref_dir, conv_dir)
    if not pairs:
        from ..errors import VcganError

        raise VcganError(f"no file in {conv_dir} has a same-named reference in {ref_dir}")
    return pairs


def score_pairs(pairs, analyses) -> list[PairScore]:
    return [score_features(c.stem, *analyses[r], *analyses[c]) for r, c in pairs]


def summarize(scores: list[PairScore]) -> dict:
    return {
        "files": len(scores),
        "mcd": float(np.mean([s.mcd for s in scores])),
        "mcd_std": float(np.std([s.mcd for s in scores])),
        "log_f0_rmse": float(np.nanmean([s.log_f0_rmse for s in scores])),
        "vuv_error": float(np.mean([s.vuv_error for s in scores])),
    }
