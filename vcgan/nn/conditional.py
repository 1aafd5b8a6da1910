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
    """

    def __init__(self, channels: int, code_dim: int):
        super().__init__()
        self.gamma = nn.Linear(code_dim, channels)
        self.beta = nn.Linear(code_dim, channels)
        nn.init.zeros_(self.gamma.weight)
        nn.init.ones_(self.gamma.bias)
        nn.init.zeros_(self.beta.weight)
        nn.init.zeros_(self.beta.bias)

    def forward(self, x: torch.Tensor, code: torch.Tensor) -> torch.Tensor:
        h = F.instance_norm(x)
        shape = (x.shape[0], x.shape[1]) + (1,) * (x.dim() - 2)
        return h * self.gamma(code).view(shape) + self.beta(code).view(shape)


def pair_code(src: torch.Tensor, trg: torch.Tensor, num_domains: int, dtype=torch.float32) -> torch.Tensor:
    """Concatenated one-hot source and target codes, shape (batch, 2 * num_domains)."""
    return torch.cat([F.one_hot(src, num_domains), F.one_hot(trg, num_domains)], 1).to(dtype)


class ProjectionHead(nn.Module):
    """out = psi(phi) + <embed(condition), phi> on globally pooled features phi.

    Features are averaged rather than summed over positions: the score then does
    not grow with the input length, which keeps least-squares targets (0/1)
    reachable from the first step."""

    def __init__(self, channels: int, num_conditions: int):
        super().__init__()
        self.linear = nn.Linear(channels, 1)
        self.embed = nn.Embedding(num_conditions, channels)
        nn.init.normal_(self.embed.weight, std=0.02)

    def forward(self, features: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        phi = features.flatten(2).mean(-1)
        return self.linear(phi) + (self.embed(condition) * phi).sum(1, keepdim=True)
