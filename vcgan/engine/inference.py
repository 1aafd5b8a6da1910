"""What a trained checkpoint becomes after training, whatever its family.

A family declares in the registry which `vcgan` command applies its checkpoints
(``Family.applies``) and how a checkpoint becomes an :class:`InferenceModel`
(``Family.load``). :func:`load_inference` reads the file, finds the family the
checkpoint names and refuses a checkpoint meant for another command in one sentence.
The CLI, the Python API (``vcgan.load``) and the evaluation commands all go through it.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path

from ..errors import CheckpointError
from .checkpoint import load_checkpoint
from .registry import family_named


class InferenceModel(ABC):
    """One trained checkpoint, ready to apply.

    Subclasses set ``purpose`` (what it does, e.g. "voice conversion") and implement
    :meth:`details` (what it maps: speakers, domains, sizes) and ``apply`` /
    ``apply_paths`` for their kind of work. :meth:`describe` is the same for every family.
    """

    purpose = "model"

    def __init__(self, path, checkpoint: dict, family):
        self.path = Path(path)
        self.checkpoint = checkpoint
        self.family = family
        self.meta = checkpoint.get("meta") or {}
        self.config = checkpoint.get("config") or {}

    @property
    def task(self) -> str:
        return self.config.get("task") or self.meta.get("family") or self.family.name

    @property
    def command(self) -> str:
        return f"vcgan {self.family.applies}"

    def details(self) -> dict:
        """What this model maps and on what (family-specific, plain data)."""
        return {}

    def describe(self) -> dict:
        runtime = self.checkpoint.get("runtime") or {}
        elapsed = self.checkpoint.get("elapsed")
        return {
            "checkpoint": str(self.path),
            "task": self.task,
            "purpose": self.purpose,
            "applied_by": self.command,
            **self.details(),
            "steps": self.checkpoint.get("step"),
            "minutes_trained": round(float(elapsed) / 60.0, 1) if elapsed is not None else None,
            "precision": runtime.get("precision"),
            "hardware": runtime.get("hardware"),
        }

    @abstractmethod
    def apply(self, *args, **kwargs):
        """The model applied to one input (a waveform, a file, a batch of images)."""

    @abstractmethod
    def apply_paths(self, *args, **kwargs):
        """The model applied to a file or a folder, written under an output path."""


def describe_text(info: dict) -> str:
    """``describe()`` as aligned ``key: value`` lines (lists joined, dicts inline)."""
    def show(v):
        if isinstance(v, (list, tuple)):
            return ", ".join(str(x) for x in v)
        if isinstance(v, dict):
            return "; ".join(f"{k} {show(x)}" for k, x in v.items())
        return "-" if v is None else str(v)

    width = max(len(k) for k in info)
    return "\n".join(f"{k.replace('_', ' '):<{width}}  {show(v)}" for k, v in info.items())


def checkpoint_family(path, checkpoint: dict):
    """The registered family a checkpoint names, or a clear error."""
    meta = checkpoint.get("meta") or {}
    name = meta.get("family")
    family = family_named(name) if isinstance(name, str) else None
    if family is None or family.load is None:
        raise CheckpointError(f"{path}: a checkpoint of no family this version can apply (family {name!r}); "
                              "`vcgan tasks` lists the ones it knows")
    return family


def load_inference(path, command: str | tuple[str, ...] | None = None, used_by: str | None = None,
                   **options) -> InferenceModel:
    """The :class:`InferenceModel` of a checkpoint file. With ``command`` (e.g. ``"convert"``, or
    several), a checkpoint that another command applies is refused, naming its task and that
    command (``used_by``: the command the user ran, where it is not ``command`` itself)."""
    checkpoint = load_checkpoint(path)
    family = checkpoint_family(path, checkpoint)
    allowed = (command,) if isinstance(command, str) else command
    if allowed is not None and family.applies not in allowed:
        task = (checkpoint.get("config") or {}).get("task") or family.name
        raise CheckpointError(f"{path} is a {task} checkpoint ({family.description}): apply it with "
                              f"`vcgan {family.applies}`, not `vcgan {used_by or command}`")
    return family.load(path, checkpoint, **options)
