"""One report writer for every evaluation (speech, postfilter, image): JSON + Markdown
(+ the PNG figures a report draws), and paired bootstrap intervals for the difference
between a system and a baseline scored on the same items (utterances, images).

The bootstrap resamples *units* with replacement: an utterance, or, where several
directions convert the same sentences, a sentence with all its directions at once
(``units``), so that an average over directions is not treated as more independent
evidence than the sentences behind it.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .fileio import atomic_write_text

BOOTSTRAP_RESAMPLES = 10000
CONFIDENCE = 0.95


def paired_bootstrap(system, baseline, units=None, resamples: int = BOOTSTRAP_RESAMPLES, seed: int = 0,
                     statistic=None) -> dict:
    """The mean difference ``system - baseline`` over paired items and its bootstrap 95% interval.

    ``system``, ``baseline``: per-item values in the same order. ``units``: the resampling unit
    of each item (default: each item its own); every item of a drawn unit enters the resample.
    ``statistic(indices) -> float``, where given, replaces the mean difference for set-level
    measures (e.g. a distance between global variances): it gets the item indices of a resample.
    Returns ``{"difference", "low", "high", "items", "units", "excludes_zero"}``.
    """
    a, b = np.asarray(system, np.float64), np.asarray(baseline, np.float64)
    if a.shape != b.shape or a.ndim != 1 or len(a) == 0:
        raise ValueError(f"paired bootstrap needs two equal-length, non-empty value lists, got {a.shape} and {b.shape}")
    units = np.arange(len(a)) if units is None else np.asarray(units)
    labels, inverse = np.unique(units, return_inverse=True)
    members = [np.flatnonzero(inverse == u) for u in range(len(labels))]
    stat = statistic or (lambda idx: float(np.nanmean(a[idx] - b[idx])))
    rng = np.random.default_rng(seed)
    if statistic is None and len(members) == len(a):  # one item per unit: resamples in blocks of rows
        diff, draws = a - b, np.empty(resamples)
        block = max(1, 2_000_000 // len(a))  # at most ~16 MB of indices at a time
        for r in range(0, resamples, block):
            picks = rng.integers(0, len(a), (min(block, resamples - r), len(a)))
            draws[r:r + len(picks)] = np.nanmean(diff[picks], axis=1)
    else:
        draws = np.empty(resamples)
        for r in range(resamples):
            pick = rng.integers(0, len(members), len(members))
            draws[r] = stat(np.concatenate([members[u] for u in pick]))
    tail = (1.0 - CONFIDENCE) / 2
    low, high = np.nanquantile(draws, [tail, 1.0 - tail])
    return {"difference": stat(np.arange(len(a))), "low": float(low), "high": float(high), "items": int(len(a)),
            "units": int(len(members)), "excludes_zero": bool(low > 0 or high < 0)}


def interval_text(ci: dict, digits: int = 2) -> str:
    """``-1.23 [-1.40, -1.05]``: the difference and its 95% interval."""
    return f"{ci['difference']:+.{digits}f} [{ci['low']:+.{digits}f}, {ci['high']:+.{digits}f}]"


def write_report(out_prefix, result: dict, markdown: str, figures=()) -> list[Path]:
    """``result`` to OUT_PREFIX.json and ``markdown`` (with the ``figures``, PNG paths beside
    it, linked at its end) to OUT_PREFIX.md, atomically; returns the paths written."""
    out_prefix = Path(out_prefix)
    out_prefix.parent.mkdir(parents=True, exist_ok=True)
    js, md = out_prefix.with_suffix(".json"), out_prefix.with_suffix(".md")
    figures = [Path(f) for f in figures]
    links = "".join(f"\n![{f.stem}]({f.relative_to(md.parent) if f.is_relative_to(md.parent) else f})\n"
                    for f in figures)
    atomic_write_text(js, json.dumps(result, indent=1) + "\n")
    atomic_write_text(md, markdown + links)
    return [js, md, *figures]
