"""Two-domain cycle-consistent adversarial objective (CycleGAN, CycleGAN-VC/VC2, WaveCycleGAN)."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..losses import AdversarialLoss, gradient_penalty
from ..model import GeneratorDiscriminatorModel
from ..schedule import Schedule
from .toolkit import HistoryPool, score_real_fake


class CycleConsistentObjective(GeneratorDiscriminatorModel):
    """Generators ``ab`` (A->B) and ``ba``; discriminators ``a`` and ``b``, plus
    ``a2`` and ``b2`` when ``two_step_weight > 0``: the two-step adversarial loss
    of CycleGAN-VC2, whose *separate* discriminators judge cycle-reconstructed
    samples and whose loss also reaches the generators. Batches hold ``a`` and
    ``b`` tensors of equal shape.

    ``pool_size > 0`` feeds each discriminator from a history of generated samples
    (CycleGAN's 50-image pool). ``d_scale`` multiplies the discriminators' loss
    (CycleGAN: 0.5, which slows D relative to G). A discriminator may be a multi-view one.
    """

    def __init__(self, g_ab: nn.Module, g_ba: nn.Module, d_a: nn.Module, d_b: nn.Module,
                 d_a2: nn.Module | None = None, d_b2: nn.Module | None = None, *,
                 adversarial: str = "lsgan", cycle_weight=10.0, identity_weight=0.0, two_step_weight=0.0,
                 gp_weight: float = 10.0, pool_size: int = 0, d_scale: float = 1.0):
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
        self.pools = nn.ModuleDict({k: HistoryPool(pool_size) for k in ds}) if pool_size > 0 else None
        self.d_scale = float(d_scale)

    def generate(self, batch, step):
        a, b = batch["a"], batch["b"]
        g_ab, g_ba = self.generators["ab"], self.generators["ba"]
        out = {}
        if self.identity_weight(step) > 0:  # one call per generator covers translation and identity mapping
            out["fake_b"], out["id_b"] = g_ab(torch.cat([a, b], 0)).split(a.shape[0], 0)
            out["fake_a"], out["id_a"] = g_ba(torch.cat([b, a], 0)).split(b.shape[0], 0)
        else:
            out["fake_b"], out["fake_a"] = g_ab(a), g_ba(b)
        out["cyc_a"], out["cyc_b"] = g_ba(out["fake_b"]), g_ab(out["fake_a"])
        return out

    def generator_losses(self, batch, out, step):
        a, b, d = batch["a"], batch["b"], self.discriminators
        losses = {
            "adv": self.adv.g_loss(d["b"](out["fake_b"])) + self.adv.g_loss(d["a"](out["fake_a"])),
            "cycle": F.l1_loss(out["cyc_a"].float(), a.float()) + F.l1_loss(out["cyc_b"].float(), b.float()),
        }
        total = losses["adv"] + self.cycle_weight(step) * losses["cycle"]
        w_id = self.identity_weight(step)
        if w_id > 0:
            losses["identity"] = F.l1_loss(out["id_a"].float(), a.float()) + F.l1_loss(out["id_b"].float(), b.float())
            total = total + w_id * losses["identity"]
        w2 = self.two_step(step)
        if w2 > 0:
            losses["adv2"] = self.adv.g_loss(d["a2"](out["cyc_a"])) + self.adv.g_loss(d["b2"](out["cyc_b"]))
            total = total + w2 * losses["adv2"]
        losses["total"] = total
        return losses

    def _fake_for(self, name: str, fake: torch.Tensor) -> torch.Tensor:
        return self.pools[name].query(fake) if self.pools is not None else fake

    def discriminator_losses(self, batch, out, step):
        d, losses = self.discriminators, {}
        for dom in ("a", "b"):
            real, fake = batch[dom], self._fake_for(dom, out["fake_" + dom])
            losses[f"adv_{dom}"] = self.adv.d_loss(*score_real_fake(d[dom], real, fake))
            if self.adv.kind == "wgan-gp":
                losses[f"gp_{dom}"] = gradient_penalty(d[dom], real, fake)
        total = sum(v if not k.startswith("gp") else self.gp_weight * v for k, v in losses.items())
        w2 = self.two_step(step)
        if "a2" in d and w2 > 0:
            for dom in ("a", "b"):
                real, cyc = batch[dom], self._fake_for(dom + "2", out["cyc_" + dom])
                losses[f"adv2_{dom}"] = self.adv.d_loss(*score_real_fake(d[dom + "2"], real, cyc))
                total = total + w2 * losses[f"adv2_{dom}"]
                if self.adv.kind == "wgan-gp":
                    losses[f"gp2_{dom}"] = gradient_penalty(d[dom + "2"], real, cyc)
                    total = total + self.gp_weight * losses[f"gp2_{dom}"]
        losses["total"] = total if self.d_scale == 1.0 else self.d_scale * total
        return losses
