"""Nested YAML configuration validated against defaults; unknown keys are errors."""
from __future__ import annotations

import copy
from pathlib import Path

import yaml

from ..errors import ConfigError


def _type_of(key: str, types: dict):
    """``types[key]``, or the entry of a pattern with ``*`` for one part (``train.optim.*.lr``)."""
    if key in types:
        return types[key]
    parts = key.split(".")
    for i in range(len(parts)):
        pattern = ".".join(parts[:i] + ["*"] + parts[i + 1:])
        if pattern in types:
            return types[pattern]
    return None


def _check_type(key: str, default, value, types: dict):
    if value is None:
        return value
    if _type_of(key, types) == "schedule":  # a number, or [[step or "N%", value], ...]
        from .schedule import Schedule

        Schedule(value, f"config key '{key}'")
        return float(value) if isinstance(value, int) and not isinstance(value, bool) else value
    if default is None:
        want = _type_of(key, types)
        if want is not None and not (isinstance(value, want) and not isinstance(value, bool)):
            names = "/".join(t.__name__ for t in (want if isinstance(want, tuple) else (want,)))
            raise ConfigError(f"config key '{key}': expected {names} (or null), got {value!r}")
        return value
    if isinstance(default, list):
        if not isinstance(value, list):
            raise ConfigError(f"config key '{key}': expected a list, got {value!r}")
        return value
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ConfigError(f"config key '{key}': expected true/false, got {value!r}")
    elif isinstance(default, (int, float)):
        if isinstance(value, str):  # YAML reads 5e-4 (no dot) as a string
            try:
                value = float(value) if any(ch in value for ch in ".eE") else int(value)
            except ValueError:
                pass
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"config key '{key}': expected a number, got {value!r}")
        if isinstance(default, float):
            value = float(value)
        elif isinstance(value, float):
            if not value.is_integer():
                raise ConfigError(f"config key '{key}': expected a whole number, got {value!r}")
            value = int(value)
    elif isinstance(default, str) and not isinstance(value, str):
        raise ConfigError(f"config key '{key}': expected a string, got {value!r}")
    return value


def merge(defaults: dict, update: dict, prefix: str = "", types: dict | None = None) -> dict:
    """Return ``defaults`` updated by ``update``; raise on keys ``defaults`` lacks.

    ``types`` maps dotted keys whose default is ``None`` to the type(s) they accept, and
    schedule keys (a number or ``[[start, value], ...]``) to ``"schedule"``."""
    types = types or {}
    out = copy.deepcopy(defaults)
    for k, v in (update or {}).items():
        key = f"{prefix}{k}"
        if k not in defaults:
            raise ConfigError(f"unknown config key '{key}'; known keys here: {sorted(defaults)}")
        if isinstance(defaults[k], dict):
            if not isinstance(v, dict):
                raise ConfigError(f"config key '{key}': expected a mapping, got {v!r}")
            out[k] = merge(defaults[k], v, key + ".", types)
        else:
            out[k] = _check_type(key, defaults[k], v, types)
    return out


def parse_overrides(items: list[str]) -> dict:
    """``["train.steps=100", "model.width=64"]`` -> nested dict (values parsed as YAML)."""
    out: dict = {}
    for item in items or []:
        if "=" not in item:
            raise ConfigError(f"override {item!r}: expected key=value")
        key, raw = item.split("=", 1)
        node = out
        parts = key.strip().split(".")
        for p in parts[:-1]:
            node = node.setdefault(p, {})
        node[parts[-1]] = yaml.safe_load(raw)
    return out


def load_yaml(path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: invalid YAML ({exc})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: top level must be a mapping")
    return data


def dump_yaml(cfg: dict) -> str:
    return yaml.safe_dump(cfg, sort_keys=False, default_flow_style=None)
