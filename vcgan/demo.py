"""`vcgan demo`: CycleGAN-VC2 kal -> slt on the bundled corpus, judged against two references."""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from .errors import VcganError
from .fileio import atomic_write_text

REPO = Path(__file__).resolve().parents[1]


def find_recipe_file(rel: str) -> Path:
    """A file of the source tree (corpus, recipe config), from the checkout or the working directory."""
    for base in (Path.cwd(), REPO):
        if (base / rel).exists():
            return base / rel
    raise VcganError(f"{rel} not found: run `vcgan demo` from a checkout of vcgan (or pass --corpus)")


def spectrogram_comparison(files: dict[str, Path], out_png: Path, sample_rate: int = 16000) -> Path:
    """Log spectral envelopes (WORLD CheapTrick, in dB) of the same sentence, one panel each."""
    import pyworld

    from .features.audio import load_audio
    from .plotting import save_figure, spectrogram_figure

    panels = []
    for title, path in files.items():
        x = load_audio(path, sample_rate)
        f0, t = pyworld.harvest(x, sample_rate, frame_period=5.0)
        sp = pyworld.cheaptrick(x, f0, t, sample_rate)
        panels.append((title, 10 * np.log10(sp + 1e-12)))
    return save_figure(spectrogram_figure(panels, sample_rate), out_png)


MIN_MEANINGFUL_STEPS = 200


def _by(model_mcd: float, stats_mcd: float) -> tuple[float, str]:
    diff = round(stats_mcd - model_mcd, 2)
    return diff, (f"{abs(diff):.2f} dB {'lower' if diff > 0 else 'higher'}" if diff else "equal to within 0.01 dB")


def demo_verdict(summary: dict, model_mcd: float, stats_mcd: float, minutes: float,
                 uncalibrated_mcd: float | None = None) -> str:
    """One line: is the model, as `vcgan convert` applies it (calibrated), better than the
    statistics transform, and was the run long enough to say?"""
    diff, by = _by(model_mcd, stats_mcd)
    line = (f"Verdict: CycleGAN-VC2 is {'better' if diff > 0 else 'not better'} than the statistics transform "
            f"on the test set ({model_mcd:.2f} vs {stats_mcd:.2f} dB MCD, {by}).")
    if uncalibrated_mcd is not None:
        udiff, uby = _by(uncalibrated_mcd, stats_mcd)
        line += (f" Uncalibrated (`vcgan convert --no-calibrate`): {uncalibrated_mcd:.2f} dB, "
                 f"{'better' if udiff > 0 else 'not better'} ({uby}).")
    steps = summary["steps"]
    if steps < MIN_MEANINGFUL_STEPS:
        per_step = summary["sec_per_step"]
        need = MIN_MEANINGFUL_STEPS * per_step / 60
        line += (f" Only {steps} training steps ran ({per_step:.1f} s/step on this machine, precision "
                 f"{summary['precision']}): too few to judge the model; at least {MIN_MEANINGFUL_STEPS} steps "
                 f"need about {need:.0f} min here: run `vcgan demo --minutes {max(minutes, need) * 1.2:.0f}`.")
    return line


def run_demo(out_dir="exp/demo", minutes: float = 10.0, corpus=None, source="kal", target="slt", overrides=None) -> dict:
    from .features.cache import prepare_features
    from .features.corpus import discover_corpus
    from .features.world import FeatureConfig
    from .families import load
    from .models.voice_conversion.converter import Converter
    from .metrics.report import evaluate, markdown_table
    from .training import resolve_config, train

    t_start = time.monotonic()
    out = Path(out_dir)
    corpus = Path(corpus) if corpus else find_recipe_file("recipes/demo/corpus")
    conf = find_recipe_file("recipes/cyclegan_vc2/conf/demo.yaml")
    cfg = resolve_config(conf, [f"data.feats_dir={out / 'feats'}", f"out_dir={out / 'train'}",
                                f"data.source={source}", f"data.target={target}",
                                f"train.max_minutes={minutes}"] + list(overrides or []))

    print(f"[1/4] features: {source}, {target} from {corpus}")
    c = discover_corpus(corpus, speakers=[source, target])
    prepare_features(c, out / "feats", FeatureConfig.from_dict(cfg["features"]))

    print(f"[2/4] training CycleGAN-VC2 {source}<->{target} for up to {minutes:g} min "
          f"(batch {cfg['data']['batch_size']})")
    summary = train(cfg)

    print("[3/4] converting the test set (the model as `vcgan convert` applies it, its raw output, "
          "the statistics transform)")
    src_test, tgt_test = corpus / source / "test", corpus / target / "test"
    conv_root = out / "converted"
    model_dir, stats_dir = conv_root / "cyclegan_vc2", conv_root / "statistics_transform"
    raw_dir = conv_root / "cyclegan_vc2_uncalibrated"
    model = load(summary["checkpoint"], "convert")
    analyses = out / "conversion_analyses"  # the three systems convert the same inputs: analyse them once
    model.converter().convert_paths(src_test, model_dir, source, target, cache_dir=analyses)
    model.converter(calibrate=False).convert_paths(src_test, raw_dir, source, target, cache_dir=analyses)
    Converter.statistics_transform(out / "feats").convert_paths(src_test, stats_dir, source, target, cache_dir=analyses)

    print("[4/4] evaluating against the target speaker's parallel test sentences")
    systems = {"no conversion": src_test, "statistics transform": stats_dir, "CycleGAN-VC2": model_dir,
               "CycleGAN-VC2, uncalibrated": raw_dir}
    results = {name: evaluate(tgt_test, d, cache_dir=out / "analyses") for name, d in systems.items()}
    first = sorted(model_dir.glob("*.wav"))[0]
    png = spectrogram_comparison(
        {f"source ({source})": next(src_test.glob(first.stem + ".*")),
         f"converted {source}->{target} (CycleGAN-VC2)": first,
         f"target ({target})": next(tgt_test.glob(first.stem + ".*"))},
        out / "spectrogram_comparison.png")
    averages = {k: v["average"] for k, v in results.items()}
    verdict = demo_verdict(summary, averages["CycleGAN-VC2"]["mcd"], averages["statistics transform"]["mcd"], minutes,
                           averages["CycleGAN-VC2, uncalibrated"]["mcd"])
    curves = summary.get("training_curves")
    report = {
        "direction": f"{source}->{target}",
        "train": summary,
        "results": averages,
        "verdict": verdict,
        "converted_dir": str(model_dir),
        "uncalibrated_dir": str(raw_dir),
        "spectrogram_png": str(png),
        "training_curves_png": curves,
        "minutes_total": (time.monotonic() - t_start) / 60,
    }
    lines = [f"# vcgan demo: {source} -> {target}", "",
             f"Training: {summary['steps']} steps in {summary['seconds'] / 60:.1f} min "
             f"({summary['sec_per_step']:.2f} s/step), precision {summary['precision']} ({summary['hardware']}).", "",
             "| system | MCD [dB] | log-F0 RMSE | V/UV error |", "|---|---:|---:|---:|"]
    for name, r in report["results"].items():
        lines.append(f"| {name} | {r['mcd']:.2f} | {r['log_f0_rmse']:.4f} | {r['vuv_error']:.3f} |")
    lines += ["", "CycleGAN-VC2 is the model as `vcgan convert` applies it: each direction's output re-standardised "
              "by the calibration measured on the training features at the end of training and stored in the "
              "checkpoint; the uncalibrated row is its raw output (`--no-calibrate`).", "",
              f"Converted speech: {model_dir} (uncalibrated: {raw_dir})", f"Spectral envelopes: {png}"]
    if curves:
        lines.append(f"Training curves: {curves}")
    lines += ["", verdict, ""]
    atomic_write_text(out / "report.md", "\n".join(lines))
    atomic_write_text(out / "report.json", json.dumps(report, indent=1))
    for name, res in results.items():
        atomic_write_text(out / f"eval_{name.replace(', ', '_').replace(' ', '_')}.md", markdown_table(res, name))
    print("\n".join(lines))
    print(f"report: {out / 'report.md'}  (total {report['minutes_total']:.1f} min)")
    return report
