"""One registry of model families: what each trains, its defaults and checks, how it
builds for training and how it loads for inference. Generic code (config resolution,
the CLI, benchmarks) reads it; adding a family touches no generic module."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from ..errors import ConfigError


@dataclass(frozen=True)
class Family:
    """A model family.

    ``defaults(task)`` returns the config sections the family owns (e.g. ``model``,
    ``loss``, ``data``, ``features``) for one of its task names. ``types`` maps dotted
    keys whose default is null to the type(s) they accept (``"schedule"`` for a loss
    weight). ``minimums`` lists (key, smallest value). ``check(cfg)`` raises
    ConfigError for combinations the family does not support. ``build(cfg)`` returns
    ``(model, data)`` for the Trainer. ``synthetic(cfg)`` does the same with random data
    of the right shapes and no files (benchmarks, smoke tests).

    After training: ``applies`` names the `vcgan` command that applies the family's
    checkpoints ("convert", "postfilter", "translate"); ``load(path, checkpoint, **options)``
    returns its :class:`~vcgan.engine.inference.InferenceModel`; ``finalize(path, cfg)``, where
    given, runs once a training run has ended (and after every resumed run) and returns
    entries to store in its checkpoint (e.g. an output calibration measured on the training data).
    """

    name: str
    tasks: tuple[str, ...]
    defaults: Callable[[str], dict]
    build: Callable
    load: Callable | None = None
    applies: str = ""
    finalize: Callable | None = None
    default_task: str | None = None  # the task of a config that names none (one family declares it)
    synthetic: Callable | None = None
    types: dict = field(default_factory=dict)
    minimums: list = field(default_factory=list)
    check: Callable[[dict], None] | None = None
    description: str = ""


_FAMILIES: dict[str, Family] = {}


def register(family: Family) -> Family:
    for other in _FAMILIES.values():
        clash = set(other.tasks) & set(family.tasks)
        if clash and other.name != family.name:
            raise ValueError(f"task(s) {sorted(clash)} registered by both {other.name} and {family.name}")
    _FAMILIES[family.name] = family
    return family


def known_tasks() -> list[str]:
    return sorted(t for f in _FAMILIES.values() for t in f.tasks)


def family_for_task(task: str) -> Family:
    for f in _FAMILIES.values():
        if task in f.tasks:
            return f
    raise ConfigError(f"config key 'task': unknown task {task!r}; choose from {', '.join(known_tasks())}")


def default_task() -> str:
    """The task of a config without a ``task`` key: the one a registered family declares."""
    for f in _FAMILIES.values():
        if f.default_task:
            return f.default_task
    raise ConfigError("config key 'task': missing; choose from " + ", ".join(known_tasks()))


def family_named(name: str) -> Family | None:
    return _FAMILIES.get(name)


def families() -> list[Family]:
    return list(_FAMILIES.values())
