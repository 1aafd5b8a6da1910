"""Objectives written once, used by speech and image model families alike."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .losses import AdversarialLoss, gradient_penalty
from .schedule import Schedule
from .task import Task


def _scores(disc: nn.Module, real: torch.Tensor, fake: torch.Tensor):
    """Score real and fake in one call (instance-normalised D: samples stay independent)."""
    out = disc(torch.cat([real, fake], 0))
    return out[: real.shape[0]], out[real.shape[0]:]


class CycleConsistentObjective(Task):
    """Two-domain cycle-consistent adversarial objective (CycleGAN, CycleGAN-VC/VC2).

    Generators ``ab`` (A->B) and ``ba``; discriminators ``a`` and ``b``, plus
    ``a2`` and ``b2`` when ``two_step_weight > 0``: the two-step adversarial loss
    of CycleGAN-VC2, whose *separate* discriminators judge cycle-reconstructed
    samples and whose loss also reaches the generators. Batches hold ``a`` and
    ``b`` tensors of equal shape.
    """

    def __init__(
        self,
        g_ab: nn.Module,
        g_ba: nn.Module,
        d_a: nn.Module,
        d_b: nn.Module,
        d_a2: nn.Module | None = None,
        d_b2: nn.Module | None = None,
        *,
        adversarial: str = "lsgan",
        cycle_weight=10.0,
        identity_weight=0.0,
        two_step_weight=0.0,
        gp_weight: float = 10.0,
    ):
        super().__init__()
        self.generators = nn.ModuleDict({"ab": g_ab, "ba": g_ba})
        ds = {"a": d_a, "b": d_b}
        self.two_step = Schedule(two_step_weight, "loss.two_step_weight")
        if any(v > 0 for _, v in self.two_step.points):
            if d_a2 is None or d_b2 is None:
                raise ValueError("two-step adversarial loss needs second-step discriminators d_a2 and d_b2")
            ds.update(a2=d_a2, b2=d_b2)
        self.discriminators = nn.ModuleDict(ds)
        self.adv = AdversarialLoss(adversarial)
        self.cycle_weight = Schedule(cycle_weight, "loss.cycle_weight")
        self.identity_weight = Schedule(identity_weight, "loss.identity_weight")
        self.gp_weight = gp_weight
        self._fakes = None

    def generator_losses(self, batch, step):
        a, b = batch["a"], batch["b"]
        g_ab, g_ba = self.generators["ab"], self.generators["ba"]
        d = self.discriminators
        w_id = self.identity_weight(step)
        if w_id > 0:  # one call per generator covers translation and identity mapping
            fake_b, id_b = g_ab(torch.cat([a, b], 0)).split(a.shape[0], 0)
            fake_a, id_a = g_ba(torch.cat([b, a], 0)).split(b.shape[0], 0)
        else:
            fake_b, fake_a = g_ab(a), g_ba(b)
        cyc_a, cyc_b = g_ba(fake_b), g_ab(fake_a)
        losses = {
            "adv": self.adv.g_loss(d["b"](fake_b)) + self.adv.g_loss(d["a"](fake_a)),
            "cycle": F.l1_loss(cyc_a.float(), a.float()) + F.l1_loss(cyc_b.float(), b.float()),
        }
        total = losses["adv"] + self.cycle_weight(step) * losses["cycle"]
        if w_id > 0:
            losses["identity"] = F.l1_loss(id_a.float(), a.float()) + F.l1_loss(id_b.float(), b.float())
            total = total + w_id * losses["identity"]
        w2 = self.two_step(step)
        if w2 > 0:
            losses["adv2"] = self.adv.g_loss(d["a2"](cyc_a)) + self.adv.g_loss(d["b2"](cyc_b))
            total = total + w2 * losses["adv2"]
        losses["total"] = total
        self._fakes = {"a": fake_a.detach(), "b": fake_b.detach(), "cyc_a": cyc_a.detach(), "cyc_b": cyc_b.detach()}
        return losses

    def discriminator_losses(self, batch, step):
        fakes = self._fakes
        if fakes is None:  # called without a generator pass this step
            with torch.no_grad():
                self.generator_losses(batch, step)
            fakes = self._fakes
        self._fakes = None
        d = self.discriminators
        losses = {}
        for dom in ("a", "b"):
            real = batch[dom]
            losses[f"adv_{dom}"] = self.adv.d_loss(*_scores(d[dom], real, fakes[dom].to(real.dtype)))
            if self.adv.kind == "wgan-gp":
                losses[f"gp_{dom}"] = gradient_penalty(d[dom], real, fakes[dom])
        total = sum(v if not k.startswith("gp") else self.gp_weight * v for k, v in losses.items())
        if "a2" in d and self.two_step(step) > 0:
            for dom in ("a", "b"):
                real = batch[dom]
                losses[f"adv2_{dom}"] = self.adv.d_loss(*_scores(d[dom + "2"], real, fakes["cyc_" + dom].to(real.dtype)))
                total = total + losses[f"adv2_{dom}"]
        losses["total"] = total
        return losses
