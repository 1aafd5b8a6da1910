"""Seconds per training step (random features, no data loading), FLOPs and peak memory.

usage: python benchmarks/train_step.py [--task cyclegan_vc2|cyclegan_vc|stargan_vc2|stargan_vc]
       [--channels 128] [--disc-channels C] [--batch 1] [--frames 128] [--precision auto|fp32|bf16|fp16]
       [--identity] [--steps 10] [--device cpu|cuda] [--threads N]
   or: python benchmarks/train_step.py --config recipes/stargan_vc2/conf/cpu.yaml [--threads N] [--batch B]
       [--set key=value ...]  (every optimizer group updates each step: a phased config's joint phase)
   or: torchrun --nproc_per_node 2 benchmarks/train_step.py --config ... --threads 1 --batch 4
       (data parallel: B segments per process; the GFLOP count is per process)
       (task, model, loss, batch, segment length and precision of a recipe config; the
       identity loss as the config has it late in a run, or on with --identity)
Prints s/step after warm-up, GFLOP per step (torch's FLOP counter, 2 per multiply-add),
the process's peak resident memory, the CPU capability (vector ISA, native bf16 or not)
and the precision ``auto`` resolved to.
"""
from __future__ import annotations

import argparse
import resource
import time

import torch

from vcgan.engine import Schedule, Step
from vcgan.engine.trainer import Trainer
from vcgan.engine.registry import family_for_task, known_tasks
from vcgan.training import defaults_for, resolve_config

def build(cfg: dict, identity: bool, from_config: bool = False):
    """The model on random segments; the identity loss as in a run's steady state (a config's
    weight late in the run, else off), or on with ``identity``."""
    if "identity_weight" in cfg["loss"]:  # the speech families; the image ones keep their config
        late = Schedule(cfg["loss"]["identity_weight"])(Step(10**9, 1.0)) if from_config else 0.0
        cfg["loss"]["identity_weight"] = 5.0 if identity else late
    return family_for_task(cfg["task"]).synthetic(cfg)


def measure(step, warmup: int, steps: int, sync=lambda: None) -> tuple[float, float | None]:
    """Seconds per call of ``step`` after ``warmup`` calls, and GFLOP of one call (None where
    torch's FLOP counter cannot follow it, e.g. a gradient penalty's double backward)."""
    from torch.utils.flop_counter import FlopCounterMode

    for _ in range(warmup):
        step()
    try:
        with FlopCounterMode(display=False) as counter:
            step()
        gflop = counter.get_total_flops() / 1e9
    except RuntimeError:
        gflop = None
    sync()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    sync()
    return (time.perf_counter() - t0) / steps, gflop


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--task", default="cyclegan_vc2", choices=known_tasks())
    ap.add_argument("--channels", type=int, default=128)
    ap.add_argument("--disc-channels", type=int, default=None)
    ap.add_argument("--batch", type=int, default=None, help="segments per step (per process); default 1, or the config's")
    ap.add_argument("--frames", type=int, default=128)
    ap.add_argument("--precision", default=None,
                    help="auto (default; with --config, the config's): bf16 where the hardware has it natively, else fp32")
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--identity", action="store_true", help="include the identity loss (early steps)")
    ap.add_argument("--compile", action="store_true", help="torch.compile every network (compile time excluded)")
    ap.add_argument("--config", help="benchmark a recipe config (its task, model, loss, batch, frames, precision)")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="with --config: a config override, e.g. loss.alpha=0.0004 (GLCIC's joint phase)")
    a = ap.parse_args(argv)
    if a.threads:
        torch.set_num_threads(a.threads)
    if a.config:
        cfg = resolve_config(a.config, a.set)
        a.task, a.frames = cfg["task"], cfg["data"].get("segment_frames")  # image families: no segments
        a.batch = a.batch or cfg["data"]["batch_size"]
        a.precision = a.precision or cfg["train"]["precision"]
        a.channels, a.disc_channels = cfg["model"].get("channels"), cfg["model"].get("disc_channels")
        if a.threads is None and cfg["train"]["num_threads"]:
            torch.set_num_threads(cfg["train"]["num_threads"])
    else:
        a.batch, a.precision = a.batch or 1, a.precision or "auto"
        cfg = defaults_for(a.task)
        cfg["model"].update(channels=a.channels, disc_channels=a.disc_channels or a.channels)
    cfg["data"].update(batch_size=a.batch, **({"segment_frames": a.frames} if a.frames else {}))
    task, data = build(cfg, a.identity, from_config=bool(a.config))
    if a.compile:
        for group in (task.generators, task.discriminators):
            for net in group.values():
                net.compile()
    trainer = Trainer(task, data, {"precision": a.precision, "device": a.device, "progress": False}, "/tmp/vcgan-bench")
    sync = torch.cuda.synchronize if trainer.device.type == "cuda" else (lambda: None)
    dt, gflop = measure(lambda: trainer.train_step(data.next_batch()), a.warmup, a.steps, sync)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if trainer.rank:  # under torchrun only rank 0 reports
        return dt
    flops = (f"{gflop:.0f} GFLOP/step ({gflop / dt:.0f} GFLOP/s)" if gflop is not None
             else "GFLOP n/a (gradient penalty)")
    identity_on = task.identity_weight(0) > 0 if hasattr(task, "identity_weight") else "n/a"
    world = f" x {trainer.world} processes (torchrun)" if trainer.world > 1 else ""
    print(f"{a.config + ': ' if a.config else ''}{a.task} channels={a.channels} disc={a.disc_channels or a.channels} batch={a.batch} frames={a.frames} "
          f"precision={trainer.precision} (asked {a.precision}) identity={identity_on} [{trainer.hardware}] "
          f"threads={torch.get_num_threads()}{world}{' compiled' if a.compile else ''}: "
          f"{dt:.3f} s/step, {flops}, peak RSS {rss:.0f} MiB")
    return dt


if __name__ == "__main__":
    main()
