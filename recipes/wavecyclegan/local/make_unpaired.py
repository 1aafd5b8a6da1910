#!/usr/bin/env python3
"""Turn a synthetic/natural pair corpus into WaveCycleGAN's unpaired training layout.

The training sentences are split in two halves: the synthetic side trains on the first
half, the natural side on the second, so no sentence is seen in both forms in training.
Test (and dev) sentences keep both forms, for paired measures.

    python local/make_unpaired.py --pairs PAIRS --out ROOT [--case tts|vocoder]

``--case tts``: synthetic = the pair corpus's synthetic speech (an acoustic model's
mel-cepstra resynthesised with natural F0 and aperiodicity). ``--case vocoder``:
synthetic = WORLD analysis-synthesis of the natural speech (the project's mel-cepstral
features), the vocoder's own loss and nothing else.
"""
import argparse
import os
import shutil
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from vcgan.features.audio import list_audio, load_audio, save_audio
from vcgan.features.world import FeatureConfig, analyze, synthesize


def _resynthesise(job):
    src, dst, sr = job
    cfg = FeatureConfig(sample_rate=sr)
    save_audio(dst, synthesize(analyze(load_audio(src, sr), cfg), cfg), sr)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pairs", required=True, help="PAIRS/{synthetic,natural}/{train,test[,dev]}/*.wav")
    ap.add_argument("--out", required=True)
    ap.add_argument("--case", default="tts", choices=["tts", "vocoder"])
    ap.add_argument("--sample-rate", type=int, default=16000)
    ap.add_argument("--jobs", type=int, default=None)
    a = ap.parse_args()
    pairs, out = Path(a.pairs), Path(a.out)
    splits = [s for s in ("train", "dev", "test") if (pairs / "natural" / s).is_dir()]
    if "train" not in splits:
        raise SystemExit(f"{pairs}/natural/train: missing")
    jobs = []
    counts = {}
    for split in splits:
        natural = list_audio(pairs / "natural" / split)
        if split == "train":
            half = len(natural) // 2
            syn_names, nat_files = [f.stem for f in natural[:half]], natural[half:]
        else:
            syn_names, nat_files = [f.stem for f in natural], natural
        for side in ("synthetic", "natural"):
            (out / side / split).mkdir(parents=True, exist_ok=True)
        for f in nat_files:
            shutil.copy(f, out / "natural" / split / f.name)
        by_stem = {f.stem: f for f in list_audio(pairs / "synthetic" / split)} if a.case == "tts" else {}
        for stem in syn_names:
            dst = out / "synthetic" / split / f"{stem}.wav"
            if a.case == "tts":
                if stem not in by_stem:
                    raise SystemExit(f"{pairs}/synthetic/{split}: no synthetic file for {stem}")
                shutil.copy(by_stem[stem], dst)
            else:
                jobs.append((str(pairs / "natural" / split / f"{stem}.wav"), str(dst), a.sample_rate))
        counts[split] = (len(syn_names), len(nat_files))
    if jobs:
        with ProcessPoolExecutor(a.jobs or os.cpu_count()) as pool:
            list(pool.map(_resynthesise, jobs))
    for split, (s, n) in counts.items():
        print(f"{split}: {s} synthetic, {n} natural files ({'disjoint sentences' if split == 'train' else 'paired'})")
    print(f"-> {out} ({a.case} case)")


if __name__ == "__main__":
    main()
