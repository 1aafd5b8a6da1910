"""A shipped model applied to a fixture, summarised in a few numbers: recorded in the manifest
when the model is built, and compared with the same summary at test time (the weights, the
code that applies them and the fixture must all still agree)."""
from __future__ import annotations

from pathlib import Path

import numpy as np


def _audio_summary(y: np.ndarray) -> dict:
    y = np.asarray(y, np.float64)
    parts = np.array_split(y, 8)
    return {"samples": int(len(y)), "rms": float(np.sqrt(np.mean(y ** 2))),
            "rms_per_eighth": [float(np.sqrt(np.mean(p ** 2))) for p in parts]}


def _image_summary(y) -> dict:
    y = np.asarray(y, np.float64)
    return {"shape": list(y.shape), "mean": float(y.mean()), "std": float(y.std()),
            "mean_per_image": [float(v) for v in y.reshape(len(y), -1).mean(1)]}


def fashion_mnist_images(root: Path, classes, per_class: int = 2, edges: bool = False):
    """The first ``per_class`` test images of each Fashion-MNIST class index in ``classes``
    (or their Canny edge maps) as the translators' input: (n, 1, 28, 28) in [-1, 1]."""
    import torch

    from image_gans.data import read_idx

    x = read_idx(Path(root) / "t10k-images-idx3-ubyte.gz")
    y = read_idx(Path(root) / "t10k-labels-idx1-ubyte.gz")
    x = x[[i for c in classes for i in np.flatnonzero(y == c)[:per_class]]]
    if edges:
        from image_gans.pix2pix import edge_map

        x = np.stack([edge_map(im) for im in x])
    return torch.from_numpy(x.astype(np.float32) / 127.5 - 1.0)[:, None]


def output(model, check: dict, fixtures: Path) -> np.ndarray:
    """``model`` applied as ``check`` says to the fixture it names (under ``fixtures``, the
    project's tests/data): a waveform, or a batch of images in [-1, 1]."""
    from ..features.audio import load_audio

    fixtures = Path(fixtures)
    kind = check["kind"]
    if kind == "convert":
        x = load_audio(fixtures / check["input"], model.features.sample_rate)
        return np.asarray(model.apply(x, check["source"], check["target"]), np.float64)
    if kind == "postfilter":
        return np.asarray(model.apply(fixtures / check["input"]), np.float64)
    if kind == "translate":
        x = fashion_mnist_images(fixtures / check["input"], check["classes"], edges=check.get("edges", False))
        return model.apply(x, check.get("target")).detach().cpu().double().numpy()
    if kind == "complete":
        import torch

        x = fashion_mnist_images(fixtures / check["input"], check["classes"])
        top, left, h, w = check["hole"]
        mask = torch.zeros(len(x), 1, *x.shape[-2:])
        mask[..., top:top + h, left:left + w] = 1
        return model.apply(x, mask).detach().cpu().double().numpy()
    raise ValueError(f"unknown check kind {kind!r}")


def summarise(model, check: dict, fixtures: Path) -> dict:
    """:func:`output` summarised in a few numbers."""
    y = output(model, check, fixtures)
    return _audio_summary(y) if check["kind"] in ("convert", "postfilter") else _image_summary(y)


def snr_db(reference: np.ndarray, other: np.ndarray) -> float:
    """How close ``other`` is to ``reference``: signal-to-difference ratio in dB."""
    n = min(len(reference), len(other))
    a, b = np.asarray(reference[:n], np.float64), np.asarray(other[:n], np.float64)
    return float(10 * np.log10(np.sum(a ** 2) / max(np.sum((a - b) ** 2), 1e-300)))


def compare(got: dict, want: dict, rtol: float = 2e-3, atol: float = 1e-4) -> list[str]:
    """The entries of ``got`` that differ from ``want`` (empty: they agree)."""
    bad = []
    for k, w in want.items():
        g = got.get(k)
        if isinstance(w, (list, tuple)):
            ok = g is not None and len(g) == len(w) and np.allclose(g, w, rtol=rtol, atol=atol)
        elif isinstance(w, float):
            ok = g is not None and np.isclose(g, w, rtol=rtol, atol=atol)
        else:
            ok = g == w
        if not ok:
            bad.append(f"{k}: got {g}, recorded {w}")
    return bad
