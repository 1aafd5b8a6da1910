"""Configuration defaults per model family, and training from a config."""
from __future__ import annotations

import copy
from pathlib import Path

from .engine.config import load_yaml, merge, parse_overrides
from .engine.precision import check_precision
from .engine.trainer import TRAIN_DEFAULTS, Trainer
from .errors import ConfigError
from .features.cache import FeatureStore
from .features.world import FeatureConfig

COMMON_DEFAULTS = {
    "task": "cyclegan_vc2",
    "out_dir": "exp/run",
    "features": FeatureConfig().to_dict(),
    "data": {
        "feats_dir": "exp/feats",
        "source": "kal",  # two-speaker models
        "target": "slt",
        "speakers": None,  # many-to-many models: list of names (None: all prepared speakers)
        "segment_frames": 128,
        "batch_size": 1,
    },
    "train": TRAIN_DEFAULTS,
}


# types of keys whose default is null
NULLABLE = {
    "data.speakers": list, "train.max_minutes": (int, float), "train.lr_decay_start": int,
    "train.num_threads": int, "train.g_start": (int, str), "model.channels": int, "model.disc_channels": int,
    "loss.adversarial": str,
}
# loss weights that take a number or [[step or "N%", value], ...]
NULLABLE.update({f"loss.{k}": "schedule" for k in ("cls_weight", "cycle_weight", "identity_weight", "two_step_weight")})
# (key, smallest allowed value)
MINIMUM = [("train.steps", 1), ("train.log_every", 1), ("train.checkpoint_every", 0), ("train.sample_every", 0),
           ("train.keep_checkpoints", 1), ("train.g_lr", 1e-12), ("train.d_lr", 1e-12), ("train.max_minutes", 1e-3),
           ("train.lr_decay_start", 0), ("data.segment_frames", 16), ("data.batch_size", 1),
           ("model.channels", 2), ("model.disc_channels", 2)]


# (task, key, why): options the task's family shares a config section with but does not have
NOT_FOR_TASK = [
    ("cyclegan_vc", "loss.two_step_weight", "the two-step loss belongs to CycleGAN-VC2; set task: cyclegan_vc2"),
    ("stargan_vc", "model.residual_blocks", "belongs to StarGAN-VC2; set task: stargan_vc2"),
    ("stargan_vc", "model.patch_scores", "belongs to StarGAN-VC2; set task: stargan_vc2"),
    ("stargan_vc2", "loss.cls_weight", "StarGAN-VC2 has no domain classifier; use task: stargan_vc"),
]


def _lookup(cfg: dict, key: str):
    """The value at a dotted key, or None where the path does not exist."""
    node = cfg
    for part in key.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return node


def validate(cfg: dict) -> dict:
    """Range checks and combinations a model family does not support."""
    for key, low in MINIMUM:
        value = _lookup(cfg, key)
        if value is not None and value < low:
            raise ConfigError(f"config key '{key}': must be >= {low}, got {value!r}")
    if cfg["data"]["speakers"] is not None and not all(isinstance(s, str) for s in cfg["data"]["speakers"]):
        raise ConfigError(f"config key 'data.speakers': expected a list of names, got {cfg['data']['speakers']!r}")
    check_precision(cfg["train"]["precision"])
    for task, key, why in NOT_FOR_TASK:
        if cfg["task"] == task and _lookup(cfg, key):
            raise ConfigError(f"config key '{key}': {why}")
    return cfg


def _family(task: str):
    if task in ("cyclegan_vc", "cyclegan_vc2"):
        from . import cyclegan_vc as fam
        from .cyclegan_vc.task import LOSS_DEFAULTS, MODEL_DEFAULTS
    elif task in ("stargan_vc", "stargan_vc2"):
        from . import stargan_vc as fam
        from .stargan_vc.task import LOSS_DEFAULTS, MODEL_DEFAULTS
    else:
        raise ConfigError(
            f"config key 'task': unknown task {task!r}; choose from cyclegan_vc, cyclegan_vc2, stargan_vc, stargan_vc2"
        )
    return fam, MODEL_DEFAULTS, LOSS_DEFAULTS


def defaults_for(task: str) -> dict:
    _, model, loss = _family(task)
    d = copy.deepcopy(COMMON_DEFAULTS)
    d.update(task=task, model=copy.deepcopy(model), loss=copy.deepcopy(loss))
    if task == "cyclegan_vc":
        d["loss"]["two_step_weight"] = 0.0
        d["features"]["spectral_dim"] = 24
    return d


def resolve_config(path=None, overrides: list[str] | None = None, base: dict | None = None) -> dict:
    """Defaults for the task <- YAML file <- ``key=value`` overrides, validated."""
    user = copy.deepcopy(base) if base else {}
    if path:
        user = _deep_update(user, load_yaml(path))
    user = _deep_update(user, parse_overrides(overrides or []))
    task = user.get("task", COMMON_DEFAULTS["task"])
    return validate(merge(defaults_for(task), user, types=NULLABLE))


def _deep_update(a: dict, b: dict) -> dict:
    out = copy.deepcopy(a)
    for k, v in b.items():
        out[k] = _deep_update(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def build(cfg: dict):
    """(task, sampler, store) for a resolved config."""
    store = FeatureStore(cfg["data"]["feats_dir"])
    want = FeatureConfig.from_dict(cfg["features"])
    if store.config != want:
        raise ConfigError(
            f"{store.root}: features were prepared with {store.config.to_dict()}, but the config asks for "
            f"{want.to_dict()}; re-run `vcgan prepare` with this config or fix the 'features' section"
        )
    fam, _, _ = _family(cfg["task"])
    task, sampler = fam.build_task(cfg, store)
    return task, sampler, store


def train(cfg: dict, resume=None) -> dict:
    import torch

    torch.manual_seed(int(cfg["train"]["seed"]))  # network initialisation follows train.seed
    task, sampler, _ = build(cfg)
    trainer = Trainer(task, sampler, cfg["train"], Path(cfg["out_dir"]), full_config=cfg)
    return trainer.fit(resume=resume)
