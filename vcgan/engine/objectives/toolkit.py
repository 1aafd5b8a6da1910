"""Pieces objectives share: real/fake scoring, the history pool, multi-view
discriminators and the composition of objectives."""
from __future__ import annotations

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from ..losses import ViewScores
from ..model import GANModel


def batch_dependent(module: nn.Module) -> bool:
    """Whether a network normalises over the batch in training (BatchNorm): then one
    call on real and fake together would mix their statistics."""
    return any(isinstance(m, _BatchNorm) for m in module.modules())


def detach(out):
    """``out`` (a tensor, or dicts/lists/tuples of them) without gradients."""
    if torch.is_tensor(out):
        return out.detach()
    if isinstance(out, dict):
        return {k: detach(v) for k, v in out.items()}
    if isinstance(out, (list, tuple)):
        return type(out)(detach(v) for v in out)
    return out


def score_real_fake(disc, real: torch.Tensor, fake: torch.Tensor, *cond):
    """(real scores, fake scores). One call on both where samples stay independent
    (instance-normalised or unnormalised D), two calls where D normalises over the batch.
    ``cond`` (per-sample tensors such as domain codes) is passed to both."""
    fake = fake.to(real.dtype)
    if batch_dependent(disc):
        return disc(real, *cond), disc(fake, *cond)
    n = real.shape[0]
    out = disc(torch.cat([real, fake], 0), *(torch.cat([c, c], 0) for c in cond))
    if isinstance(out, ViewScores):
        return out.split(n)
    if isinstance(out, tuple):  # several heads (scores, class logits)
        return tuple(o[:n] for o in out), tuple(o[n:] for o in out)
    return out[:n], out[n:]


class MultiViewDiscriminator(nn.Module):
    """Several discriminators, each judging one view of a sample (the waveform and its
    mel-spectrogram; the whole image and a crop). ``views``: name -> (transform or None,
    discriminator, weight). Returns :class:`ViewScores`, which :class:`AdversarialLoss`
    turns into the weighted sum of the per-view losses."""

    def __init__(self, views: dict):
        super().__init__()
        if not views:
            raise ValueError("MultiViewDiscriminator needs at least one view")
        self.discs = nn.ModuleDict({k: d for k, (_, d, _) in views.items()})
        # transforms that are modules (a log-mel with its filterbank) move with the discriminator
        self.view_transforms = nn.ModuleDict({k: t for k, (t, _, _) in views.items() if isinstance(t, nn.Module)})
        self.transforms = {k: t for k, (t, _, _) in views.items() if not isinstance(t, nn.Module)}
        self.weights = {k: float(w) for k, (_, _, w) in views.items()}

    def view(self, name: str, x):
        t = self.view_transforms[name] if name in self.view_transforms else self.transforms[name]
        return t(x) if t is not None else x

    def forward(self, x, *cond):
        return ViewScores({k: (self.weights[k], d(self.view(k, x), *cond)) for k, d in self.discs.items()})


class HistoryPool(nn.Module):
    """Shrivastava et al.'s image history buffer, as CycleGAN uses it: the discriminator
    sees generated samples from earlier steps too. Each sample of a query goes into the
    pool while it is not full; once full, with probability 1/2 it is swapped with a
    random stored one, which is returned in its place. Its content is part of the model's
    state dict, so a resumed run sees the same history."""

    def __init__(self, size: int = 50):
        super().__init__()
        self.size = int(size)
        self.items: list[torch.Tensor] = []

    def query(self, batch: torch.Tensor) -> torch.Tensor:
        if self.size <= 0:
            return batch
        batch = batch.detach()
        out = []
        for x in batch:
            if len(self.items) < self.size:
                self.items.append(x.clone())
                out.append(x)
            elif torch.rand(()).item() < 0.5:
                i = int(torch.randint(0, self.size, ()).item())
                out.append(self.items[i].clone())
                self.items[i] = x.clone()
            else:
                out.append(x)
        return torch.stack(out)

    def get_extra_state(self):
        return {"items": torch.stack(self.items).cpu() if self.items else torch.empty(0)}

    def set_extra_state(self, state):
        items = state["items"]
        self.items = [] if items.numel() == 0 else [x.clone() for x in items]

    def _apply(self, fn, *args, **kwargs):  # .to(device) moves the stored samples too
        self.items = [fn(x) for x in self.items]
        return super()._apply(fn, *args, **kwargs)


class Composite(GANModel):
    """Several models trained in one run and one checkpoint (e.g. one postfilter per
    frequency band). Part ``name`` gets ``batch[name]``; each group's losses are the
    parts' losses, logged as ``name/loss``, whose totals sum."""

    def __init__(self, parts: dict[str, GANModel]):
        super().__init__()
        self.parts = nn.ModuleDict(parts)

    @property
    def generators(self):
        return nn.ModuleDict({k: p.generators for k, p in self.parts.items()})

    @property
    def discriminators(self):
        return nn.ModuleDict({k: p.discriminators for k, p in self.parts.items()})

    def param_groups(self):
        groups: dict[str, list[str]] = {}
        for name, part in self.parts.items():
            for g, paths in part.param_groups().items():
                groups.setdefault(g, []).extend(f"parts.{name}.{p}" for p in paths)
        return groups

    def generate(self, batch, step):
        return {k: p.generate(batch[k], step) for k, p in self.parts.items()}

    def losses(self, group, batch, out, step):
        losses, total = {}, 0.0
        for k, p in self.parts.items():
            if group not in p.param_groups():
                continue
            part = p.losses(group, batch[k], out[k], step)
            total = total + part["total"]
            losses.update({f"{k}/{n}": v for n, v in part.items()})
        losses["total"] = total
        return losses

    def metadata(self):
        return {k: p.metadata() for k, p in self.parts.items()}
