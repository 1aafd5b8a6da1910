"""`vcgan evaluate --postfilter`: judge postfiltered speech against natural speech.

For every system (a directory of files named like the natural ones: synthetic input,
postfiltered, GV-scaled, ...) it reports MCD and log-F0 RMSE (:mod:`.mcd`), the log-GV
and modulation-spectrum distances of the mel-cepstra to natural speech, and the
log-spectral distance of STFT log-amplitudes, and draws GV and MS curves and a
spectrogram comparison as PNG.
"""
from __future__ import annotations

import json
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from ..errors import VcganError
from ..features.alignment import align_frames
from ..features.audio import list_audio, load_audio
from ..features.stft import STFTConfig, stft_analyze
from ..fileio import atomic_write_text
from .mcd import metric_analysis, non_silent, score_features
from .postfilter import (MS_FRAMES, global_variance, log_gv_distance, log_spectral_distance, modulation_frequencies,
                         modulation_spectrum, ms_distance)


def _analyse(args):
    path, sr = args
    x = load_audio(path, sr)
    mc, f0 = metric_analysis(x, sr)
    logamp, _ = stft_analyze(x, STFTConfig(sample_rate=sr))
    return {"mc": mc, "f0": f0, "keep": non_silent(mc), "logamp": logamp}


def edge_jump(logamp_list, bins) -> float:
    """Mean |S[k] - S[k-1]| in dB over frames, utterances and the given bins ``k``: a seam
    between frequency bands shows as a larger jump at the bands' edges than natural speech has."""
    from .postfilter import NEPER_TO_DB

    bins = np.asarray(sorted(set(int(b) for b in bins)))
    return float(np.mean([np.abs(NEPER_TO_DB * (s[:, bins] - s[:, bins - 1])).mean() for s in logamp_list]))


def band_edge_bins(edges) -> list[int]:
    """The bins where a band starts or ends inside the spectrum, for [[start, stop], ...] band edges."""
    inner = [a for a, _ in edges[1:]] + [b for _, b in edges[:-1]]
    return sorted(set(int(k) for k in inner))


def evaluate_postfilter(natural_dir, systems: dict, sample_rate: int = 16000, jobs: int | None = None,
                        progress: bool = True, edge_bins=None) -> tuple[dict, dict]:
    """(result, curves): measures per system, and the GV/MS curves and one spectrogram each for plotting.
    With ``edge_bins`` (STFT band edges) the jump across those bins is reported too."""
    from tqdm import tqdm

    natural_dir = Path(natural_dir)
    refs = {p.stem: p for p in list_audio(natural_dir)} if natural_dir.is_dir() else {}
    if not refs:
        raise VcganError(f"{natural_dir}: no natural audio files")
    names = None
    for name, d in systems.items():
        d = Path(d)
        if not d.is_dir():
            raise VcganError(f"{d}: not a directory (system {name!r})")
        have = {p.stem for p in list_audio(d)} & set(refs)
        if not have:
            raise VcganError(f"{d}: no file has a same-named natural file in {natural_dir}")
        names = have if names is None else names & have
    names = sorted(names)
    if not names:
        raise VcganError("the systems share no file name with each other and the natural speech")
    files = {"natural": [refs[n] for n in names]}
    for name, d in systems.items():
        by_stem = {p.stem: p for p in list_audio(Path(d))}
        files[name] = [by_stem[n] for n in names]
    jobs = min(jobs or os.cpu_count() or 1, len(names) * len(files))
    keys = [(k, i) for k in files for i in range(len(names))]
    args = [(str(files[k][i]), sample_rate) for k, i in keys]
    with ProcessPoolExecutor(jobs) as pool:
        done = list(tqdm(pool.map(_analyse, args), total=len(args), desc="analysing", disable=not progress))
    feats = {}
    for (k, i), a in zip(keys, done):
        feats.setdefault(k, []).append(a)

    nat = feats["natural"]
    gv_nat = global_variance([a["mc"][a["keep"]] for a in nat])
    ms_nat = modulation_spectrum([a["mc"] for a in nat], MS_FRAMES)
    result = {"natural_dir": str(natural_dir), "files": len(names), "systems": {}}
    if edge_bins:
        result["edge_bins"] = [int(b) for b in edge_bins]
        result["natural_edge_jump"] = edge_jump([a["logamp"] for a in nat], edge_bins)
    curves = {"gv": {"natural": gv_nat}, "ms": {"natural": ms_nat}, "spectrogram": {"natural": nat[0]["logamp"]},
              "example": names[0]}
    for name in systems:
        sys_feats = feats[name]
        scores, lsds = [], []
        for n, a, r in zip(names, sys_feats, nat):
            scores.append(score_features(n, r["mc"][r["keep"]], r["f0"][r["keep"]], a["mc"][a["keep"]],
                                         a["f0"][a["keep"]]))
            idx, _ = align_frames(a["logamp"], r["logamp"])  # frame by frame unless lengths differ
            lsds.append(log_spectral_distance(a["logamp"], r["logamp"][idx]))
        gv = global_variance([a["mc"][a["keep"]] for a in sys_feats])
        ms = modulation_spectrum([a["mc"] for a in sys_feats], MS_FRAMES)
        result["systems"][name] = {
            "dir": str(systems[name]),
            "mcd": float(np.mean([s.mcd for s in scores])),
            "log_f0_rmse": float(np.nanmean([s.log_f0_rmse for s in scores])),
            "log_gv_distance": log_gv_distance(gv, gv_nat),
            "ms_distance": ms_distance(ms, ms_nat),
            "lsd": float(np.mean(lsds)),
        }
        if edge_bins:
            result["systems"][name]["edge_jump"] = edge_jump([a["logamp"] for a in sys_feats], edge_bins)
        curves["gv"][name], curves["ms"][name] = gv, ms
        curves["spectrogram"][name] = sys_feats[0]["logamp"]
    return result, curves


def markdown(result: dict, title: str | None = None) -> str:
    lines = [f"### {title}", ""] if title else []
    lines += [f"{result['files']} files against natural speech in `{result['natural_dir']}`", "",
              "| system | MCD [dB] | log-F0 RMSE | log-GV distance | MS distance [dB] | LSD [dB] |",
              "|---|---:|---:|---:|---:|---:|"]
    for name, r in result["systems"].items():
        lines.append(f"| {name} | {r['mcd']:.2f} | {r['log_f0_rmse']:.4f} | {r['log_gv_distance']:.3f} | "
                     f"{r['ms_distance']:.2f} | {r['lsd']:.2f} |")
    if "edge_bins" in result:
        lines += ["", f"Jump across the band edges (bins {result['edge_bins']}), mean |S[k] - S[k-1]|: natural "
                      f"{result['natural_edge_jump']:.2f} dB; "
                  + "; ".join(f"{n} {r['edge_jump']:.2f} dB" for n, r in result["systems"].items())]
    return "\n".join(lines) + "\n"


def plot_curves(curves: dict, out_prefix) -> list[Path]:
    """gv.png, ms.png and spectrograms.png beside ``out_prefix``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_prefix = Path(out_prefix)
    written = []
    fig, ax = plt.subplots(figsize=(7, 4))
    for name, gv in curves["gv"].items():
        ax.semilogy(np.arange(1, len(gv)), gv[1:], label=name, lw=2 if name == "natural" else 1.2)
    ax.set(xlabel="mel-cepstral coefficient", ylabel="global variance", title="Global variance")
    ax.legend()
    fig.tight_layout()
    written.append(out_prefix.parent / f"{out_prefix.name}_gv.png")
    fig.savefig(written[-1], dpi=110)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(7, 4))
    freqs = modulation_frequencies(MS_FRAMES)
    for name, ms in curves["ms"].items():
        ax.plot(freqs, ms[:, 1:].mean(1), label=name, lw=2 if name == "natural" else 1.2)
    ax.set(xlabel="modulation frequency [Hz]", ylabel="power [dB], mean over c1..",
           title="Modulation spectrum of the mel-cepstra", xlim=(0, freqs[-1]))
    ax.legend()
    fig.tight_layout()
    written.append(out_prefix.parent / f"{out_prefix.name}_ms.png")
    fig.savefig(written[-1], dpi=110)
    plt.close(fig)

    specs = curves["spectrogram"]
    fig, axes = plt.subplots(len(specs), 1, figsize=(8, 1.9 * len(specs)), sharex=True)
    axes = np.atleast_1d(axes)
    db = {k: 20 / np.log(10) * v for k, v in specs.items()}
    top = max(v.max() for v in db.values())
    for ax, (name, s) in zip(axes, db.items()):
        ax.imshow(s.T, origin="lower", aspect="auto", vmin=top - 80, vmax=top, cmap="magma")
        ax.set_ylabel(name, fontsize=8)
        ax.set_yticks([])
    axes[-1].set_xlabel(f"frames (5 ms) of {curves['example']}")
    fig.tight_layout()
    written.append(out_prefix.parent / f"{out_prefix.name}_spectrograms.png")
    fig.savefig(written[-1], dpi=110)
    plt.close(fig)
    return written


def write_postfilter_report(result: dict, curves: dict, out_prefix, title: str | None = None) -> list[Path]:
    out_prefix = Path(out_prefix)
    out_prefix.parent.mkdir(parents=True, exist_ok=True)
    js, md = out_prefix.with_suffix(".json"), out_prefix.with_suffix(".md")
    atomic_write_text(js, json.dumps(result, indent=1))
    pngs = plot_curves(curves, out_prefix)
    body = markdown(result, title) + "\n" + "\n".join(f"![{p.stem}]({p.name})" for p in pngs) + "\n"
    atomic_write_text(md, body)
    return [js, md, *pngs]
