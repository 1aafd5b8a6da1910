"""What the voice-conversion families share: the features and data config sections,
their checks, and building from a prepared feature directory."""
from __future__ import annotations

import copy

from ...errors import ConfigError
from ...features.cache import FeatureStore
from ...features.world import FeatureConfig

VC_DEFAULTS = {
    "features": FeatureConfig().to_dict(),
    "data": {
        "feats_dir": "exp/feats",
        "source": "kal",  # two-speaker models
        "target": "slt",
        "speakers": None,  # many-to-many models: list of names (None: all prepared speakers)
        "segment_frames": 128,
        "batch_size": 1,
    },
}
VC_TYPES = {"data.speakers": list, "model.channels": int, "model.disc_channels": int, "loss.adversarial": str}
VC_MINIMUMS = [("data.segment_frames", 16), ("data.batch_size", 1), ("model.channels", 2), ("model.disc_channels", 2)]


def vc_defaults(model: dict, loss: dict) -> dict:
    return {**copy.deepcopy(VC_DEFAULTS), "model": copy.deepcopy(model), "loss": copy.deepcopy(loss)}


def lookup(cfg: dict, key: str):
    """The value at a dotted key, or None where the path does not exist."""
    node = cfg
    for part in key.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return node


def check_vc(cfg: dict, not_for_task=()) -> None:
    """``not_for_task``: (task, key, why) for options a task shares a section with but does not have."""
    speakers = cfg["data"]["speakers"]
    if speakers is not None and not all(isinstance(s, str) for s in speakers):
        raise ConfigError(f"config key 'data.speakers': expected a list of names, got {speakers!r}")
    for task, key, why in not_for_task:
        if cfg["task"] == task and lookup(cfg, key):
            raise ConfigError(f"config key '{key}': {why}")


def open_store(cfg: dict) -> FeatureStore:
    """The prepared features of ``data.feats_dir``, checked against the config's features."""
    store = FeatureStore(cfg["data"]["feats_dir"])
    want = FeatureConfig.from_dict(cfg["features"])
    if store.config != want:
        raise ConfigError(
            f"{store.root}: features were prepared with {store.config.to_dict()}, but the config asks for "
            f"{want.to_dict()}; re-run `vcgan prepare` with this config or fix the 'features' section"
        )
    return store
