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
        w2 = self.two_step(step)
        if "a2" in d and w2 > 0:
            for dom in ("a", "b"):
                real, cyc = batch[dom], fakes["cyc_" + dom]
                losses[f"adv2_{dom}"] = self.adv.d_loss(*_scores(d[dom + "2"], real, cyc.to(real.dtype)))
                total = total + w2 * losses[f"adv2_{dom}"]
                if self.adv.kind == "wgan-gp":
                    losses[f"gp2_{dom}"] = gradient_penalty(d[dom + "2"], real, cyc)
                    total = total + self.gp_weight * losses[f"gp2_{dom}"]
        losses["total"] = total
        return losses


class MultiDomainObjective(Task):
    """Multi-domain conditional objective (StarGAN, StarGAN-VC, StarGAN-VC2).

    Networks are called as ``G(x, src, trg)``, ``D(x, src, trg)`` and ``C(x)``
    (integer domain indices per sample; a network ignores the codes it does not
    condition on: StarGAN-VC's D uses the target only, StarGAN-VC2's projection
    D the (source, target) pair). Batches hold ``x`` (samples of domains
    ``src``), ``trg`` (requested domains) and ``y`` (real samples of ``trg``).

    Losses: adversarial; domain classification, which reaches G only through the
    *converted* sample, C(G(x, src, trg)) against trg, while C learns on real
    data; cycle ``G(G(x, src, trg), trg, src) ~ x``; identity ``G(x, src, src) ~ x``.
    """

    def __init__(self, generator: nn.Module, discriminator: nn.Module, classifier: nn.Module | None = None, *,
                 adversarial: str = "lsgan", cls_weight=1.0, cycle_weight=10.0, identity_weight=0.0,
                 gp_weight: float = 10.0):
        super().__init__()
        self.generators = nn.ModuleDict({"g": generator})
        ds = {"d": discriminator}
        if classifier is not None:
            ds["c"] = classifier
        self.discriminators = nn.ModuleDict(ds)
        self.adv = AdversarialLoss(adversarial)
        self.cls_weight = Schedule(cls_weight, "loss.cls_weight")
        self.cycle_weight = Schedule(cycle_weight, "loss.cycle_weight")
        self.identity_weight = Schedule(identity_weight, "loss.identity_weight")
        self.gp_weight = gp_weight
        self._fake = None

    def generator_losses(self, batch, step):
        x, src, trg = batch["x"], batch["src"], batch["trg"]
        g, d = self.generators["g"], self.discriminators["d"]
        w_id = self.identity_weight(step)
        if w_id > 0:  # conversion and identity mapping in one generator call
            out = g(torch.cat([x, x], 0), torch.cat([src, src], 0), torch.cat([trg, src], 0))
            fake, same = out.split(x.shape[0], 0)
        else:
            fake = g(x, src, trg)
        cyc = g(fake, trg, src)
        losses = {"adv": self.adv.g_loss(d(fake, src, trg)), "cycle": F.l1_loss(cyc.float(), x.float())}
        total = losses["adv"] + self.cycle_weight(step) * losses["cycle"]
        if w_id > 0:
            losses["identity"] = F.l1_loss(same.float(), x.float())
            total = total + w_id * losses["identity"]
        w_cls = self.cls_weight(step)
        if "c" in self.discriminators and w_cls > 0:
            losses["cls"] = F.cross_entropy(self.discriminators["c"](fake).float(), trg)
            total = total + w_cls * losses["cls"]
        losses["total"] = total
        self._fake = fake.detach()
        return losses

    def discriminator_losses(self, batch, step):
        if self._fake is None:
            with torch.no_grad():
                self.generator_losses(batch, step)
        fake, self._fake = self._fake, None
        src, trg, y = batch["src"], batch["trg"], batch["y"]
        d = self.discriminators["d"]
        scores = d(torch.cat([y, fake.to(y.dtype)], 0), torch.cat([src, src], 0), torch.cat([trg, trg], 0))
        real_s, fake_s = scores.split(y.shape[0], 0)
        losses = {"adv": self.adv.d_loss(real_s, fake_s)}
        total = losses["adv"]
        if self.adv.kind == "wgan-gp":
            losses["gp"] = gradient_penalty(lambda v: d(v, src, trg), y, fake)
            total = total + self.gp_weight * losses["gp"]
        if "c" in self.discriminators and self.cls_weight(step) > 0:
            losses["cls"] = F.cross_entropy(self.discriminators["c"](y).float(), trg)
            total = total + self.cls_weight(step) * losses["cls"]
        losses["total"] = total
        return losses
