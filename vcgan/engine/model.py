"""The contract between the Trainer and a model."""
from __future__ import annotations

from abc import ABC, abstractmethod

import torch
from torch import nn


class GANModel(nn.Module, ABC):
    """A model owns its networks and turns a batch into named losses per optimizer group.

    Each step the Trainer works out which optimizer groups are due, calls
    :meth:`generate` once (with gradients only when a group that holds generator
    weights is due), then, for each due group in the configured order, freezes
    every other group, calls :meth:`losses` (the outputs detached for groups
    without generator weights) and updates that group. Nothing passes between
    these calls except what they return: a model keeps no per-step state.

    ``generators`` are the networks :meth:`generate` runs; ``discriminators``
    everything else that learns. Model code never touches optimizers, devices,
    precision, checkpoints or logging.
    """

    generators: nn.ModuleDict
    discriminators: nn.ModuleDict
    # metadata entries that must agree for a checkpoint to resume into this model (None: all)
    resume_keys: tuple[str, ...] | None = None

    def param_groups(self) -> dict[str, list[str]]:
        """Optimizer group -> sub-module paths whose weights it updates."""
        return {"g": ["generators"], "d": ["discriminators"]}

    @abstractmethod
    def generate(self, batch: dict, step: int) -> dict[str, torch.Tensor]:
        """This step's generator outputs, computed once and shared by every group's losses."""

    @abstractmethod
    def losses(self, group: str, batch: dict, out: dict, step: int) -> dict[str, torch.Tensor]:
        """Losses of one optimizer group; ``"total"`` is optimised, the other entries are logged."""

    def metadata(self) -> dict:
        """Plain data (names, statistics) stored in checkpoints for inference."""
        return {}

    def upgrade_metadata(self, meta: dict) -> dict:
        """A checkpoint's metadata as this version writes it (e.g. model keys added since, at their defaults)."""
        return meta

    def resume_conflicts(self, meta: dict) -> dict:
        """Metadata entries of a checkpoint that differ from this model's: {key: (theirs, mine)}."""
        mine, theirs = self.metadata(), self.upgrade_metadata(dict(meta or {}))
        keys = self.resume_keys if self.resume_keys is not None else sorted(set(mine) | set(theirs))
        return {k: (theirs.get(k), mine.get(k)) for k in keys if mine.get(k) != theirs.get(k)}

    def samples(self, step: int) -> list:
        """Optional media for the logger: ``[("audio", tag, array, rate) | ("figure", tag, fig) |
        ("image", tag, array CHW or HWC in 0..1)]``."""
        return []


def unknown_group(model: nn.Module, group: str) -> ValueError:
    return ValueError(f"{type(model).__name__} has no optimizer group {group!r}; it has "
                      f"{', '.join(model.param_groups())}")


class GeneratorDiscriminatorModel(GANModel):
    """A model with the two default groups: ``losses`` dispatches to
    ``generator_losses`` (group g) and ``discriminator_losses`` (group d)."""

    def losses(self, group, batch, out, step):
        if group == "g":
            return self.generator_losses(batch, out, step)
        if group == "d":
            return self.discriminator_losses(batch, out, step)
        raise unknown_group(self, group)

    @abstractmethod
    def generator_losses(self, batch: dict, out: dict, step: int) -> dict[str, torch.Tensor]:
        """Losses of group g."""

    @abstractmethod
    def discriminator_losses(self, batch: dict, out: dict, step: int) -> dict[str, torch.Tensor]:
        """Losses of group d."""
