"""Seconds per training step of CycleGAN-VC / CycleGAN-VC2 (random features, no data loading).

usage: python benchmarks/train_step.py [--task cyclegan_vc2] [--channels 128] [--batch 1]
       [--frames 128] [--precision fp32|bf16] [--steps 10] [--device cpu]
Prints s/step after warm-up and the forward FLOPs of one generator call.
"""
from __future__ import annotations

import argparse
import time

import torch

from vcgan.cyclegan_vc.task import LOSS_DEFAULTS, MODEL_DEFAULTS, CycleGANVC
from vcgan.engine.trainer import Trainer
from vcgan.features.world import FeatureConfig


class RandomSegments:
    def __init__(self, dims, frames, batch):
        self.shape = (batch, dims, frames)

    def next_batch(self):
        return {"a": torch.randn(self.shape), "b": torch.randn(self.shape)}

    def state_dict(self):
        return {}

    def load_state_dict(self, s):
        pass


def generator_gflops(gen, dims, frames):
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as fc, torch.no_grad():
        gen(torch.randn(1, dims, frames))
    return fc.get_total_flops() / 1e9


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--task", default="cyclegan_vc2", choices=["cyclegan_vc", "cyclegan_vc2"])
    ap.add_argument("--channels", type=int, default=128)
    ap.add_argument("--disc-channels", type=int, default=None)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--frames", type=int, default=128)
    ap.add_argument("--precision", default="fp32")
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--identity", action="store_true", help="include the identity loss (first 10^4 steps)")
    a = ap.parse_args(argv)
    version = 1 if a.task == "cyclegan_vc" else 2
    dims = 24 if version == 1 else 36
    feats = FeatureConfig(spectral_dim=dims)
    model = dict(MODEL_DEFAULTS, channels=a.channels, disc_channels=a.disc_channels or a.channels)
    loss = dict(LOSS_DEFAULTS, identity_weight=5.0 if a.identity else 0.0)
    task = CycleGANVC(version, ("a", "b"), {"a": {}, "b": {}}, feats, model, loss)
    cfg = {"precision": a.precision, "device": a.device, "progress": False}
    trainer = Trainer(task, RandomSegments(dims, a.frames, a.batch), cfg, "/tmp/vcgan-bench")
    gf = generator_gflops(task.generators["ab"], dims, a.frames)
    for _ in range(a.warmup):
        trainer.train_step(trainer.data.next_batch())
    if trainer.device.type == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(a.steps):
        trainer.train_step(trainer.data.next_batch())
    if trainer.device.type == "cuda":
        torch.cuda.synchronize()
    dt = (time.perf_counter() - t0) / a.steps
    print(f"{a.task} channels={a.channels} batch={a.batch} frames={a.frames} precision={a.precision} "
          f"identity={a.identity} device={trainer.device}: {dt:.3f} s/step, {dt / a.batch:.3f} s/segment-pair; "
          f"G forward {gf:.2f} GFLOP per segment; threads={torch.get_num_threads()}")
    return dt


if __name__ == "__main__":
    main()
