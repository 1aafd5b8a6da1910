"""Few-channel output convolutions: ``nn.Conv2d`` against ``vcgan.nn.NarrowConv2d``.

usage: python benchmarks/narrow_conv.py [--threads 1] [--repeats 8]
Forward + backward (input, weight and bias gradients) of each layer alone, in fp32, for
the output layers of the project's generators and a few layers the rewrite is not used
for (discriminator heads, wider layers). Prints the CPU capability on every line and the
largest difference between the two outputs.
"""
from __future__ import annotations

import argparse
import time

import torch

from vcgan.engine.precision import hardware_summary
from vcgan.nn import NarrowConv2d

# (what, batch, in, out, height, width, kernel, padding)
LAYERS = [
    ("StarGAN-VC2 width 16 output", 16, 16, 1, 36, 64, (5, 15), (2, 7)),
    ("CycleGAN-VC2 width 32 output", 8, 32, 1, 36, 128, (5, 15), (2, 7)),
    ("2-1-2D paper-size output", 1, 128, 1, 36, 128, (5, 15), (2, 7)),
    ("image ResNet generator output, 28 px", 16, 32, 3, 34, 34, (7, 7), (0, 0)),
    ("image ResNet generator output, 256 px", 1, 64, 3, 262, 262, (7, 7), (0, 0)),
    ("PatchGAN head (not rewritten)", 16, 256, 1, 4, 4, (3, 3), (1, 1)),
    ("class head (not rewritten)", 16, 256, 4, 3, 3, (3, 3), (0, 0)),
    ("3x3 to 8 channels (not rewritten)", 16, 64, 8, 32, 32, (3, 3), (1, 1)),
]


def fwd_bwd_ms(net, x, repeats: int) -> float:
    for _ in range(2):
        net(x).sum().backward()
    t0 = time.perf_counter()
    for _ in range(repeats):
        net(x).sum().backward()
    return (time.perf_counter() - t0) / repeats * 1e3


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=8)
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    hw = hardware_summary(torch.device("cpu"))
    for what, b, cin, cout, h, w, k, p in LAYERS:
        torch.manual_seed(0)
        ref = torch.nn.Conv2d(cin, cout, k, padding=p)
        fast = NarrowConv2d(cin, cout, k, padding=p)
        fast.load_state_dict(ref.state_dict())
        x = torch.randn(b, cin, h, w, requires_grad=True)
        diff = (ref(x) - fast(x)).abs().max().item()
        t_ref, t_fast = fwd_bwd_ms(ref, x, a.repeats), fwd_bwd_ms(fast, x, a.repeats)
        print(f"{what}: {b} x {cin} -> {cout}, {h} x {w}, kernel {k[0]} x {k[1]} [{hw}] threads={a.threads}: "
              f"nn.Conv2d {t_ref:.1f} ms, transposed form {t_fast:.1f} ms ({t_ref / t_fast:.1f}x), "
              f"largest difference {diff:.1e}")


if __name__ == "__main__":
    main()
