"""GV and MS of mel-cepstrum postfilters in two domains, beside an oracle envelope.

* features: the postfilter's output mel-cepstra themselves against the natural ones (the
  papers' measure);
* waveform: the same outputs applied to the synthetic waveform by the envelope filter
  (`vcgan postfilter --synthesis filter`) and analysed again, as `vcgan evaluate` judges
  speech.

The oracle imposes the *natural* envelope (c1.., frame for frame; c0 the input's) on the
synthetic waveform: no envelope postfilter can do better, so its waveform-domain distances
bound what any of them can reach through the filter. All in the model's feature space
(the recipe's WORLD mel-cepstra).

usage: python local/envelope_bound.py --pairs data/kal_diphone/pairs_mcep --split dev \\
           --feats dump/feats_pairs_mcep [--out exp/TAG/eval/dev/domains] exp/TAG1 [exp/TAG2 ...]

Stage 6 of the recipe runs it for the mel-cepstrum model (``domains.md`` beside the report).
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from vcgan.features.audio import list_audio, load_audio
from vcgan.features.cache import extract_file
from vcgan.features.world import analyze, filter_by_envelope_change
from vcgan.metrics.oversmoothing import modulation_frequencies, modulation_spectrum, postfilter_measures
from vcgan.report import write_report
from vcgan.models.gan_postfilter.apply import GVScaling, SpeechPostfilter


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pairs", required=True, help="ROOT with synthetic/SPLIT and natural/SPLIT")
    ap.add_argument("--split", default="dev")
    ap.add_argument("--feats", required=True, help="prepared features (the GV-scaling baseline's natural GV)")
    ap.add_argument("--out", default=None, help="write the results to OUT.json and the table to OUT.md")
    ap.add_argument("runs", nargs="+", help="run directories (RUN/train/checkpoints/latest.pt)")
    a = ap.parse_args(argv)
    torch.set_num_threads(1)
    pairs = Path(a.pairs)
    pfs = {Path(r).name: SpeechPostfilter.from_checkpoint(Path(r) / "train" / "checkpoints" / "latest.pt")
           for r in a.runs}
    cfg = next(iter(pfs.values())).features
    gv = GVScaling.from_features(a.feats, kind="mcep")
    systems = ["synthetic", "oracle", "GV scaling", *pfs]
    feat = {k: [] for k in ["natural", *systems]}
    wave = {k: [] for k in systems}
    files = list_audio(pairs / "synthetic" / a.split)
    if not files:
        raise SystemExit(f"{pairs / 'synthetic' / a.split}: no audio files")
    for f in files:
        x = load_audio(f, cfg.sample_rate)
        s = analyze(x, cfg).spectral
        n = extract_file(pairs / "natural" / a.split / f.name, cfg).spectral
        frames = min(len(s), len(n))  # the pairs share durations; WORLD may differ by a frame
        s, n = s[:frames], n[:frames]
        oracle = n.copy()
        oracle[:, 0] = s[:, 0]
        outs = {"synthetic": s, "oracle": oracle, "GV scaling": gv.filter_features(s),
                **{k: pf.filter_features(s) for k, pf in pfs.items()}}
        feat["natural"].append(n)
        for k, o in outs.items():
            feat[k].append(o)
            wave[k].append(s if k == "synthetic" else
                           analyze(filter_by_envelope_change(x, s, o, cfg), cfg).spectral[:frames])
    fast = modulation_frequencies() >= 40
    ms_nat = modulation_spectrum(feat["natural"])
    result = {}
    lines = [f"{len(files)} {a.split} files; distances to natural; 'MS >= 40 Hz': mean dB difference there", "",
             "| system | domain | log-GV distance | MS distance [dB] | MS >= 40 Hz [dB] |", "|---|---|---:|---:|---:|"]
    print("\n".join(lines))
    for k in systems:
        for domain, trajs in (("features", feat[k]), ("waveform", wave[k])):
            m = postfilter_measures(trajs, feat["natural"])
            fast_gap = float(np.mean(modulation_spectrum(trajs)[fast, 1:] - ms_nat[fast, 1:]))
            result[f"{k}/{domain}"] = {"log_gv_distance": m["log_gv_distance"], "ms_distance": m["ms_distance"],
                                       "ms_fast_gap_db": fast_gap}
            lines.append(f"| {k} | {domain} | {m['log_gv_distance']:.3f} | {m['ms_distance']:.2f} | {fast_gap:+.2f} |")
            print(lines[-1], flush=True)
    if a.out:
        write_report(a.out, result, "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
