"""GAN postfilters: seconds per training step of a recipe config, and the real-time factor of
`vcgan postfilter` (analysis + filter + synthesis, per second of audio) on the festival fixture.

usage: python benchmarks/postfilter.py --config recipes/gan_postfilter/conf/mcep_cpu.yaml [--threads N]
       [--steps 10] [--files DIR]

Prints the CPU capability, native bf16 and the resolved precision on every line. The
postfilter's weights are random (the timing does not depend on them).
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

FIXTURE = Path(__file__).resolve().parents[1] / "tests" / "data" / "festival"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", required=True)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--files", default=str(FIXTURE), help="audio to postfilter for the real-time factor")
    a = ap.parse_args(argv)
    if a.threads:
        torch.set_num_threads(a.threads)
    cfg = resolve_config(a.config, ["out_dir=/tmp/vcgan_postfilter_bench", "train.progress=false",
                                    "train.checkpoint_every=0", "model.zero_last=false"])
    model, data = family_for_task(cfg["task"]).synthetic(cfg)
    trainer = Trainer(model, data, cfg["train"], cfg["out_dir"], cfg)
    for _ in range(a.warmup):
        trainer.train_step(data.next_batch())
    t0 = time.perf_counter()
    for _ in range(a.steps):
        trainer.train_step(data.next_batch())
    dt = (time.perf_counter() - t0) / a.steps
    where = f"[{trainer.hardware}] precision={trainer.precision} threads={torch.get_num_threads()}"
    print(f"{a.config}: {cfg['task']} batch={cfg['data']['batch_size']} frames={cfg['data']['segment_frames']} "
          f"{where}: {dt:.3f} s/step, peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")

    from vcgan.models.gan_postfilter import load_postfilter
    from vcgan.models.gan_postfilter.apply import SpeechPostfilter

    pf = SpeechPostfilter(load_postfilter(model.metadata(), model.state_dict()), model.metadata())
    files = list_audio(a.files)
    seconds = sum(len(load_audio(p, pf.sample_rate)) for p in files) / pf.sample_rate
    filt = pf.model.apply
    feats = np.random.default_rng(0).standard_normal((int(seconds * 200), len(pf.meta["norm"]["mean"])))
    filt(feats[:400])  # warm-up: the first call pays for allocations
    t0 = time.perf_counter()
    filt(feats)
    net = time.perf_counter() - t0
    # the mel-cepstrum model goes back to speech by filtering the input (default) or by WORLD synthesis
    for synthesis in (("filter", "world") if pf.meta["kind"] == "mcep" else ("filter",)):
        pf.filter_file(files[0], synthesis=synthesis)  # warm-up
        t0 = time.perf_counter()
        for p in files:
            pf.filter_file(p, synthesis=synthesis)
        spent = time.perf_counter() - t0
        how = f" --synthesis {synthesis}" if pf.meta["kind"] == "mcep" else ""
        print(f"{a.config}: vcgan postfilter{how} {where}: {len(files)} files, {seconds:.1f} s of audio: "
              f"real-time factor {spent / seconds:.3f} (network alone {net / seconds:.4f}), peak RSS "
              f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
