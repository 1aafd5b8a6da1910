"""Unconditional objective (StyleGAN): samples from noise, judged against real data."""
from __future__ import annotations

import torch
from torch import nn

from ..losses import AdversarialLoss, r1_penalty
from ..model import GANModel, unknown_group


class UnconditionalObjective(GANModel):
    """``G(z)``, ``z ~ N(0, I)`` of size ``latent_dim``, against real samples ``batch["y"]``.

    The discriminator is regularised by R1, ``r1_gamma / 2 * E||grad D(y)||^2``;
    ``r1_every > 1`` makes it lazy (StyleGAN2): computed every ``r1_every``-th step only,
    and scaled by ``r1_every`` so that its strength per step stays the same.
    """

    def __init__(self, generator: nn.Module, discriminator: nn.Module, latent_dim: int, *,
                 adversarial: str = "nonsaturating", r1_gamma: float = 10.0, r1_every: int = 1):
        super().__init__()
        if r1_every < 1:
            raise ValueError(f"loss.r1_every: must be >= 1, got {r1_every}")
        self.generators = nn.ModuleDict({"g": generator})
        self.discriminators = nn.ModuleDict({"d": discriminator})
        self.latent_dim = int(latent_dim)
        self.adv = AdversarialLoss(adversarial)
        self.r1_gamma, self.r1_every = float(r1_gamma), int(r1_every)

    def generate(self, batch, step):
        y = batch["y"]
        z = torch.randn(y.shape[0], self.latent_dim, device=y.device)
        return {"z": z, "fake": self.generators["g"](z)}

    def losses(self, group, batch, out, step):
        d = self.discriminators["d"]
        if group == "g":
            losses = {"adv": self.adv.g_loss(d(out["fake"]))}
            losses["total"] = losses["adv"]
            return losses
        if group == "d":
            y = batch["y"]
            lazy = self.r1_gamma > 0 and int(step) % self.r1_every == 0
            if lazy:
                y = y.detach().requires_grad_(True)
            real_s = d(y)
            losses = {"adv": self.adv.d_loss(real_s, d(out["fake"].to(y.dtype)))}
            total = losses["adv"]
            if lazy:
                losses["r1"] = r1_penalty(real_s, y)
                total = total + 0.5 * self.r1_gamma * self.r1_every * losses["r1"]
            losses["total"] = total
            return losses
        raise unknown_group(self, group)
