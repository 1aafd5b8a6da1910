"""Waveform postfilters (WaveCycleGAN, WaveCycleGAN2): seconds per training step of a recipe
config, and the real-time factor and peak memory of `vcgan postfilter` on the festival fixture
and on one long input.

usage: python benchmarks/wave_postfilter.py --config recipes/wavecyclegan/conf/v2_cpu.yaml
       [--threads N] [--steps 10] [--files DIR] [--long-minutes 10]

The weights are random (the timing does not depend on them). Prints the CPU capability, native
bf16 and the resolved precision on every line.
"""
from __future__ import annotations

import argparse
import resource
import time
from pathlib import Path

import numpy as np
import torch

from vcgan.engine.registry import family_for_task
from vcgan.engine.trainer import Trainer
from vcgan.features.audio import list_audio, load_audio
from vcgan.training import resolve_config

from train_step import measure  # noqa: E402  (benchmarks/ runs as scripts)

FIXTURE = Path(__file__).resolve().parents[1] / "tests" / "data" / "festival"


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", required=True)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--files", default=str(FIXTURE), help="audio to postfilter for the real-time factor")
    ap.add_argument("--long-minutes", type=float, default=0.0, help="also postfilter one input this long (noise)")
    a = ap.parse_args(argv)
    if a.threads:
        torch.set_num_threads(a.threads)
    cfg = resolve_config(a.config, ["out_dir=/tmp/vcgan_wave_postfilter_bench", "train.progress=false",
                                    "train.checkpoint_every=0", "model.residual=false"])
    family = family_for_task(cfg["task"])
    model, data = family.synthetic(cfg)
    trainer = Trainer(model, data, cfg["train"], cfg["out_dir"], cfg)
    dt, gflop = measure(lambda: trainer.train_step(data.next_batch()), a.warmup, a.steps)
    where = f"[{trainer.hardware}] precision={trainer.precision} threads={torch.get_num_threads()}"
    print(f"{a.config}: {cfg['task']} batch={cfg['data']['batch_size']} crop={cfg['data']['crop']} {where}: "
          f"{dt:.3f} s/step, {gflop or float('nan'):.0f} GFLOP/step, peak RSS {peak_mib():.0f} MiB")

    pf = family.load("(benchmark)", {"meta": model.metadata(), "model": model.state_dict(), "config": cfg})
    files = list_audio(a.files)
    waves = [load_audio(p, pf.sample_rate) for p in files]
    seconds = sum(len(x) for x in waves) / pf.sample_rate
    pf.filter_wave(waves[0][: pf.sample_rate])  # warm-up
    t0 = time.perf_counter()
    for x in waves:
        pf.filter_wave(x)
    spent = time.perf_counter() - t0
    print(f"{a.config}: vcgan postfilter {where}: {len(files)} files, {seconds:.1f} s of audio: real-time factor "
          f"{spent / seconds:.3f}, receptive field {pf.field} samples, peak RSS {peak_mib():.0f} MiB")
    if a.long_minutes > 0:
        x = 0.05 * np.random.default_rng(0).standard_normal(int(a.long_minutes * 60 * pf.sample_rate))
        before = peak_mib()
        t0 = time.perf_counter()
        y = pf.filter_wave(x)
        spent = time.perf_counter() - t0
        assert len(y) == len(x)
        print(f"{a.config}: one {a.long_minutes:g}-minute input in 10-s windows {where}: real-time factor "
              f"{spent / (len(x) / pf.sample_rate):.3f}, peak RSS {peak_mib():.0f} MiB (before it: {before:.0f} MiB; "
              f"the input and output alone: {2 * 8 * len(x) / 2**20:.0f} MiB as float64)")


if __name__ == "__main__":
    main()
