"""Writing files so that a crash never leaves a half-written one behind, and the
content-addressed analysis caches built on that."""
from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

import numpy as np

from .errors import VcganError


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


def check_distinct_outputs(inputs, outputs) -> None:
    """Refuse, before anything is written, two inputs that would write one output file
    (``a.wav`` and ``a.flac`` of one folder both become ``a.wav``)."""
    seen: dict[Path, Path] = {}
    sources = {Path(s).resolve() for s in inputs}
    for src, dst in zip(inputs, outputs):
        key = Path(dst).resolve()
        if key in sources:
            raise VcganError(f"{dst} is an input file: writing there would overwrite it; give another output")
        if key in seen:
            raise VcganError(f"{seen[key]} and {src} would both be written to {dst}; rename one of them "
                             "(outputs are named after the inputs without their extension)")
        seen[key] = Path(src)


def map_files(inputs, fn, *, skip_bad: bool = False, desc: str = "", unit: str = "file", progress: bool = True):
    """``fn(input)`` for each input with a progress bar; returns ``(done, skipped)``: the inputs
    done, and (input, message) for each one that raised a :class:`~vcgan.errors.VcganError`
    when ``skip_bad`` is set (without it the first such error stops the run, naming the file:
    the outputs written before it are complete files)."""
    from tqdm import tqdm

    done, skipped = [], []
    for item in tqdm(list(inputs), desc=desc, unit=unit, disable=not progress):
        try:
            fn(item)
        except VcganError as exc:
            if not skip_bad:
                raise
            skipped.append((item, str(exc)))
            continue
        done.append(item)
    return done, skipped
