"""Every model family of the project, registered with the engine's registry, and the
checkpoint loader built on it: ``vcgan.load(path)``. The packages are named here and
nowhere else above the families: the CLI and the API ask the registry."""
from __future__ import annotations

import importlib

PACKAGES = ("vcgan.models", "image_gans")  # importing each registers its families


def register_all() -> None:
    for name in PACKAGES:
        importlib.import_module(name)


def load(path, command: str | tuple[str, ...] | None = None, used_by: str | None = None, **options):
    """The inference object of a checkpoint file or of a shipped model named ``path``
    (:class:`~vcgan.engine.inference.InferenceModel`):
    ``describe()``, ``apply(...)``, ``apply_paths(...)``. With ``command`` ("convert",
    "postfilter", "translate"), a checkpoint that another command applies is refused."""
    from .engine.inference import load_inference
    from .pretrained import resolve

    register_all()
    return load_inference(resolve(path), command, used_by, **options)
