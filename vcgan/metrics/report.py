"""`vcgan evaluate`: score converted directories and write JSON + a Markdown table."""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from ..errors import VcganError
from ..fileio import atomic_write_text
from .mcd import analyse_files, paired_or_error, score_pairs, summarize

DIRECTION = re.compile(r"^(?P<src>.+)_to_(?P<tgt>.+)$")


def _ref_dir_for(ref_root: Path, target: str) -> Path:
    for cand in (ref_root / target / "test", ref_root / target):
        if cand.is_dir():
            return cand
    raise VcganError(f"{ref_root}: no reference directory for target speaker {target!r} (looked in {target}/test and {target})")


def evaluate(ref_dir, conv_dir, sample_rate: int = 16000, jobs=None, progress=True, cache_dir=None) -> dict:
    """Score ``conv_dir`` against same-named files in ``ref_dir``.

    If ``conv_dir`` holds ``<src>_to_<tgt>`` subdirectories, each is one direction,
    scored against ``ref_dir/<tgt>/test`` (or ``ref_dir/<tgt>``), and the average
    over directions is reported too. Every distinct file is analysed once (a
    reference shared by several directions too); ``cache_dir`` keeps the analyses
    for later calls (see :func:`~vcgan.metrics.mcd.analyse_files`).
    """
    ref_dir, conv_dir = Path(ref_dir), Path(conv_dir)
    for d in (ref_dir, conv_dir):
        if not d.is_dir():
            raise VcganError(f"{d}: not a directory")
    subdirs = sorted(d for d in conv_dir.iterdir() if d.is_dir() and DIRECTION.match(d.name))
    if subdirs:
        directions = {d.name: paired_or_error(_ref_dir_for(ref_dir, DIRECTION.match(d.name)["tgt"]), d) for d in subdirs}
    else:
        directions = {conv_dir.name: paired_or_error(ref_dir, conv_dir)}
    files = [p for pairs in directions.values() for pair in pairs for p in pair]
    analyses = analyse_files(files, sample_rate, jobs, progress, cache_dir, desc=f"analysing {conv_dir.name}")
    result = {"ref_dir": str(ref_dir), "conv_dir": str(conv_dir), "directions": {}}
    for name, pairs in directions.items():
        scores = score_pairs(pairs, analyses)
        result["directions"][name] = {**summarize(scores), "per_file": [s.as_dict() for s in scores]}
    rows = list(result["directions"].values())
    result["average"] = {k: float(np.nanmean([r[k] for r in rows])) for k in ("mcd", "log_f0_rmse", "vuv_error")}
    return result


def markdown_table(result: dict, title: str | None = None) -> str:
    lines = [f"### {title}", ""] if title else []
    lines += ["| direction | files | MCD [dB] | log-F0 RMSE | V/UV error |", "|---|---:|---:|---:|---:|"]
    for name, r in result["directions"].items():
        lines.append(f"| {name} | {r['files']} | {r['mcd']:.2f} ± {r['mcd_std']:.2f} | {r['log_f0_rmse']:.4f} | {r['vuv_error']:.3f} |")
    if len(result["directions"]) > 1:
        a = result["average"]
        lines.append(f"| **average** | | {a['mcd']:.2f} | {a['log_f0_rmse']:.4f} | {a['vuv_error']:.3f} |")
    return "\n".join(lines) + "\n"


def write_report(result: dict, out_prefix, title=None) -> tuple[Path, Path]:
    out_prefix = Path(out_prefix)
    out_prefix.parent.mkdir(parents=True, exist_ok=True)
    js = out_prefix.with_suffix(".json")
    md = out_prefix.with_suffix(".md")
    atomic_write_text(js, json.dumps(result, indent=1))
    atomic_write_text(md, markdown_table(result, title))
    return js, md
