"""Writing files so that a crash never leaves a half-written one behind, and the
content-addressed analysis caches built on that."""
from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

import numpy as np


def atomic_write_text(path, text: str) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def content_digest(path, header: str) -> str:
    """SHA-1 of ``header`` (what the cached result depends on besides the file) and the file's bytes."""
    h = hashlib.sha1(f"{header}\n".encode())
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def load_cached_npz(path, *keys: str):
    """The arrays ``keys`` of a cache entry, or None if it is absent, truncated or foreign."""
    try:
        with np.load(path) as z:
            return tuple(z[k] for k in keys)
    except Exception:
        return None


def store_cached_npz(path, **arrays) -> None:
    """Write a cache entry atomically (concurrent writers of the same entry are safe)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.npz")
    np.savez(tmp, **arrays)
    os.replace(tmp, path)
