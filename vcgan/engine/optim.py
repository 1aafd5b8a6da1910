"""Optimizer groups and the exponential moving average of the generators."""
from __future__ import annotations

from contextlib import contextmanager

import torch
from torch import nn

from ..errors import ConfigError
from .schedule import Schedule

GROUP_DEFAULTS = {
    "optimizer": "adam",  # adam | adamw | adadelta | rmsprop | sgd
    "lr": None,  # null: train.g_lr / train.d_lr for the groups g and d
    "betas": None,  # adam/adamw; null: train.g_betas / train.d_betas for g and d, else (0.9, 0.999)
    "lr_mult": None,  # {sub-module path: LR multiplier}, e.g. {"generators.g.mapping": 0.01}
    "every": 1,  # update period, a number or a schedule [[step or "N%", period], ...]:
    # k updates at steps where (step + 1) % k == 0 (n_critic), 0 freezes the group (a phase)
    "clip_grad": None,  # max norm of the group's gradients
    "weight_decay": 0.0,
}
OPTIMIZERS = {
    "adam": torch.optim.Adam, "adamw": torch.optim.AdamW, "adadelta": torch.optim.Adadelta,
    "rmsprop": torch.optim.RMSprop, "sgd": torch.optim.SGD,
}
# types of the group keys whose default is null (any group name matches *)
GROUP_TYPES = {"train.optim.*.lr": (int, float), "train.optim.*.betas": list, "train.optim.*.lr_mult": dict,
               "train.optim.*.clip_grad": (int, float), "train.optim.*.every": "schedule"}


def _params_of(model: nn.Module, paths: list[str], where: str) -> list[nn.Parameter]:
    out, seen = [], set()
    for path in paths:
        try:
            module = model.get_submodule(path)
        except AttributeError:
            raise ConfigError(f"{where}: {type(model).__name__} has no sub-module {path!r}") from None
        for p in module.parameters():
            if id(p) not in seen:
                seen.add(id(p))
                out.append(p)
    return out


class OptimizerGroup:
    """One optimizer over some of a model's networks, with its LR (and per-module
    multipliers), update period, gradient clipping and GradScaler."""

    def __init__(self, name: str, model: nn.Module, paths: list[str], cfg: dict, *, lr: float, betas,
                 device: torch.device, fp16: bool, start=None):
        where = f"train.optim.{name}"
        self.name, self.cfg, self.base_lr = name, cfg, float(lr)
        kind = cfg["optimizer"]
        if kind not in OPTIMIZERS:
            raise ConfigError(f"config key '{where}.optimizer': unknown optimizer {kind!r}; choose from "
                              f"{', '.join(OPTIMIZERS)}")
        self.params = _params_of(model, paths, where)
        if not self.params:
            raise ConfigError(f"{where}: the networks {paths} of {type(model).__name__} have no weights")
        groups, rest = [], {id(p) for p in self.params}
        for path, mult in (cfg["lr_mult"] or {}).items():
            sub = _params_of(model, [path], f"config key '{where}.lr_mult'")
            if any(id(p) not in rest for p in sub):
                raise ConfigError(f"config key '{where}.lr_mult': {path!r} is not (only) in group {name!r}, "
                                  "or overlaps another multiplier")
            rest -= {id(p) for p in sub}
            groups.append({"params": sub, "lr_mult": float(mult)})
        # the group without a multiplier first, in model order: checkpoints of a single group stay loadable
        groups.insert(0, {"params": [p for p in self.params if id(p) in rest], "lr_mult": 1.0})
        groups = [g for g in groups if g["params"]]
        kwargs = {"lr": self.base_lr, "weight_decay": float(cfg["weight_decay"])}
        if kind in ("adam", "adamw"):
            kwargs["betas"] = tuple(betas) if betas is not None else (0.9, 0.999)
            if device.type in ("cpu", "cuda"):
                kwargs["fused"] = True  # one kernel per step instead of a dozen per parameter tensor
        self.optimizer = OPTIMIZERS[kind](groups, **kwargs)
        every = cfg["every"]
        if start:
            if not isinstance(every, (int, float)):
                raise ConfigError(f"train.g_start and a scheduled {where}.every: give the start in the schedule")
            every = [[0, 0], [start, every]]
        self.every = Schedule(every, f"config key '{where}.every'")
        self.scaler = torch.amp.GradScaler(device.type, enabled=fp16)
        gen_ids = {id(p) for p in model.generators.parameters()}
        self.generates = any(id(p) in gen_ids for p in self.params)  # needs gradients through generate()

    def due(self, step) -> bool:
        k = int(self.every(step))
        return k > 0 and (int(step) + 1) % k == 0

    def set_lr(self, factor: float) -> None:
        for g in self.optimizer.param_groups:
            g["lr"] = self.base_lr * g.get("lr_mult", 1.0) * factor

    @property
    def lr(self) -> float:
        return self.optimizer.param_groups[0]["lr"] / self.optimizer.param_groups[0].get("lr_mult", 1.0)

    def update(self, total: torch.Tensor, average_gradients) -> None:
        opt, scaler = self.optimizer, self.scaler
        opt.zero_grad(set_to_none=True)
        scaler.scale(total).backward()
        average_gradients(self.params)
        if self.cfg["clip_grad"]:
            scaler.unscale_(opt)
            torch.nn.utils.clip_grad_norm_(self.params, float(self.cfg["clip_grad"]))
        scaler.step(opt)
        scaler.update()

    def state_dict(self) -> dict:
        return {"optimizer": self.optimizer.state_dict(), "scaler": self.scaler.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.optimizer.load_state_dict(state["optimizer"])
        self.set_lr(1.0)  # param groups come back with the saved lr; the Trainer sets it by progress
        self.scaler.load_state_dict(state["scaler"])


class EMA:
    """Exponential moving average of a module's weights: ``avg = decay * avg + (1 - decay) * w``
    after each update from step ``start`` on (before it, ``avg = w``). Buffers (running
    statistics such as batch-norm's or StyleGAN's average w) are copied, not averaged: they
    are averages already (the official StyleGAN's moving-average generator does the same)."""

    def __init__(self, module: nn.Module, decay: float, start=0):
        if not 0.0 < decay < 1.0:
            raise ConfigError(f"config key 'train.ema_decay': must be in (0, 1), got {decay}")
        self.module, self.decay = module, float(decay)
        self.start = Schedule([[0, 0.0], [start, 1.0]] if start else 1.0, "config key 'train.ema_start'")
        self.shadow = {k: v.detach().clone() for k, v in module.state_dict().items()}
        self.averaged = {k for k, _ in module.named_parameters(remove_duplicate=False)}

    @torch.no_grad()
    def update(self, step) -> None:
        decay = self.decay if self.start(step) > 0 else 0.0
        for k, v in self.module.state_dict().items():
            if v.is_floating_point() and k in self.averaged:
                self.shadow[k].lerp_(v.detach().to(self.shadow[k].dtype), 1.0 - decay)
            else:
                self.shadow[k].copy_(v)

    def state_dict(self) -> dict:
        return {k: v.clone() for k, v in self.shadow.items()}

    def load_state_dict(self, state: dict) -> None:
        missing = set(self.shadow) ^ set(state)
        if missing:
            raise ValueError(f"EMA state does not match the networks (keys {sorted(missing)[:3]} ...)")
        for k, v in state.items():
            self.shadow[k].copy_(v)

    @contextmanager
    def swapped(self):
        """The module runs with the averaged weights inside the block."""
        saved = {k: v.detach().clone() for k, v in self.module.state_dict().items()}
        self.module.load_state_dict(self.shadow)
        try:
            yield self.module
        finally:
            self.module.load_state_dict(saved)
