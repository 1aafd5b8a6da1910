"""`vcgan evaluate`: score converted directories and write JSON + a Markdown table."""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from ..errors import VcganError
from ..report import interval_text, paired_bootstrap, write_report as write_files
from .mcd import analyse_files, paired_or_error, score_pairs, summarize

DIRECTION = re.compile(r"^(?P<src>.+)_to_(?P<tgt>.+)$")


def _ref_dir_for(ref_root: Path, target: str) -> Path:
    for cand in (ref_root / target / "test", ref_root / target):
        if cand.is_dir():
            return cand
    raise VcganError(f"{ref_root}: no reference directory for target speaker {target!r} (looked in {target}/test and {target})")


def evaluate(ref_dir, conv_dir, sample_rate: int = 16000, jobs=None, progress=True, cache_dir=None,
             direction: str | None = None) -> dict:
    """Score ``conv_dir`` against same-named files in ``ref_dir``.

    If ``conv_dir`` holds ``<src>_to_<tgt>`` subdirectories, each is one direction,
    scored against ``ref_dir/<tgt>/test`` (or ``ref_dir/<tgt>``), and the average
    over directions is reported too; otherwise ``conv_dir`` is one direction, named
    ``direction`` (default: the directory's name). Every distinct file is analysed once (a
    reference shared by several directions too); ``cache_dir`` keeps the analyses
    for later calls (see :func:`~vcgan.metrics.mcd.analyse_files`).
    """
    ref_dir, conv_dir = Path(ref_dir), Path(conv_dir)
    for d in (ref_dir, conv_dir):
        if not d.is_dir():
            raise VcganError(f"{d}: not a directory")
    subdirs = sorted(d for d in conv_dir.iterdir() if d.is_dir() and DIRECTION.match(d.name))
    if subdirs and direction:
        raise VcganError(f"{conv_dir}: holds <src>_to_<tgt> directions, which name themselves; "
                         f"a direction name ({direction!r}) is for a directory of one direction")
    if subdirs:
        directions = {d.name: paired_or_error(_ref_dir_for(ref_dir, DIRECTION.match(d.name)["tgt"]), d) for d in subdirs}
    else:
        directions = {direction or conv_dir.name: paired_or_error(ref_dir, conv_dir)}
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
    js, md = write_files(out_prefix, result, markdown_table(result, title))
    return js, md


def load_report(path) -> dict:
    path = Path(path)
    try:
        result = json.loads(path.read_text())
        result["directions"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise VcganError(f"{path}: not a `vcgan evaluate` report ({exc})") from None
    return result


def _per_file(report: dict, direction: str, key: str = "mcd") -> dict:
    return {f["name"]: f[key] for f in report["directions"][direction].get("per_file", [])}


def compare_reports(reports: dict, baseline: str, margin: float = 0.5, resamples: int = 10000) -> dict:
    """Per-direction MCD of several systems scored on the same directions (``reports``:
    name -> :func:`evaluate` result), each system's difference to ``baseline``, and how
    many directions each system beats the baseline by at least ``margin`` dB.

    Each difference carries a paired bootstrap 95% interval over the utterances both
    systems converted (``intervals[system][direction]``); the average over directions
    resamples sentences (files of one name) with all their directions at once."""
    if baseline not in reports:
        raise VcganError(f"baseline {baseline!r} is not among the reports {sorted(reports)}")
    directions = list(reports[baseline]["directions"])
    for name, r in reports.items():
        missing = [d for d in directions if d not in r["directions"]]
        if missing:
            hint = ("; a directory of one direction is named after itself unless `vcgan evaluate --direction "
                    "NAME` names it" if len(r["directions"]) == 1 else "")
            raise VcganError(f"{name}: no scores for direction(s) {', '.join(missing)}{hint}")
    rows = {d: {n: r["directions"][d]["mcd"] for n, r in reports.items()} for d in directions}
    others = [n for n in reports if n != baseline]
    wins = {n: sum(rows[d][n] <= rows[d][baseline] - margin for d in directions) for n in others}
    average = {n: float(np.mean([rows[d][n] for d in directions])) for n in reports}
    intervals = {n: _intervals(reports[n], reports[baseline], directions, resamples) for n in others}
    return {"baseline": baseline, "margin": margin, "systems": list(reports), "rows": rows, "average": average,
            "directions_beating_baseline": wins, "directions": len(directions), "intervals": intervals,
            "directions_interval_below_zero": {n: sum(intervals[n][d]["high"] < 0 for d in directions
                                                      if intervals[n].get(d)) for n in others}}


def _intervals(system: dict, baseline: dict, directions, resamples: int) -> dict:
    """Paired bootstrap intervals of system - baseline MCD per direction and averaged over
    directions (each direction weighted equally, as the average row is); {} without per-file scores."""
    out, a_all, b_all, units, weights = {}, [], [], [], []
    for d in directions:
        a, b = _per_file(system, d), _per_file(baseline, d)
        names = sorted(set(a) & set(b))
        if not names:
            continue
        out[d] = paired_bootstrap([a[n] for n in names], [b[n] for n in names], resamples=resamples)
        a_all += [a[n] for n in names]
        b_all += [b[n] for n in names]
        units += names
        weights += [1.0 / len(names)] * len(names)
    if len(out) > 1:
        diff, w = np.subtract(a_all, b_all), np.asarray(weights)
        out["average"] = paired_bootstrap(a_all, b_all, units=units, resamples=resamples,
                                          statistic=lambda idx: float(np.sum(diff[idx] * w[idx]) / np.sum(w[idx])))
    return out


def comparison_markdown(comp: dict, title: str | None = None) -> str:
    b, systems = comp["baseline"], comp["systems"]
    others = [n for n in systems if n != b]
    lines = [f"### {title}", ""] if title else []
    lines += ["| direction | " + " | ".join(systems) + " | " + " | ".join(f"{n} - {b}" for n in others) + " |",
              "|---|" + "---:|" * (len(systems) + len(others))]

    def row(label, vals):
        return (f"| {label} | " + " | ".join(f"{vals[n]:.2f}" for n in systems) + " | "
                + " | ".join(f"{vals[n] - vals[b]:+.2f}" for n in others) + " |")

    lines += [row(d, v) for d, v in comp["rows"].items()]
    if comp["directions"] > 1:
        lines.append(row("**average**", comp["average"]))
    lines.append("")
    lines += [f"{n}: {comp['directions_beating_baseline'][n]} of {comp['directions']} direction(s) at least "
              f"{comp['margin']:g} dB (MCD) under {b}" for n in others]
    intervals = comp.get("intervals") or {}
    if any(intervals.values()):
        lines += ["", f"Paired bootstrap 95% intervals of the MCD difference to {b} [dB] (over utterances; the "
                      "average resamples sentences with all their directions):", "",
                  "| direction | " + " | ".join(f"{n} - {b}" for n in others) + " | interval excludes 0 |",
                  "|---|" + "---:|" * len(others) + "---|"]
        for d in [*comp["rows"], "average"]:
            cells = [intervals[n].get(d) for n in others]
            if not any(cells):
                continue
            shown = [interval_text(c) if c else "" for c in cells]
            excl = ", ".join(f"{n}: {'yes' if c['excludes_zero'] else 'no'}" for n, c in zip(others, cells) if c)
            lines.append(f"| {'**average**' if d == 'average' else d} | " + " | ".join(shown) + f" | {excl} |")
        lines.append("")
        lines += [f"{n}: the interval lies wholly under 0 in {comp['directions_interval_below_zero'][n]} of "
                  f"{comp['directions']} direction(s)" for n in others]
    return "\n".join(lines) + "\n"
