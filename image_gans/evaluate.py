"""Scoring an image translator on its test split: domain accuracy, FID and KID beside the
untrained generator, the identity mapping and a real-vs-real floor; PSNR / SSIM / L1 for
paired models. JSON + Markdown + PNG grid. The families' translators
(:class:`~image_gans.translate.Translator`) call these helpers for their own test splits."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from vcgan.report import interval_text, paired_bootstrap, write_report

from .data import to_tensor


def as_tensor(images: np.ndarray) -> torch.Tensor:
    return torch.stack([to_tensor(im) for im in images])


def pair_stats(cls, real: np.ndarray, fake: torch.Tensor, real_feats=None) -> dict:
    from .metrics import features, fid, kid

    rf = real_feats if real_feats is not None else features(cls, as_tensor(real))
    ff = features(cls, fake)
    return {"fid": fid(ff, rf), "kid": kid(ff, rf)}


def score_direction(report, key, cls, tr, untrained, x, trg, real, floor, sources=None) -> torch.Tensor:
    """Scores of translating ``x`` into domain ``trg`` by the model, the untrained generator
    and the identity mapping against ``real`` images of it, and the real-vs-real ``floor``
    (training images of the domain); returns the model's translations. With ``sources`` (the
    source domain of each image of ``x``) the model's target accuracy is also given per
    source domain, and for every system what the classifier took its outputs for."""
    from .metrics import features, predict

    real_t = as_tensor(real)
    rf = features(cls, real_t)
    classes = cls.classes  # the classifier's own classes: the dataset's domains (or Fashion-MNIST's)
    label = classes.index(trg) if trg in classes else None
    systems = {"model": tr.translate(x, trg), "untrained generator": untrained.translate(x, trg), "identity mapping": x}
    correct = {}
    for name, y in systems.items():
        s = pair_stats(cls, real, y, rf)
        if label is not None:
            pred = predict(cls, y)
            correct[name] = (pred == label).astype(np.float64)
            s["target_accuracy"] = float((pred == label).mean())
            counts = np.bincount(pred, minlength=len(classes)) / len(pred)
            s["classified_as"] = {classes[c]: float(counts[c]) for c in np.argsort(-counts) if counts[c] >= 0.01}
            if sources is not None and name == "model":
                s["target_accuracy_by_source"] = {src: float((pred[sources == src] == label).mean())
                                                  for src in dict.fromkeys(sources)}
        report["systems"].setdefault(name, {})[key] = s
    floor_stats = pair_stats(cls, real, as_tensor(floor), rf)
    if label is not None:  # the classifier's accuracy on real test images of the domain: the ceiling
        floor_stats["target_accuracy"] = float((predict(cls, real_t) == label).mean())
    report["systems"].setdefault("real vs real (floor)", {})[key] = floor_stats
    if correct:
        for name in ("untrained generator", "identity mapping"):
            add_interval(report, f"model - {name}", key, "target_accuracy", correct["model"], correct[name])
    return systems["model"]


def add_interval(report: dict, comparison: str, key: str, measure: str, system, baseline) -> None:
    """A paired bootstrap 95% interval over images of ``system - baseline`` in ``report["intervals"]``."""
    ci = paired_bootstrap(system, baseline)
    report.setdefault("intervals", {}).setdefault(comparison, {}).setdefault(key, {})[measure] = ci


def write_scores(report: dict, out_dir) -> None:
    """scores.json and scores.md (the grid is drawn by the family's ``score_test``)."""
    write_report(Path(out_dir) / "scores", report, markdown(report))


def markdown(report: dict) -> str:
    keys = ["target_accuracy", "fid", "kid", "psnr", "ssim", "l1"]
    lines = [f"### {report['family']} (step {report['step']})", "",
             "| system | direction | " + " | ".join(keys) + " |", "|---|---|" + "---:|" * len(keys)]
    for name, dirs in report["systems"].items():
        for d, s in dirs.items():
            cells = [("" if s.get(k) is None else f"{s[k]:.4g}") for k in keys]
            lines.append(f"| {name} | {d} | " + " | ".join(cells) + " |")
    if report.get("intervals"):
        lines += ["", "Differences with paired bootstrap 95% intervals over the test images (FID and KID are "
                      "set-level: no interval):", "", "| comparison | direction | measure | difference [95% interval] |",
                  "|---|---|---|---:|"]
        for comp, dirs in report["intervals"].items():
            for d, measures in dirs.items():
                for m, ci in measures.items():
                    lines.append(f"| {comp} | {d} | {m} | {interval_text(ci, 3)} |")
    details = [(d, s) for d, s in report["systems"].get("model", {}).items() if "classified_as" in s]
    if details:
        lines += ["", "What the classifier took the model's translations for:", "",
                  "| direction | target accuracy by source domain | classified as |", "|---|---|---|"]
        for d, s in details:
            by_src = ", ".join(f"from {k} {v:.2f}" for k, v in s.get("target_accuracy_by_source", {}).items())
            taken = ", ".join(f"{k} {v:.2f}" for k, v in s["classified_as"].items())
            lines.append(f"| {d} | {by_src} | {taken} |")
    trained_on = report.get("classifier_trained_on") or "Fashion-MNIST train"
    lines += ["", f"Accuracy, FID and KID by a classifier trained on {trained_on} (test accuracy "
              f"{report.get('classifier_test_accuracy') or 0:.3f}); FID/KID on its 128-d features, not Inception's: "
              "not comparable with published FIDs, nor across datasets. The floor's target accuracy is the "
              "classifier's on the real test images of the domain."
              + (f" Note: {report['classifier_note']}." if report.get("classifier_note") else ""), ""]
    return "\n".join(lines)
