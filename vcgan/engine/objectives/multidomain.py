"""Multi-domain conditional objective (StarGAN, StarGAN-VC, StarGAN-VC2)."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ...errors import ConfigError
from ..losses import AdversarialLoss, gradient_penalty, r1_penalty, reconstruction_loss
from ..model import GeneratorDiscriminatorModel
from ..schedule import Schedule
from .toolkit import score_real_fake


class MultiDomainObjective(GeneratorDiscriminatorModel):
    """Networks are called as ``G(x, src, trg)``, ``D(x, src, trg)`` and ``C(x)``
    (integer domain indices per sample; a network ignores the codes it does not
    condition on: StarGAN-VC's D uses the target only, StarGAN-VC2's projection
    D the (source, target) pair). Batches hold ``x`` (samples of domains
    ``src``), ``trg`` (requested domains) and ``y`` (real samples of ``trg``).

    Losses (``reconstruction`` picks the distance of the cycle and identity terms: L1 in
    the papers): adversarial, with an optional R1 penalty on real data
    (``r1_gamma / 2 * E||grad D(y)||^2``, StarGAN v2's regulariser; ``r1_every > 1``
    computes it every ``r1_every``-th step only, scaled by ``r1_every``, StyleGAN2's lazy
    form); domain
    classification, which reaches G only through the *converted* sample,
    C(G(x, src, trg)) against trg, while C learns on real data; cycle
    ``G(G(x, src, trg), trg, src) ~ x``; identity ``G(x, src, src) ~ x``
    (``identity_mode="source"``, the papers') or ``G(y, src, trg) ~ y`` (``"target"``:
    a conversion to ``trg`` leaves real ``trg`` data alone, CycleGAN's form; with
    source-and-target codes it constrains the conversion pairs themselves instead of
    the pairs ``(s, s)`` that are never used to convert).

    The classifier is a separate network ``C`` (StarGAN-VC) or a second head of D
    on a shared trunk (StarGAN): such a D returns ``(scores, logits)``. Domains are
    indices (one label per sample: cross-entropy) or 0/1 attribute vectors (several
    labels: binary cross-entropy per attribute, as for CelebA).
    """

    def __init__(self, generator: nn.Module, discriminator: nn.Module, classifier: nn.Module | None = None, *,
                 adversarial: str = "lsgan", cls_weight=1.0, cycle_weight=10.0, identity_weight=0.0,
                 gp_weight: float = 10.0, identity_mode: str = "source", reconstruction: str = "l1",
                 r1_gamma: float = 0.0, r1_every: int = 1):
        super().__init__()
        if r1_gamma < 0:
            raise ConfigError(f"config key 'loss.r1_gamma': must be >= 0 (0: off), got {r1_gamma}")
        if int(r1_every) != r1_every or r1_every < 1:
            raise ConfigError(f"config key 'loss.r1_every': must be an integer >= 1, got {r1_every}")
        if identity_mode not in ("source", "target"):
            raise ValueError(f"identity_mode: expected source or target, got {identity_mode!r}")
        self.identity_mode = identity_mode
        self.recon = reconstruction_loss(reconstruction)
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
        self.r1_gamma, self.r1_every = float(r1_gamma), int(r1_every)

    @staticmethod
    def _cls_loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if target.is_floating_point():  # attribute vectors
            return F.binary_cross_entropy_with_logits(logits.float(), target.float(), reduction="sum") / len(target)
        return F.cross_entropy(logits.float(), target)

    @staticmethod
    def _heads(out):
        """(scores, logits or None) of a discriminator output."""
        return out if isinstance(out, tuple) else (out, None)

    def generate(self, batch, step):
        x, src, trg = batch["x"], batch["src"], batch["trg"]
        g = self.generators["g"]
        out = {}
        if self.identity_weight(step) > 0:  # conversion and identity mapping in one generator call
            if self.identity_mode == "target":
                both = g(torch.cat([x, batch["y"]], 0), torch.cat([src, src], 0), torch.cat([trg, trg], 0))
            else:
                both = g(torch.cat([x, x], 0), torch.cat([src, src], 0), torch.cat([trg, src], 0))
            out["fake"], out["same"] = both.split(x.shape[0], 0)
        else:
            out["fake"] = g(x, src, trg)
        out["cyc"] = g(out["fake"], trg, src)
        return out

    def generator_losses(self, batch, out, step):
        x, src, trg = batch["x"], batch["src"], batch["trg"]
        d = self.discriminators["d"]
        scores, logits = self._heads(d(out["fake"], src, trg))
        losses = {"adv": self.adv.g_loss(scores), "cycle": self.recon(out["cyc"].float(), x.float())}
        total = losses["adv"] + self.cycle_weight(step) * losses["cycle"]
        w_id = self.identity_weight(step)
        if w_id > 0:
            ref = batch["y"] if self.identity_mode == "target" else x
            losses["identity"] = self.recon(out["same"].float(), ref.float())
            total = total + w_id * losses["identity"]
        w_cls = self.cls_weight(step)
        if w_cls > 0 and ("c" in self.discriminators or logits is not None):
            logits = self.discriminators["c"](out["fake"]) if "c" in self.discriminators else logits
            losses["cls"] = self._cls_loss(logits, trg)
            total = total + w_cls * losses["cls"]
        losses["total"] = total
        return losses

    def discriminator_losses(self, batch, out, step):
        src, trg, y, fake = batch["src"], batch["trg"], batch["y"], out["fake"]
        d = self.discriminators["d"]
        r1 = self.r1_gamma > 0 and int(step) % self.r1_every == 0
        if r1:
            y = y.detach().requires_grad_(True)
        real, fake_out = score_real_fake(d, y, fake, src, trg)
        (real_s, real_logits), (fake_s, _) = self._heads(real), self._heads(fake_out)
        losses = {"adv": self.adv.d_loss(real_s, fake_s)}
        total = losses["adv"]
        if self.adv.kind == "wgan-gp":
            losses["gp"] = gradient_penalty(lambda v: self._heads(d(v, src, trg))[0], y, fake)
            total = total + self.gp_weight * losses["gp"]
        if r1:
            losses["r1"] = r1_penalty(real_s, y)
            total = total + 0.5 * self.r1_gamma * self.r1_every * losses["r1"]
        w_cls = self.cls_weight(step)
        if w_cls > 0 and ("c" in self.discriminators or real_logits is not None):
            logits = self.discriminators["c"](y) if "c" in self.discriminators else real_logits
            losses["cls"] = self._cls_loss(logits, trg)
            total = total + w_cls * losses["cls"]
        losses["total"] = total
        return losses
