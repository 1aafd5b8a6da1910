"""The paper-size CycleGAN-VC2 training step of jackaduma/CycleGAN-VC2, for comparison.

usage: python benchmarks/peer_cyclegan_vc2.py [--precision fp32|auto|bf16] [--steps 5] [--threads N]

Its networks re-created here layer by layer (same layers, channel counts, kernels and output
shapes as its ``model_tf.py``: 2-1-2D generator whose "GLU" is x * sigmoid(x) after the
upsampling layers, a gated PatchGAN whose (1, 5) layer is built but never called), driven by
its ``train.py`` step: a generator pass (six generator calls, four discriminator calls, the
identity loss on) and then a discriminator pass that recomputes four generator forwards with
their graphs and back-propagates through them. Batch 1, 36 x 128 random features, Adam as it
configures it. The peer trains in fp32 (no autocast): that is ``--precision fp32``, the
default; ``--precision auto|bf16`` wraps its step in CPU bf16 autocast for reference only.
Compare with ``python benchmarks/train_step.py --task cyclegan_vc2 --channels 128 --batch 1
--identity`` (vcgan's step at its default precision).
"""
from __future__ import annotations

import argparse
import contextlib
import resource

import torch
from torch import nn

from train_step import measure  # benchmarks/ is on the path when this script runs
from vcgan.engine.precision import hardware_summary, resolve_precision


class Swish(nn.Module):  # what the peer calls GLU
    def forward(self, x):
        return x * torch.sigmoid(x)


def _in2(c):
    return nn.InstanceNorm2d(c, affine=True)


def _in1(c):
    return nn.InstanceNorm1d(c, affine=True)


class GatedConv(nn.Module):
    """conv + IN, times sigmoid of a second conv + IN (the peer's downsampling and residual gates)."""

    def __init__(self, conv, cin, cout, norm, **kw):
        super().__init__()
        self.value = nn.Sequential(conv(cin, cout, **kw), norm(cout))
        self.gate = nn.Sequential(conv(cin, cout, **kw), norm(cout))

    def forward(self, x):
        return self.value(x) * torch.sigmoid(self.gate(x))


class Residual(nn.Module):
    def __init__(self, c=256, hidden=512):
        super().__init__()
        self.gated = GatedConv(nn.Conv1d, c, hidden, _in1, kernel_size=3, padding=1)
        self.out = nn.Sequential(nn.Conv1d(hidden, c, 3, padding=1), _in1(c))

    def forward(self, x):
        return x + self.out(self.gated(x))


class PeerGenerator(nn.Module):
    def __init__(self, features: int = 36):
        super().__init__()
        self.h = features // 4
        self.conv1 = nn.Conv2d(1, 128, (5, 15), padding=(2, 7))
        self.conv1_gates = nn.Conv2d(1, 128, (5, 15), padding=(2, 7))
        self.down = nn.Sequential(GatedConv(nn.Conv2d, 128, 256, _in2, kernel_size=5, stride=2, padding=2),
                                  GatedConv(nn.Conv2d, 256, 256, _in2, kernel_size=5, stride=2, padding=2))
        self.to1d = nn.Sequential(nn.Conv1d(256 * self.h, 256, 1), _in1(256))
        self.res = nn.Sequential(*[Residual() for _ in range(6)])
        self.to2d = nn.Sequential(nn.Conv1d(256, 256 * self.h, 1), _in1(256 * self.h))
        self.up = nn.Sequential(nn.Conv2d(256, 1024, 5, padding=2), nn.PixelShuffle(2), _in2(256), Swish(),
                                nn.Conv2d(256, 512, 5, padding=2), nn.PixelShuffle(2), _in2(128), Swish())
        self.last = nn.Conv2d(128, 1, (5, 15), padding=(2, 7))

    def forward(self, x):
        x = x.unsqueeze(1)
        h = self.down(self.conv1(x) * torch.sigmoid(self.conv1_gates(x)))
        n, _, _, t = h.shape
        h = self.to2d(self.res(self.to1d(h.reshape(n, -1, t)))).reshape(n, 256, self.h, t)
        return self.last(self.up(h)).squeeze(1)


class PeerDiscriminator(nn.Module):
    def __init__(self):
        super().__init__()

        def down(cin, cout, k, s, p):
            return nn.Sequential(nn.Conv2d(cin, cout, k, stride=s, padding=p), _in2(cout), Swish())

        self.conv1 = nn.Sequential(nn.Conv2d(1, 128, 3, padding=1), Swish())
        self.body = nn.Sequential(down(128, 256, 3, 2, 1), down(256, 512, 3, 2, 1), down(512, 1024, 3, 2, 1))
        self.unused = down(1024, 1024, (1, 5), 1, (0, 2))  # built, never called (as in the peer)
        self.out = nn.Conv2d(1024, 1, (1, 3), padding=(0, 1))

    def forward(self, x):
        return torch.sigmoid(self.out(self.body(self.conv1(x.unsqueeze(1)))))


class PeerStep:
    """One iteration of the peer's training loop (identity loss on, as for its first 10k iterations)."""

    def __init__(self, features: int = 36):
        self.g_ab, self.g_ba = PeerGenerator(features), PeerGenerator(features)
        self.d_a, self.d_b = PeerDiscriminator(), PeerDiscriminator()
        g_params = list(self.g_ab.parameters()) + list(self.g_ba.parameters())
        d_params = list(self.d_a.parameters()) + list(self.d_b.parameters())
        self.opt_g = torch.optim.Adam(g_params, lr=2e-4, betas=(0.5, 0.999))
        self.opt_d = torch.optim.Adam(d_params, lr=1e-4, betas=(0.5, 0.999))

    def _zero(self):
        self.opt_g.zero_grad()
        self.opt_d.zero_grad()

    def __call__(self, real_a, real_b, cycle_w: float = 10.0, identity_w: float = 5.0):
        g_ab, g_ba, d_a, d_b = self.g_ab, self.g_ba, self.d_a, self.d_b
        fake_b, fake_a = g_ab(real_a), g_ba(real_b)
        cycle_a, cycle_b = g_ba(fake_b), g_ab(fake_a)
        ident_a, ident_b = g_ba(real_a), g_ab(real_b)
        d_fake_a, d_fake_b = d_a(fake_a), d_b(fake_b)
        d_a(cycle_a), d_b(cycle_b)  # computed and unused by its generator loss
        cyc = (real_a - cycle_a).abs().mean() + (real_b - cycle_b).abs().mean()
        idt = (real_a - ident_a).abs().mean() + (real_b - ident_b).abs().mean()
        g_loss = ((1 - d_fake_b) ** 2).mean() + ((1 - d_fake_a) ** 2).mean() + cycle_w * cyc + identity_w * idt
        self._zero()
        g_loss.backward()
        self.opt_g.step()

        d_real_a, d_real_b = d_a(real_a), d_b(real_b)
        gen_a = g_ba(real_b)
        d_fake_a = d_a(gen_a)
        d_cyc_b = d_b(g_ab(gen_a))
        gen_b = g_ab(real_a)
        d_fake_b = d_b(gen_b)
        d_cyc_a = d_a(g_ba(gen_b))
        la_real, lb_real = ((1 - d_real_a) ** 2).mean(), ((1 - d_real_b) ** 2).mean()
        la = (la_real + (d_fake_a ** 2).mean()) / 2
        lb = (lb_real + (d_fake_b ** 2).mean()) / 2
        la2 = (la_real + (d_cyc_a ** 2).mean()) / 2
        lb2 = (lb_real + (d_cyc_b ** 2).mean()) / 2
        d_loss = (la + lb) / 2 + (la2 + lb2) / 2
        self._zero()
        d_loss.backward()
        self.opt_d.step()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--precision", default="fp32", help="fp32: as the peer trains; auto/bf16: its step under bf16 autocast")
    ap.add_argument("--features", type=int, default=36)
    ap.add_argument("--frames", type=int, default=128)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--threads", type=int, default=None)
    a = ap.parse_args(argv)
    if a.threads:
        torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    cpu = torch.device("cpu")
    precision = resolve_precision(a.precision, cpu)
    autocast = (torch.autocast("cpu", dtype=torch.bfloat16) if precision == "bf16" else contextlib.nullcontext())
    step = PeerStep(a.features)

    def one():
        x, y = torch.randn(1, a.features, a.frames), torch.randn(1, a.features, a.frames)
        with autocast:
            step(x, y)

    dt, gflop = measure(one, a.warmup, a.steps)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peer jackaduma/CycleGAN-VC2 step (re-created) batch=1 frames={a.frames} precision={precision} "
          f"(asked {a.precision}) identity=True [{hardware_summary(cpu)}] threads={torch.get_num_threads()}: "
          f"{dt:.3f} s/step, {gflop:.0f} GFLOP/step ({gflop / dt:.0f} GFLOP/s), peak RSS {rss:.0f} MiB")
    return dt


if __name__ == "__main__":
    main()
