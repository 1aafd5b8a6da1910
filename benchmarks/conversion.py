"""Conversion real-time factor (processing time / audio duration) of a checkpoint.

usage: python benchmarks/conversion.py CHECKPOINT --source kal --target slt [--files 6] [--chunk-frames N]
       [--shift-average N]
Breaks the time into WORLD analysis, the generator, and WORLD synthesis.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

import vcgan
from vcgan.models.voice_conversion.pipeline import SpeakerStats, convert_features
from vcgan.engine.precision import hardware_summary
from vcgan.features import analyze, load_audio, synthesize
from vcgan.models.voice_conversion.converter import Converter


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("checkpoint")
    ap.add_argument("--source", default="kal")
    ap.add_argument("--target", default="slt")
    ap.add_argument("--corpus", default=str(Path(__file__).resolve().parents[1] / "recipes/demo/corpus"))
    ap.add_argument("--files", type=int, default=6)
    ap.add_argument("--chunk-frames", type=int, default=None)
    ap.add_argument("--shift-average", type=int, default=1, help="average over this many frame shifts (vcgan convert's)")
    a = ap.parse_args(argv)
    conv = vcgan.load(a.checkpoint).raw.shift_averaged(a.shift_average)
    cfg = conv.features
    mapping = conv._mapping_for(a.source, a.target)
    src, tgt = SpeakerStats.from_dict(conv.stats[a.source]), SpeakerStats.from_dict(conv.stats[a.target])
    files = sorted((Path(a.corpus) / a.source / "test").glob("*.flac"))[: a.files]
    t = {"analysis": 0.0, "model": 0.0, "synthesis": 0.0}
    audio = 0.0
    for f in files:
        x = load_audio(f, cfg.sample_rate)
        audio += len(x) / cfg.sample_rate
        t0 = time.perf_counter()
        feats = analyze(x, cfg)
        t1 = time.perf_counter()
        out = convert_features(feats, src, tgt, mapping, chunk_frames=a.chunk_frames)
        t2 = time.perf_counter()
        synthesize(out, cfg)
        t3 = time.perf_counter()
        t["analysis"] += t1 - t0
        t["model"] += t2 - t1
        t["synthesis"] += t3 - t2
    total = sum(t.values())
    parts = ", ".join(f"{k} {v / audio:.3f}" for k, v in t.items())
    print(f"{len(files)} files, {audio:.1f} s audio, precision=fp32 (inference) [{hardware_summary(torch.device('cpu'))}] "
          f"threads={torch.get_num_threads()} shift-average={a.shift_average}: RTF {total / audio:.3f} ({parts})")


if __name__ == "__main__":
    main()
