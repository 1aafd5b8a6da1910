"""Paired conditional objective (pix2pix, GAN postfilters, image completion)."""
from __future__ import annotations

import torch
from torch import nn

from ..losses import AdversarialLoss, reconstruction_loss
from ..model import GANModel, unknown_group
from ..schedule import Schedule
from .toolkit import score_real_fake



class PairedObjective(GANModel):
    """``G(x) ~ y`` for paired samples: batches hold the input ``x`` and its target ``y``.

    The generator loss is ``adv_weight * adversarial + recon_weight * recon(G(x), y)``
    (pix2pix: L1 x 100; a GAN postfilter may add none); both weights are schedules, so a
    reconstruction-only warm-up is ``adv_weight: [[0, 0], [N, 1]]`` together with a
    discriminator group that starts at N. With ``conditional_d`` the discriminator
    judges (input, output) pairs concatenated along ``cond_dim`` (pix2pix); otherwise
    the output alone. Its loss is scaled by ``d_scale`` (pix2pix: 0.5, which slows D
    relative to G). A discriminator that normalises over the batch (BatchNorm) is called
    separately on real and fake.

    ``recon_scale`` (a tensor broadcasting over the samples' last axis) weighs the
    reconstruction per feature dimension: the distance is taken between ``G(x) * scale``
    and ``y * scale``. Features normalised per dimension but judged in their own units
    (mel-cepstral distortion weighs low quefrencies most) use the per-dimension standard
    deviations here; None weighs every dimension alike.

    ``fm_weight`` adds feature matching: the L1 distance between the discriminator's
    intermediate features of real and generated samples (the D must provide
    ``features(x) -> list of tensors``), a steadier signal than the adversarial loss alone.
    """

    def __init__(self, generator: nn.Module, discriminator: nn.Module, *, adversarial: str = "nonsaturating",
                 adv_weight=1.0, recon: str = "l1", recon_weight=100.0, conditional_d: bool = True,
                 cond_dim: int = 1, d_scale: float = 0.5, fm_weight=0.0, recon_scale: torch.Tensor | None = None):
        super().__init__()
        self.generators = nn.ModuleDict({"g": generator})
        self.discriminators = nn.ModuleDict({"d": discriminator})
        self.adv = AdversarialLoss(adversarial)
        self.adv_weight = Schedule(adv_weight, "loss.adv_weight")
        self.recon = reconstruction_loss(recon, "loss.recon")
        self.recon_weight = Schedule(recon_weight, "loss.recon_weight")
        # derived from the data's statistics, not learned: rebuilt with the model, not checkpointed
        self.register_buffer("recon_scale", None if recon_scale is None else torch.as_tensor(recon_scale).float(),
                             persistent=False)
        self.conditional_d, self.cond_dim, self.d_scale = conditional_d, cond_dim, float(d_scale)
        self.fm_weight = Schedule(fm_weight, "loss.fm_weight")
        if self.fm_weight.max() > 0 and not hasattr(discriminator, "features"):
            raise ValueError("loss.fm_weight: feature matching needs a discriminator with features()")

    def _d_input(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return torch.cat([x.to(y.dtype), y], self.cond_dim) if self.conditional_d else y

    def generate(self, batch, step):
        return {"fake": self.generators["g"](batch["x"])}

    def losses(self, group, batch, out, step):
        x, y, fake = batch["x"], batch["y"], out["fake"]
        d = self.discriminators["d"]
        if group == "g":
            losses, total = {}, 0.0
            w_adv, w_rec = self.adv_weight(step), self.recon_weight(step)
            if w_adv > 0:
                losses["adv"] = self.adv.g_loss(d(self._d_input(x, fake)))
                total = total + w_adv * losses["adv"]
            w_fm = self.fm_weight(step)
            if w_fm > 0:
                with torch.no_grad():
                    real_feats = d.features(self._d_input(x, y))
                fake_feats = d.features(self._d_input(x, fake))
                losses["fm"] = sum((f.float() - r.float()).abs().mean() for f, r in zip(fake_feats, real_feats)) / len(
                    real_feats)
                total = total + w_fm * losses["fm"]
            fake_r, y_r = fake.float(), y.float()
            if self.recon_scale is not None:
                fake_r, y_r = fake_r * self.recon_scale, y_r * self.recon_scale
            losses["recon"] = self.recon(fake_r, y_r)
            losses["total"] = total + w_rec * losses["recon"]
            return losses
        if group == "d":
            real_s, fake_s = score_real_fake(d, self._d_input(x, y), self._d_input(x, fake.to(y.dtype)))
            losses = {"adv": self.adv.d_loss(real_s, fake_s)}
            losses["total"] = self.d_scale * losses["adv"]
            return losses
        raise unknown_group(self, group)
