"""Atomic checkpoint files, loaded with ``weights_only=True``."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import torch

from ..errors import CheckpointError


def save_checkpoint(state: dict, path) -> Path:
    """Write ``state`` to ``path`` via a temporary file and rename (never half-written)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        torch.save(state, tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def add_to_checkpoint(path, entries: dict) -> Path:
    """Store ``entries`` as top-level keys of an existing checkpoint file (atomically)."""
    state = torch.load(path, map_location="cpu", weights_only=True)
    state.update(entries)
    return save_checkpoint(state, path)


def upgrade_checkpoint(state: dict) -> dict:
    """A checkpoint as the current format holds it. Format 1 (one Adam per side) kept
    the networks under ``task`` and optimizers/scalers as ``opt_g``/``opt_d``/``scaler_g``/
    ``scaler_d``; its LR schedulers are not needed (the LR follows the run's progress)."""
    if state.get("format") == "vcgan-checkpoint-1" or ("task" in state and "model" not in state):
        state = dict(state)
        state["model"] = state.pop("task")
        state["optim"] = {g: {"optimizer": state.pop(f"opt_{g}"), "scaler": state.pop(f"scaler_{g}")}
                          for g in ("g", "d") if f"opt_{g}" in state}
        for k in ("sched_g", "sched_d"):
            state.pop(k, None)
        state.setdefault("ema", None)
        state["format"] = "vcgan-checkpoint-2"
    return state


def inference_state(state: dict) -> dict:
    """The model weights inference should use: the generators' moving average where the run kept one."""
    weights = dict(state["model"])
    for k, v in (state.get("ema") or {}).items():
        weights[f"generators.{k}"] = v
    return weights


def load_checkpoint(path, map_location="cpu") -> dict:
    """A checkpoint file, upgraded to the current format."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: checkpoint not found")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:
        raise CheckpointError(f"{path}: not a readable vcgan checkpoint ({exc})") from None
    if not isinstance(state, dict) or not ({"model", "task"} & set(state)):
        raise CheckpointError(f"{path}: not a vcgan checkpoint (no networks in it)")
    return upgrade_checkpoint(state)


def weights_mismatch(path, family, err: RuntimeError) -> CheckpointError:
    """A clear error for weights that do not fit the networks this version builds (a
    checkpoint of an older layout, or an edited one): names the file and the first problem."""
    detail = next((ln.strip() for ln in str(err).splitlines()[1:] if ln.strip()), str(err))
    return CheckpointError(f"{path}: its {family} weights do not fit the networks this version builds "
                           f"({detail[:200]}); it was written by another version of the model: train it again")



# what an exported model keeps: enough to describe and apply it, nothing to resume training
EXPORT_KEYS = ("format", "step", "elapsed", "config", "meta", "runtime", "calibration")


def export_inference(src, dst, exported: dict | None = None, half: bool = False) -> Path:
    """Write the inference-only copy of checkpoint ``src`` to ``dst``: the generators' weights
    (their moving average where the run kept one), no discriminators, optimizer, RNG or data
    state, so that it is a fraction of the size; ``half``: floating-point weights stored as
    float16 (half the size again; loading casts them back to the networks' float32).
    ``exported`` (e.g. where it came from) is stored under that key. The copy is refused by
    ``vcgan train --resume``."""
    state = load_checkpoint(src)
    weights = {k: v for k, v in inference_state(state).items() if not k.startswith("discriminators.")}
    if half:
        weights = {k: v.half() if torch.is_tensor(v) and v.is_floating_point() else v for k, v in weights.items()}
    out = {k: state[k] for k in EXPORT_KEYS if k in state}
    out.update(model=weights, ema=None, inference_only=True,
               exported={**(exported or {}), "weights": "float16" if half else "as trained"})
    return save_checkpoint(out, dst)
