"""Feature extraction throughput: seconds of audio analysed per second of wall time.

usage: python benchmarks/features.py [--corpus recipes/demo/corpus] [--files 24] [--f0-method harvest]
Runs WORLD analysis (F0, CheapTrick -> mel-cepstrum, D4C -> coded aperiodicity) on the
same files with 1 process and with all cores, through the feature cache code path.
"""
from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

import soundfile as sf
import torch

from vcgan.engine.precision import hardware_summary
from vcgan.features import FeatureConfig, prepare_features


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", default=str(Path(__file__).resolve().parents[1] / "recipes/demo/corpus"))
    ap.add_argument("--files", type=int, default=24)
    ap.add_argument("--f0-method", default="harvest", choices=["harvest", "dio"])
    a = ap.parse_args(argv)
    files = sorted(Path(a.corpus).glob("*/train/*.flac"))[: a.files]
    seconds = sum(sf.info(str(f)).duration for f in files)
    corpus = {"bench": {"train": files}}
    cfg = FeatureConfig(f0_method=a.f0_method)
    for jobs in sorted({1, os.cpu_count() or 1}):
        out = Path(tempfile.mkdtemp())
        t0 = time.perf_counter()
        prepare_features(corpus, out, cfg, jobs=jobs, progress=False)
        dt = time.perf_counter() - t0
        shutil.rmtree(out)
        print(f"{a.f0_method}: {len(files)} files, {seconds:.1f} s of audio, jobs={jobs}, float64 (WORLD) "
              f"[{hardware_summary(torch.device('cpu'))}]: {dt:.1f} s "
              f"-> {seconds / dt:.2f} s of audio per second")


if __name__ == "__main__":
    main()
