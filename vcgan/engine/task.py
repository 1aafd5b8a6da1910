"""The contract between the Trainer and a model family."""
from __future__ import annotations

from abc import ABC, abstractmethod

import torch
from torch import nn


class Task(nn.Module, ABC):
    """A task owns its networks and turns a batch into named losses.

    The Trainer calls, each step: ``generator_losses`` (then updates the
    generators) and ``discriminator_losses`` (then updates the discriminators).
    A task may reuse, detached, what its generator pass produced in the
    discriminator pass of the same step, so no generator forward is repeated.
    Each returns a dict whose ``"total"`` entry is optimised; the other entries
    are logged. Model code never touches optimizers, devices, precision,
    checkpoints or logging.
    """

    generators: nn.ModuleDict
    discriminators: nn.ModuleDict

    @abstractmethod
    def generator_losses(self, batch: dict, step: int) -> dict[str, torch.Tensor]:
        """Losses of the generator pass; ``"total"`` is optimised."""

    @abstractmethod
    def discriminator_losses(self, batch: dict, step: int) -> dict[str, torch.Tensor]:
        """Losses of the discriminator pass; ``"total"`` is optimised."""

    def metadata(self) -> dict:
        """Plain data (names, statistics) stored in checkpoints for inference."""
        return {}

    def upgrade_metadata(self, meta: dict) -> dict:
        """A checkpoint's metadata as this version writes it (e.g. model keys added since, at their defaults)."""
        return meta

    def samples(self, step: int) -> list:
        """Optional media for the logger: ``[("audio", tag, array, rate) | ("figure", tag, fig)]``."""
        return []
