"""Conditioning blocks: conditional instance norm and the projection discriminator head."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class ConditionalInstanceNorm(nn.Module):
    """Instance norm whose scale and bias are functions of a code vector.

    StarGAN-VC2's modulation-based CIN feeds the concatenated one-hot source and
    target codes, so the modulation depends on the conversion *pair*, not only on
    the target.

    The code weights start random (PyTorch's default for a linear layer, on top
    of scale 1 and bias 0: with N domains each of the two codes moves the scale
    by up to 1/sqrt(2N)), so every pair has its own features from the first
    step. With zero code weights all pairs would share one mapping, and a
    generator whose last layer starts at zero (``residual``) would sit at the
    symmetric point where the updates wanted by opposite directions (a->b,
    b->a) cancel.
    """

    def __init__(self, channels: int, code_dim: int):
        super().__init__()
        self.gamma = nn.Linear(code_dim, channels)
        self.beta = nn.Linear(code_dim, channels)
        nn.init.ones_(self.gamma.bias)
        nn.init.zeros_(self.beta.bias)

    def forward(self, x: torch.Tensor, code: torch.Tensor) -> torch.Tensor:
        h = F.instance_norm(x)
        shape = (x.shape[0], x.shape[1]) + (1,) * (x.dim() - 2)
        return h * self.gamma(code).view(shape) + self.beta(code).view(shape)


def pair_code(src: torch.Tensor, trg: torch.Tensor, num_domains: int, dtype=torch.float32) -> torch.Tensor:
    """Concatenated one-hot source and target codes, shape (batch, 2 * num_domains)."""
    return torch.cat([F.one_hot(src, num_domains), F.one_hot(trg, num_domains)], 1).to(dtype)


class ProjectionHead(nn.Module):
    """out = psi(phi) + <embed(condition), phi>.

    ``patch=False``: phi is the feature map averaged over positions (one score per
    sample). Averaging rather than summing keeps the score independent of the
    input length, so least-squares targets (0/1) are reachable from the first step.
    ``patch=True``: the same projection at every position (a score map, as in a
    PatchGAN): the adversarial loss then judges each region of the input."""

    def __init__(self, channels: int, num_conditions: int, patch: bool = False):
        super().__init__()
        self.patch = patch
        self.linear = nn.Linear(channels, 1)
        self.embed = nn.Embedding(num_conditions, channels)
        nn.init.normal_(self.embed.weight, std=0.02)

    def forward(self, features: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        phi = features.flatten(2).transpose(1, 2)  # (batch, positions, channels)
        if not self.patch:
            phi = phi.mean(1, keepdim=True)
        out = self.linear(phi) + (self.embed(condition)[:, None] * phi).sum(-1, keepdim=True)
        return out.transpose(1, 2)  # (batch, 1, positions)
