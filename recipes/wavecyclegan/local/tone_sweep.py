"""Image components of trained waveform postfilters on a tone sweep (vcgan.metrics.aliasing):
per tone, the share of the output energy off the tone's harmonics, in dB.

usage: python local/tone_sweep.py NAME=CHECKPOINT [NAME=CHECKPOINT ...] -o OUT_PREFIX
writes OUT_PREFIX.json and OUT_PREFIX.md
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import vcgan
from vcgan.metrics.aliasing import tone_sweep


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("models", nargs="+", help="NAME=CHECKPOINT")
    ap.add_argument("-o", "--out", required=True)
    a = ap.parse_args(argv)
    results = {}
    for item in a.models:
        name, _, path = item.partition("=")
        if not path:
            ap.error(f"{item!r}: expected NAME=CHECKPOINT")
        pf = vcgan.load(path, "postfilter")
        results[name] = {"checkpoint": path, **tone_sweep(pf.filter_wave, pf.sample_rate)}
    tones = list(next(iter(results.values()))["tones_hz"])
    lines = ["| system | " + " | ".join(f"{t} Hz" for t in tones) + " | mean |",
             "|---|" + "---:|" * (len(tones) + 1)]
    show = lambda db: f"{db:.1f}" if db > -150 else "< -150"  # noqa: E731  (float rounding or exactly 0)
    for name, r in results.items():
        lines.append(f"| {name} | " + " | ".join(show(r["tones_hz"][t]["db"]) for t in tones)
                     + f" | {show(r['mean_db'])} |")
    text = ("Energy off the input tone's harmonics [dB of the output energy], tone amplitude "
            f"{next(iter(results.values()))['amplitude']}\n\n" + "\n".join(lines) + "\n")
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(results, indent=1))
    out.with_suffix(".md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
