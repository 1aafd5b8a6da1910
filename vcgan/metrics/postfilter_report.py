"""`vcgan evaluate --postfilter`: judge postfiltered speech against natural speech.

For every system (a directory of files named like the natural ones: synthetic input,
postfiltered, GV-scaled, ...) it reports MCD and log-F0 RMSE (:mod:`.mcd`), the log-GV
and modulation-spectrum distances of the mel-cepstra to natural speech, and the
log-spectral distance of STFT log-amplitudes, and draws GV and MS curves and a
spectrogram comparison as PNG.
"""
from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from ..errors import VcganError
from ..features.alignment import align_frames
from ..features.audio import list_audio, load_audio
from ..features.stft import STFTConfig, stft_analyze
from ..report import interval_text, paired_bootstrap, write_report
from .mcd import metric_analysis, non_silent, score_features
from .oversmoothing import (MS_FRAMES, global_variance, log_gv_distance, log_spectral_distance, modulation_frequencies,
                            modulation_power, modulation_spectrum, ms_distance, power_to_db)


def _analyse(args):
    path, sr = args
    x = load_audio(path, sr)
    mc, f0 = metric_analysis(x, sr)
    logamp, _ = stft_analyze(x, STFTConfig(sample_rate=sr))
    return {"mc": mc, "f0": f0, "keep": non_silent(mc), "logamp": logamp}


def edge_jump(logamp_list, bins) -> float:
    """Mean |S[k] - S[k-1]| in dB over frames, utterances and the given bins ``k``: a seam
    between frequency bands shows as a larger jump at the bands' edges than natural speech has."""
    from .oversmoothing import NEPER_TO_DB

    bins = np.asarray(sorted(set(int(b) for b in bins)))
    return float(np.mean([np.abs(NEPER_TO_DB * (s[:, bins] - s[:, bins - 1])).mean() for s in logamp_list]))


def band_edge_bins(edges) -> list[int]:
    """The bins where a band starts or ends inside the spectrum, for [[start, stop], ...] band edges."""
    inner = [a for a, _ in edges[1:]] + [b for _, b in edges[:-1]]
    return sorted(set(int(k) for k in inner))


def evaluate_postfilter(natural_dir, systems: dict, sample_rate: int = 16000, jobs: int | None = None,
                        progress: bool = True, edge_bins=None, baselines=None, resamples: int = 10000) -> tuple[dict, dict]:
    """(result, curves): measures per system, and the GV/MS curves and one spectrogram each for plotting.
    With ``edge_bins`` (STFT band edges) the jump across those bins is reported too.

    Every other system is compared with each of ``baselines`` (names of ``systems``; default
    the first, e.g. the synthetic input): paired bootstrap 95% intervals of the difference
    of each measure over the utterances (set-level measures, GV and MS distances, are
    recomputed on each resample of utterances)."""
    from tqdm import tqdm

    baselines = list(baselines) if baselines else list(systems)[:1]
    unknown = [b for b in baselines if b not in systems]
    if unknown:
        raise VcganError(f"--baselines: {unknown} are not among the systems {list(systems)}")
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
    per_utt = {k: _per_utterance(v) for k, v in feats.items()}
    if edge_bins:
        result["edge_bins"] = [int(b) for b in edge_bins]
        result["natural_edge_jump"] = edge_jump([a["logamp"] for a in nat], edge_bins)
    curves = {"gv": {"natural": gv_nat}, "ms": {"natural": ms_nat}, "spectrogram": {"natural": nat[0]["logamp"]},
              "example": names[0]}
    first = list(systems)[0]  # the input (synthetic speech): F0 is compared with its F0
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
        per_utt[name].update(mcd=np.array([s.mcd for s in scores]), lsd=np.array(lsds),
                             log_f0_rmse=np.array([s.log_f0_rmse for s in scores]))
        if name != first:
            result["systems"][name]["f0_vs_input"] = f0_against(sys_feats, feats[first])
        if edge_bins:
            result["systems"][name]["edge_jump"] = edge_jump([a["logamp"] for a in sys_feats], edge_bins)
        curves["gv"][name], curves["ms"][name] = gv, ms
        curves["spectrogram"][name] = sys_feats[0]["logamp"]
    result["baselines"] = baselines
    result["intervals"] = {f"{n} - {b}": _intervals(per_utt[n], per_utt[b], per_utt["natural"], resamples)
                           for i, b in enumerate(baselines) for n in systems
                           if n != b and n not in baselines[:i]}  # each pair of baselines once
    return result, curves


GROSS_F0 = float(np.log(1.2))  # a frame whose F0 moved by more than 20% is a gross (octave/tracking) error


def f0_against(system: list, reference: list) -> dict:
    """How far a postfilter moved F0, over the frames voiced in both (frame by frame: a
    postfilter keeps the length), pooled over the utterances: the log-F0 RMSE of all of them;
    the share of gross errors (F0 moved by more than 20%, the estimator's octave and tracking
    jumps as much as the filter's doing) and the RMSE of the rest; and the share of all frames
    whose voicing differs."""
    diffs, differ, total = [], 0, 0
    for a, r in zip(system, reference):
        n = min(len(a["f0"]), len(r["f0"]))
        fa, fr = a["f0"][:n], r["f0"][:n]
        both = (fa > 0) & (fr > 0)
        diffs.append(np.log(fa[both]) - np.log(fr[both]))
        differ += int(np.sum((fa > 0) != (fr > 0)))
        total += n
    d = np.concatenate(diffs) if diffs else np.zeros(0)
    gross = np.abs(d) > GROSS_F0
    nan = float("nan")
    return {"log_f0_rmse": float(np.sqrt(np.mean(d ** 2))) if d.size else nan,
            "gross_error_rate": float(gross.mean()) if d.size else nan,
            "log_f0_rmse_fine": float(np.sqrt(np.mean(d[~gross] ** 2))) if (~gross).any() else nan,
            "vuv_disagreement": differ / total if total else nan}


MEASURES = ("mcd", "log_f0_rmse", "log_gv_distance", "ms_distance", "lsd")


def _per_utterance(feats: list) -> dict:
    """What the set-level measures need from each utterance: its GV (variance over its
    non-silent frames) and its summed modulation power."""
    ms = [modulation_power(a["mc"], MS_FRAMES) for a in feats]
    return {"var": np.stack([a["mc"][a["keep"]].var(axis=0) for a in feats]),
            "ms_power": np.stack([p for p, _ in ms]), "ms_count": np.array([c for _, c in ms])}


def _intervals(sys: dict, base: dict, nat: dict, resamples: int) -> dict:
    def set_level(u: dict, idx, which: str) -> float:
        if which == "log_gv_distance":
            return log_gv_distance(u["var"][idx].mean(0), nat["var"][idx].mean(0))
        return ms_distance(power_to_db(u["ms_power"][idx].sum(0), u["ms_count"][idx].sum()),
                           power_to_db(nat["ms_power"][idx].sum(0), nat["ms_count"][idx].sum()))

    n = len(sys["mcd"])
    out = {}
    for m in MEASURES:
        if m in ("log_gv_distance", "ms_distance"):
            out[m] = paired_bootstrap(np.zeros(n), np.zeros(n), resamples=resamples,
                                      statistic=lambda idx, m=m: set_level(sys, idx, m) - set_level(base, idx, m))
        else:
            out[m] = paired_bootstrap(sys[m], base[m], resamples=resamples)
    return out


def markdown(result: dict, title: str | None = None) -> str:
    lines = [f"### {title}", ""] if title else []
    lines += [f"{result['files']} files against natural speech in `{result['natural_dir']}`", "",
              "| system | MCD [dB] | log-F0 RMSE | log-GV distance | MS distance [dB] | LSD [dB] |",
              "|---|---:|---:|---:|---:|---:|"]
    for name, r in result["systems"].items():
        lines.append(f"| {name} | {r['mcd']:.2f} | {r['log_f0_rmse']:.4f} | {r['log_gv_distance']:.3f} | "
                     f"{r['ms_distance']:.2f} | {r['lsd']:.2f} |")
    moved = {n: r["f0_vs_input"] for n, r in result["systems"].items() if "f0_vs_input" in r}
    if moved:
        first = next(iter(result["systems"]))
        lines += ["", f"F0 of each system against its input's ({first}), frame by frame:", "",
                  "| system | log-F0 RMSE vs input | gross errors (F0 moved > 20%) | log-F0 RMSE of the rest "
                  "| V/UV disagreement |", "|---|---:|---:|---:|---:|"]
        lines += [f"| {n} | {m['log_f0_rmse']:.4f} | {100 * m['gross_error_rate']:.1f}% | "
                  f"{m['log_f0_rmse_fine']:.4f} | {100 * m['vuv_disagreement']:.1f}% |" for n, m in moved.items()]
    if result.get("intervals"):
        lines += ["", "Differences with paired bootstrap 95% intervals over the utterances (negative: closer to "
                      "natural speech, or lower MCD/LSD):", "",
                  "| comparison | MCD [dB] | log-F0 RMSE | log-GV distance | MS distance [dB] | LSD [dB] |",
                  "|---|---:|---:|---:|---:|---:|"]
        digits = {"log_f0_rmse": 4, "log_gv_distance": 3}
        for comp, ci in result["intervals"].items():
            lines.append(f"| {comp} | " + " | ".join(interval_text(ci[m], digits.get(m, 2)) for m in MEASURES) + " |")
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
    Path(out_prefix).parent.mkdir(parents=True, exist_ok=True)
    return write_report(out_prefix, result, markdown(result, title), plot_curves(curves, out_prefix))
