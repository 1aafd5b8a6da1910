"""Adversarial losses, written once for every model family.

Each kind maps discriminator outputs (raw, linear scores: no sigmoid anywhere)
to a discriminator loss ``d_loss(real, fake)`` and a generator loss ``g_loss(fake)``.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ..errors import ConfigError

ADVERSARIAL_KINDS = ("lsgan", "nonsaturating", "hinge", "wgan-gp")


RECONSTRUCTION = {
    "l1": F.l1_loss,  # the papers' cycle, identity and pix2pix terms
    # Huber with a 1-unit knee: quadratic near zero, so a generator that starts as the identity
    # is not held there by the L1 subgradient; L1 beyond one (normalised) unit
    "smooth_l1": F.smooth_l1_loss,
    "l2": F.mse_loss,
}


def reconstruction_loss(name: str, key: str = "loss.reconstruction"):
    """The distance function called ``name`` (a :data:`RECONSTRUCTION` key); errors name the config key."""
    if name not in RECONSTRUCTION:
        raise ConfigError(f"{key}: unknown reconstruction loss {name!r}; choose from {sorted(RECONSTRUCTION)}")
    return RECONSTRUCTION[name]


class ViewScores(dict):
    """Scores of a multi-view discriminator: view name -> (weight, score tensor). The
    adversarial losses of such scores are the weighted sums of the per-view losses."""

    def split(self, n: int):
        first, second = ViewScores(), ViewScores()
        for k, (w, s) in self.items():
            first[k], second[k] = (w, s[:n]), (w, s[n:])
        return first, second


class AdversarialLoss:
    """``lsgan``: least squares (targets 1/0); ``nonsaturating``: logistic with -log D(G(z))
    for G; ``hinge``; ``wgan-gp``: Wasserstein critic (add :func:`gradient_penalty`)."""

    def __init__(self, kind: str = "lsgan"):
        if kind not in ADVERSARIAL_KINDS:
            raise ConfigError(f"loss.adversarial: unknown adversarial loss {kind!r}; choose from {ADVERSARIAL_KINDS}")
        self.kind = kind

    def d_loss(self, real, fake) -> torch.Tensor:
        if isinstance(real, ViewScores):
            return sum(w * self.d_loss(s, fake[k][1]) for k, (w, s) in real.items())
        real, fake = real.float(), fake.float()
        if self.kind == "lsgan":
            return (real - 1).pow(2).mean() + fake.pow(2).mean()
        if self.kind == "nonsaturating":
            return F.softplus(-real).mean() + F.softplus(fake).mean()
        if self.kind == "hinge":
            return F.relu(1 - real).mean() + F.relu(1 + fake).mean()
        return fake.mean() - real.mean()

    def g_loss(self, fake) -> torch.Tensor:
        if isinstance(fake, ViewScores):
            return sum(w * self.g_loss(s) for w, s in fake.values())
        fake = fake.float()
        if self.kind == "lsgan":
            return (fake - 1).pow(2).mean()
        if self.kind == "nonsaturating":
            return F.softplus(-fake).mean()
        return -fake.mean()

    def __repr__(self):
        return f"AdversarialLoss({self.kind!r})"


def gradient_penalty(critic, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """WGAN-GP penalty E[(||grad_x critic(x_hat)|| - 1)^2] on random interpolates."""
    shape = (real.shape[0],) + (1,) * (real.dim() - 1)
    eps = torch.rand(shape, device=real.device, dtype=real.dtype)
    x_hat = (eps * real.detach() + (1 - eps) * fake.detach()).requires_grad_(True)
    out = critic(x_hat)
    # per-sample score = mean over a score map's positions, as in the adversarial losses
    (grad,) = torch.autograd.grad(out.float().reshape(out.shape[0], -1).mean(1).sum(), x_hat, create_graph=True)
    return (grad.flatten(1).norm(dim=1) - 1).pow(2).mean()


def r1_penalty(real_scores: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """R1 penalty E[||grad_x D(x)||^2] on real data (``real`` must require grad); a score map
    counts as its mean, as in the adversarial losses."""
    per_sample = real_scores.float().reshape(real_scores.shape[0], -1).mean(1)
    (grad,) = torch.autograd.grad(per_sample.sum(), real, create_graph=True)
    return grad.flatten(1).pow(2).sum(1).mean()
