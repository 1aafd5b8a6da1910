"""The models that ship inside the package: small inference-only checkpoints trained by the
recipes, each with a model card (``<name>.md`` and ``<name>.json``) and its SHA-256 in
``manifest.json``, checked before the file is read.

``vcgan models`` lists them; ``vcgan convert --model NAME`` (and ``postfilter``, ``translate``,
``sample``, ``complete``, ``info``) and ``vcgan.load("NAME")`` apply them offline.
"""
from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path

from ..errors import CheckpointError, VcganError

HERE = Path(__file__).resolve().parent
MANIFEST = HERE / "manifest.json"


@lru_cache(maxsize=1)
def _manifest_cached(text: str) -> dict:
    data = json.loads(text)
    return data.get("models", {})


def manifest() -> dict:
    """Name -> entry (file, sha256, bytes, task, command, summary, score, rank, check) of every shipped model."""
    if not MANIFEST.is_file():
        return {}
    return _manifest_cached(MANIFEST.read_text())


def names() -> list[str]:
    return sorted(manifest())


def entry(name: str) -> dict:
    models = manifest()
    if name not in models:
        known = ", ".join(sorted(models)) or "none"
        raise VcganError(f"no shipped model named {name!r}; the shipped models are: {known} (`vcgan models`)")
    return models[name]


def sha256(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


_verified: dict[str, tuple[float, int]] = {}  # path -> (mtime, size) of a file whose hash matched


def path(name: str) -> Path:
    """The file of shipped model ``name``, after checking it against the manifest's SHA-256."""
    e = entry(name)
    p = HERE / e["file"]
    if not p.is_file():
        raise CheckpointError(f"shipped model {name!r}: {p} is missing from this installation; reinstall vcgan")
    stat = p.stat()
    key = (stat.st_mtime, stat.st_size)
    if _verified.get(str(p)) != key:
        digest = sha256(p)
        if digest != e["sha256"]:
            raise CheckpointError(f"shipped model {name!r}: {p} does not match its manifest (sha256 {digest[:12]}..., "
                                  f"expected {e['sha256'][:12]}...): the file was changed or damaged; reinstall vcgan")
        _verified[str(p)] = key
    return p


def card(name: str) -> dict:
    """The model card of ``name`` (the JSON beside the weights)."""
    e = entry(name)
    return json.loads((HERE / e["card"]).read_text())


def card_markdown(name: str) -> str:
    e = entry(name)
    return (HERE / e["card"]).with_suffix(".md").read_text()


def resolve(name_or_path) -> Path:
    """A checkpoint path as given, or the file of the shipped model of that name; a bare name
    (no folder, no suffix) that is neither is an error listing the shipped models."""
    p = Path(name_or_path)
    if p.exists() or not isinstance(name_or_path, str):
        return p
    if name_or_path in manifest():
        return path(name_or_path)
    if p.suffix or len(p.parts) > 1:
        return p  # a file path: the loader says it is not there
    known = ", ".join(names()) or "none"
    raise CheckpointError(f"no shipped model named {name_or_path!r} (and no file of that name); the shipped models "
                          f"are: {known} (`vcgan models`)")


def listing() -> list[str]:
    """One line per shipped model: name, task, what it maps, size, held-out score."""
    models = manifest()
    rows = [(n, e["task"], e["summary"], f"{e['bytes'] / 1e6:.1f} MB", e["score"]) for n, e in sorted(models.items())]
    if not rows:
        return []
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    return ["  ".join(c.ljust(w) for c, w in zip(r[:4], widths)) + "  " + r[4] for r in rows]
