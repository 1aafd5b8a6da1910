"""Config resolution and training for every registered model family."""
from __future__ import annotations

import copy
from pathlib import Path

from .engine.config import load_yaml, merge, parse_overrides
from .engine.distributed import shutdown
from .engine.precision import check_precision
from .engine.registry import default_task, family_for_task
from .engine.trainer import TRAIN_DEFAULTS, TRAIN_TYPES, Trainer
from .errors import ConfigError
from .families import register_all

register_all()

# (key, smallest allowed value) of the engine's keys
MINIMUM = [("train.steps", 1), ("train.log_every", 1), ("train.checkpoint_every", 0), ("train.sample_every", 0),
           ("train.keep_checkpoints", 1), ("train.g_lr", 1e-12), ("train.d_lr", 1e-12), ("train.max_minutes", 1e-3),
           ("train.lr_decay_start", 0)]


def _lookup(cfg: dict, key: str):
    node = cfg
    for part in key.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return node


def validate(cfg: dict) -> dict:
    """Range checks, then the family's own checks."""
    family = family_for_task(cfg["task"])
    for key, low in MINIMUM + list(family.minimums):
        value = _lookup(cfg, key)
        if value is not None and value < low:
            raise ConfigError(f"config key '{key}': must be >= {low}, got {value!r}")
    check_precision(cfg["train"]["precision"])
    if family.check:
        family.check(cfg)
    return cfg


def defaults_for(task: str) -> dict:
    """The full default config of a task: its family's sections and the engine's ``train``."""
    sections = copy.deepcopy(family_for_task(task).defaults(task))
    train = _deep_update(TRAIN_DEFAULTS, sections.pop("train", {}))  # a family may change the engine's defaults
    return {"task": task, "out_dir": "exp/run", **sections, "train": train}


def resolve_config(path=None, overrides: list[str] | None = None, base: dict | None = None) -> dict:
    """Defaults for the task <- YAML file <- ``key=value`` overrides, validated."""
    user = copy.deepcopy(base) if base else {}
    if path:
        user = _deep_update(user, load_yaml(path))
    user = _deep_update(user, parse_overrides(overrides or []))
    task = user.get("task", default_task())
    if not isinstance(task, str):
        raise ConfigError(f"config key 'task': expected a task name, got {task!r}")
    family = family_for_task(task)
    return validate(merge(defaults_for(task), user, types={**TRAIN_TYPES, **family.types}))


def _deep_update(a: dict, b: dict) -> dict:
    out = copy.deepcopy(a)
    for k, v in b.items():
        out[k] = _deep_update(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def build(cfg: dict):
    """(model, data) for a resolved config, built by the task's family."""
    return family_for_task(cfg["task"]).build(cfg)


def train(cfg: dict, resume=None) -> dict:
    import torch

    torch.manual_seed(int(cfg["train"]["seed"]))  # network initialisation follows train.seed
    model, data = build(cfg)
    trainer = Trainer(model, data, cfg["train"], Path(cfg["out_dir"]), full_config=cfg)
    summary = trainer.fit(resume=resume)
    family = family_for_task(cfg["task"])
    if family.finalize is not None and trainer.is_main:
        finalize(family, trainer, cfg)
    shutdown()
    return summary


def finalize(family, trainer, cfg: dict) -> None:
    """What the family measures once training has ended (e.g. an output calibration on the
    training data), stored in ``latest.pt`` and in the checkpoint of the last step."""
    from tqdm import tqdm

    from .engine.checkpoint import add_to_checkpoint

    latest = trainer.checkpoint_dir / "latest.pt"
    tqdm.write(f"finishing the checkpoint for inference ({family.name})")
    entries = family.finalize(latest, cfg)
    for path in (trainer.checkpoint_dir / f"step_{trainer.step:08d}.pt", latest):
        if path.is_file():
            add_to_checkpoint(path, entries)
