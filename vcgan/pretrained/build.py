"""Add a trained checkpoint to the shipped models: its inference-only export, a model card
(Markdown and JSON), its SHA-256 and size in the manifest, and the summary of its output on a
fixture that the tests compare against. Run from the project's checkout::

    python -m vcgan.pretrained.build --name stargan-vc2-kal-ked-slt \\
        --checkpoint recipes/stargan_vc2/exp/ship/train/checkpoints/latest.pt \\
        --spec recipes/pretrained/specs/stargan-vc2-kal-ked-slt.json --scores exp/.../eval/comparison.md

The spec (JSON) holds what the checkpoint cannot know: the recipe command, the data and
its license, intended use, the one-line summary and score, the fixture check, and ``rank``
(0: the page offers it first for its kind of work).
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

from ..engine.checkpoint import export_inference, load_checkpoint
from . import HERE, MANIFEST, sha256
from .check import output, snr_db, summarise

SPEC_KEYS = {"recipe", "config", "data", "data_license", "intended_use", "not_for", "summary", "score", "check"}
FIXTURES = Path(__file__).resolve().parents[2] / "tests" / "data"


def card_markdown(name: str, card: dict) -> str:
    t = card["training"]
    lines = [
        f"# {name}", "", card["summary"], "",
        f"- **Task**: {card['task']} (applied by `{card['command']}`)",
        f"- **Use**: `{card['command']} --model {name} ...`, or `vcgan.load(\"{name}\")` in Python",
        f"- **Size**: {card['bytes'] / 1e6:.2f} MB (inference only: generators, no discriminators or optimizer state; "
        f"weights stored as float16, whose output on a test fixture is {card['storage']['snr_db_against_the_trained_checkpoint']:.0f} dB "
        "above its difference from the trained checkpoint's)",
        f"- **Recipe**: `{card['recipe']}` (config `{card['config']}`)",
        f"- **Trained**: {t['steps']} steps, {t['minutes']} minutes, {t['precision']} on {t['hardware']}, "
        f"{t['threads']} thread(s); code: {t['commit']}",
        f"- **Data**: {card['data']}",
        f"- **Data license**: {card['data_license']}",
        f"- **Intended use**: {card['intended_use']}",
        f"- **Not for**: {card['not_for']}",
        "", "## Held-out scores", "", card["scores_markdown"].strip(), "",
    ]
    return "\n".join(lines)


def score_line(report_md) -> str:
    """The one-line held-out score of ``vcgan models``, from the JSON beside a recipe's report."""
    from ..report import interval_text

    js = Path(report_md).with_suffix(".json")
    r = json.loads(js.read_text())
    if {"baseline", "average", "intervals", "rows"} <= set(r):  # voice conversion: evaluate-compare
        base = r["baseline"]
        system = "model_calibrated" if "model_calibrated" in r["average"] else \
            next(s for s in r["systems"] if s not in (base, "no_conversion"))
        diffs = [row[system] - row[base] for row in r["rows"].values()]
        ci = r["intervals"][system].get("average") or next(iter(r["intervals"][system].values()))
        line = f"MCD {r['average'][system]:.2f} dB, {interval_text(ci)} vs the statistics transform"
        if len(diffs) == 1:
            return f"{next(iter(r['rows'])).replace('_to_', ' -> ')}: {line}"
        return f"{line}; {sum(d <= -1.0 for d in diffs)}/{len(diffs)} directions >= 1 dB under it"
    if {"natural_dir", "systems", "baselines", "intervals"} <= set(r):  # postfilter: vcgan evaluate --postfilter
        first = r["baselines"][0]
        system = next(s for s in reversed(list(r["systems"])) if s not in r["baselines"])
        a, b = r["systems"][system], r["systems"][first]
        ci = r["intervals"][f"{system} - {first}"]["mcd"]
        return (f"log-GV distance {a['log_gv_distance'] / b['log_gv_distance'] - 1:+.0%}, MS distance "
                f"{a['ms_distance'] / b['ms_distance'] - 1:+.0%}, MCD {interval_text(ci)} dB vs the {first} input")
    if r.get("family") == "glcic":  # completion: vcgan evaluate-images on a completion checkpoint
        m, ci = r["systems"]["model"], r["intervals"]["model - biharmonic"]["psnr"]
        return (f"PSNR in the hole {m['psnr']:.2f} dB, {interval_text(ci)} vs biharmonic inpainting; "
                f"Frechet distance {m['fd']:.1f} (test images)")
    if {"family", "systems"} <= set(r) and "model" in r["systems"]:  # images: vcgan evaluate-images
        model = r["systems"]["model"]
        acc = {k: v for k, v in model.items() if isinstance(v, dict) and "target_accuracy" in v}
        if len(acc) > 2:
            a = [v["target_accuracy"] for v in acc.values()]
            f = [v["fid"] for v in acc.values()]
            return (f"target accuracy {min(a):.2f}-{max(a):.2f}, FID {min(f):.0f}-{max(f):.0f} over {len(acc)} "
                    "target domains (test images)")
        if acc:
            return "; ".join(f"{k}: target accuracy {v['target_accuracy']:.3f}, FID {v['fid']:.1f}"
                             for k, v in acc.items()) + " (test images)"
        t = model.get("test", {})
        if "psnr" in t:
            return f"FID {t['fid']:.1f}, PSNR {t['psnr']:.2f} dB, SSIM {t['ssim']:.3f} (test images)"
    raise SystemExit(f"{js}: no score line for this kind of report")


def build(name: str, checkpoint, spec: dict, scores_md: str, trained_commit: str | None = None) -> dict:
    missing = SPEC_KEYS - set(spec)
    if missing:
        raise SystemExit(f"spec lacks {sorted(missing)}")
    from ..families import load

    source = load_checkpoint(checkpoint)
    out = HERE / f"{name}.pt"
    export_inference(checkpoint, out, {"name": name}, half=True)
    model = load(out)
    check = dict(spec["check"])
    agreement = snr_db(output(load(checkpoint), check, FIXTURES), output(model, check, FIXTURES))
    info = model.describe()
    runtime = source.get("runtime") or {}
    card = {
        "name": name, "task": info["task"], "command": info["applied_by"], "summary": spec["summary"],
        "score": spec["score"], "bytes": out.stat().st_size, "sha256": sha256(out),
        "recipe": spec["recipe"], "config": spec["config"], "data": spec["data"],
        "data_license": spec["data_license"], "intended_use": spec["intended_use"], "not_for": spec["not_for"],
        "details": {k: v for k, v in info.items() if k not in ("checkpoint", "task", "purpose", "applied_by")},
        "training": {"steps": source.get("step"), "minutes": round(float(source.get("elapsed") or 0) / 60, 1),
                     "precision": runtime.get("precision"), "hardware": runtime.get("hardware"),
                     "threads": runtime.get("threads"), "torch": runtime.get("torch"),
                     "commit": trained_commit or runtime.get("code") or "not recorded"},
        "storage": {"weights": "float16", "snr_db_against_the_trained_checkpoint": round(agreement, 1),
                    "fixture": check["input"]},
        "scores_markdown": scores_md,
    }
    (HERE / f"{name}.json").write_text(json.dumps(card, indent=1) + "\n")
    (HERE / f"{name}.md").write_text(card_markdown(name, card))
    check["expected"] = summarise(model, check, FIXTURES)
    manifest = json.loads(MANIFEST.read_text()) if MANIFEST.is_file() else {"models": {}}
    manifest["models"][name] = {
        "file": out.name, "card": f"{name}.json", "sha256": card["sha256"], "bytes": card["bytes"],
        "task": card["task"], "command": card["command"], "summary": spec["summary"], "score": spec["score"],
        "rank": int(spec.get("rank", 1)), "check": check,
    }
    manifest["models"] = dict(sorted(manifest["models"].items()))
    MANIFEST.write_text(json.dumps(manifest, indent=1) + "\n")
    return manifest["models"][name]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m vcgan.pretrained.build", description=__doc__.splitlines()[0])
    p.add_argument("--name", required=True)
    p.add_argument("--checkpoint", required=True, help="the recipe's trained checkpoint (latest.pt)")
    p.add_argument("--spec", required=True, help="JSON: recipe, config, data, data_license, intended_use, "
                                                 "not_for, summary, score, check")
    p.add_argument("--scores", required=True, nargs="+", help="Markdown file(s) of the recipe's held-out scores")
    p.add_argument("--trained-commit", help="the commit the run trained with, for checkpoints that do not record it")
    a = p.parse_args(argv)
    spec = json.loads(Path(a.spec).read_text())
    # the reports' tables and notes; their figures stay with the run
    scores = "\n\n".join("\n".join(ln for ln in Path(f).read_text().strip().splitlines() if not ln.startswith("!["))
                         for f in a.scores)
    scores = re.sub(r"\n{3,}", "\n\n", scores)
    if not spec.get("score"):
        spec = {**spec, "score": score_line(a.scores[0])}
    entry = build(a.name, a.checkpoint, spec, scores, a.trained_commit)
    print(json.dumps(entry, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
