"""Image measures with no downloaded weights: a small classifier trained on the
dataset's own training domains (for Fashion-MNIST, on its ten classes), FID and KID on
its penultimate features, domain accuracy, and PSNR / SSIM / L1 against ground truth.

These FIDs use that classifier's 128-d features, not Inception's: they compare models
measured here, on the same dataset, with each other (and with the real-vs-real floor),
never with published Inception FIDs. A classifier is never applied to another dataset
than the one it was trained on.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from torch import nn

from vcgan.engine.checkpoint import load_checkpoint, save_checkpoint

from .data import FASHION_MNIST_CLASSES, load_fashion_mnist, to_tensor


class Classifier(nn.Module):
    """Two conv blocks and a 128-d penultimate layer on ``size`` x ``size`` images of
    ``channels`` channels in [-1, 1] (28 x 28 grey for Fashion-MNIST); other sizes are
    resized, colour is averaged to grey or grey repeated to match. ``classes``: the name of
    each output, so that measures look a domain up by name."""

    def __init__(self, num_classes: int = 10, channels: int = 1, size: int = 28, classes=None):
        super().__init__()
        self.channels, self.size = int(channels), int(size)
        self.classes = list(classes) if classes is not None else list(FASHION_MNIST_CLASSES[:num_classes])
        self.features_net = nn.Sequential(
            nn.Conv2d(self.channels, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(64 * (self.size // 4) ** 2, 128), nn.ReLU())
        self.head = nn.Sequential(nn.Dropout(0.3), nn.Linear(128, num_classes))

    def prepare(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[1] == 3 and self.channels == 1:
            x = x.mean(1, keepdim=True)
        elif x.shape[1] == 1 and self.channels == 3:
            x = x.expand(-1, 3, -1, -1)
        if x.shape[-2:] != (self.size, self.size):
            x = nn.functional.interpolate(x, size=(self.size, self.size), mode="bilinear", align_corners=False)
        return x

    def features(self, x):
        return self.features_net(self.prepare(x))

    def forward(self, x):
        return self.head(self.features(x))


def default_classifier_path() -> Path:
    cache = Path(os.environ.get("VCGAN_CACHE", Path.home() / ".cache" / "vcgan"))
    return cache / "fashion_mnist_classifier.pt"


def _batches(images: np.ndarray, size: int):
    for i in range(0, len(images), size):
        yield torch.stack([to_tensor(im) for im in images[i:i + size]])


def train_classifier(root=None, epochs: int = 3, batch: int = 128, seed: int = 0, progress: bool = True,
                     max_images: int | None = None) -> tuple[Classifier, float]:
    """A classifier trained on Fashion-MNIST train; returns it and its test accuracy."""
    x, y = load_fashion_mnist("train", root)
    if max_images:
        x, y = x[:max_images], y[:max_images]
    torch.manual_seed(seed)  # before the networks are initialised
    net = fit_classifier(Classifier(), x, y, epochs, batch, seed, progress)
    return net, accuracy(net, *load_fashion_mnist("test", root))


def fit_classifier(net: Classifier, x: np.ndarray, y: np.ndarray, epochs: int = 3, batch: int = 128, seed: int = 0,
                   progress: bool = True) -> Classifier:
    """Train ``net`` on uint8 images ``x`` with class indices ``y`` (random horizontal flips;
    the caller seeds torch before building ``net``)."""
    from tqdm import tqdm

    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    rng = np.random.default_rng(seed)
    steps = epochs * -(-len(x) // batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=steps)
    bar = tqdm(total=steps, desc="classifier", unit="batch", disable=not progress)
    net.train()
    for _ in range(epochs):
        order = rng.permutation(len(x))
        for i in range(0, len(x), batch):
            idx = order[i:i + batch]
            xb = torch.stack([to_tensor(im) for im in x[idx]])
            if rng.random() < 0.5:
                xb = xb.flip(-1)
            loss = nn.functional.cross_entropy(net(xb), torch.from_numpy(y[idx]))
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            bar.update(1)
    bar.close()
    return net.eval()


@torch.no_grad()
def accuracy(net: Classifier, images: np.ndarray, labels: np.ndarray) -> float:
    net.eval()
    pred = torch.cat([net(b).argmax(1) for b in _batches(images, 500)])
    return float((pred.numpy() == labels).mean())


@torch.no_grad()
def predict(net: Classifier, images: torch.Tensor, batch: int = 500) -> np.ndarray:
    """The classifier's class index for each image (float tensors in [-1, 1])."""
    net.eval()
    return torch.cat([net(images[i:i + batch].float()).argmax(1) for i in range(0, len(images), batch)]).numpy()


def _restore(path) -> tuple[Classifier, dict]:
    state = load_checkpoint(path)
    meta = state["meta"]
    classes = meta.get("classes") or FASHION_MNIST_CLASSES
    net = Classifier(len(classes), meta.get("channels", 1), meta.get("size", 28), classes)
    net.load_state_dict(state["model"])
    return net.eval(), {**meta, "classes": list(classes)}


def load_classifier(path=None, root=None, retrain: bool = False, progress: bool = True) -> tuple[Classifier, dict]:
    """The Fashion-MNIST classifier (trained and cached on first use, or with ``retrain``)."""
    path = Path(path) if path else default_classifier_path()
    if path.is_file() and not retrain:
        return _restore(path)
    net, acc = train_classifier(root, progress=progress)
    meta = {"test_accuracy": acc, "trained_on": "Fashion-MNIST train (60000 images)",
            "classes": list(FASHION_MNIST_CLASSES), "channels": 1, "size": 28}
    save_checkpoint({"model": net.state_dict(), "meta": meta}, path)
    return net, meta


def domain_classifier(train: dict, test: dict, dataset: str, retrain: bool = False, progress: bool = True,
                      epochs: int = 10) -> tuple[Classifier, dict]:
    """A classifier of a dataset's own domains (``train``/``test``: domain name -> uint8
    images), trained on the training split, its accuracy measured on the test split, and
    cached by the dataset's description and images (``dataset``: what it was trained on, in words)."""
    import hashlib

    names = list(train)
    first = np.asarray(train[names[0]])
    channels = 3 if first.ndim == 4 else 1
    size = min(64, max(8, min(first.shape[1:3]) // 4 * 4))
    digest = hashlib.sha1(repr((names, channels, size)).encode())
    for n in names:
        digest.update(np.ascontiguousarray(train[n]).tobytes())
    path = default_classifier_path().parent / f"domain_classifier_{digest.hexdigest()[:16]}.pt"
    if path.is_file() and not retrain:
        return _restore(path)
    x = np.concatenate([np.asarray(train[n]) for n in names])
    y = np.concatenate([np.full(len(train[n]), i, dtype=np.int64) for i, n in enumerate(names)])
    torch.manual_seed(0)
    net = fit_classifier(Classifier(len(names), channels, size, names), x, y, epochs=epochs,
                         batch=min(128, max(8, len(x) // 8)), progress=progress)
    tx = np.concatenate([np.asarray(test[n]) for n in names])
    ty = np.concatenate([np.full(len(test[n]), i, dtype=np.int64) for i, n in enumerate(names)])
    meta = {"test_accuracy": accuracy(net, tx, ty), "classes": names, "channels": channels, "size": size,
            "trained_on": f"{dataset}: the training images of its domains {', '.join(names)} ({len(x)} images)"}
    save_checkpoint({"model": net.state_dict(), "meta": meta}, path)
    return net, meta


@torch.no_grad()
def features(net: Classifier, images: torch.Tensor, batch: int = 500) -> np.ndarray:
    net.eval()
    return torch.cat([net.features(images[i:i + batch].float()) for i in range(0, len(images), batch)]).double().numpy()


def fid(a: np.ndarray, b: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets."""
    from scipy import linalg

    mu1, mu2 = a.mean(0), b.mean(0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    import warnings

    with warnings.catch_warnings():  # fewer samples than feature dimensions: singular, regularised below
        warnings.simplefilter("ignore", linalg.LinAlgWarning)
        covmean = linalg.sqrtm(s1 @ s2)
        if not np.isfinite(covmean).all() or min(len(a), len(b)) <= a.shape[1]:
            off = np.eye(len(s1)) * 1e-6  # as the reference implementation does for near-singular products
            covmean = linalg.sqrtm((s1 + off) @ (s2 + off))
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean.real))


def _sqrt_psd(s: np.ndarray) -> np.ndarray:
    w, v = np.linalg.eigh(s)
    return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


def _frechet(mu1, s1, mu2, root2, s2) -> float:
    """FD with tr sqrtm(s1 s2) as the sum of the square roots of the eigenvalues of the symmetric
    sqrt(s2) s1 sqrt(s2) (``root2``): the same quantity, an order of magnitude faster than sqrtm."""
    ev = np.linalg.eigvalsh(root2 @ s1 @ root2)
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.sqrt(np.clip(ev, 0, None)).sum())


def fd_interval(a: np.ndarray, b: np.ndarray, real: np.ndarray, resamples: int = 200, seed: int = 0,
                paired: bool = False) -> dict:
    """FD(a) - FD(b) against ``real``, with a bootstrap 95% interval. Unpaired (samples of two
    generators): each resample draws the two feature sets and the real set with replacement, the
    same real draw for both. ``paired``: row i of ``a``, ``b`` and ``real`` are one item (two
    completions of one image, and the image): each resample draws one set of items for all three,
    as the paired bootstrap of the per-image measures does."""
    if paired and not len(a) == len(b) == len(real):
        raise ValueError(f"a paired FD interval needs as many rows in each set, got {len(a)}, {len(b)}, {len(real)}")
    rng = np.random.default_rng(seed)
    diffs = []
    for _ in range(resamples):
        idx = rng.integers(len(real), size=len(real))
        r = real[idx]
        mu_r, s_r = r.mean(0), np.cov(r, rowvar=False)
        root = _sqrt_psd(s_r)
        fd = []
        for x in (a, b):
            x = x[idx] if paired else x[rng.integers(len(x), size=len(x))]
            fd.append(_frechet(x.mean(0), np.cov(x, rowvar=False), mu_r, root, s_r))
        diffs.append(fd[0] - fd[1])
    lo, hi = np.percentile(diffs, [2.5, 97.5])
    return {"difference": fid(a, real) - fid(b, real), "low": float(lo), "high": float(hi), "resamples": resamples,
            "paired": paired}


def kid(a: np.ndarray, b: np.ndarray, subsets: int = 20, subset_size: int = 200, seed: int = 0) -> float:
    """Kernel inception distance: unbiased MMD^2 with the cubic polynomial kernel
    k(x, y) = (x.y / d + 1)^3, averaged over random subsets."""
    rng = np.random.default_rng(seed)
    d, m = a.shape[1], min(subset_size, len(a), len(b))
    vals = []
    for _ in range(subsets):
        x, y = a[rng.choice(len(a), m, replace=False)], b[rng.choice(len(b), m, replace=False)]
        kxx, kyy, kxy = (x @ x.T / d + 1) ** 3, (y @ y.T / d + 1) ** 3, (x @ y.T / d + 1) ** 3
        vals.append((kxx.sum() - np.trace(kxx)) / (m * (m - 1)) + (kyy.sum() - np.trace(kyy)) / (m * (m - 1))
                    - 2 * kxy.mean())
    return float(np.mean(vals))


def psnr_ssim_l1(pred: torch.Tensor, target: torch.Tensor, per_image: bool = False) -> dict:
    """Mean PSNR [dB] and SSIM on [0, 1] images, and L1 on [-1, 1] values (``per_image``:
    each image's values as lists instead)."""
    from skimage.metrics import peak_signal_noise_ratio, structural_similarity

    p = pred.detach().float().cpu().clamp(-1, 1).add(1).div(2).numpy()
    t = target.detach().float().cpu().clamp(-1, 1).add(1).div(2).numpy()
    psnr = [peak_signal_noise_ratio(ti, pi, data_range=1.0) for pi, ti in zip(p, t)]
    ssim = [structural_similarity(ti, pi, data_range=1.0, channel_axis=0) for pi, ti in zip(p, t)]
    if per_image:
        l1 = np.abs(p - t).reshape(len(p), -1).mean(1) * 2
        return {"psnr": [float(v) for v in psnr], "ssim": [float(v) for v in ssim], "l1": [float(v) for v in l1]}
    return {"psnr": float(np.mean(psnr)), "ssim": float(np.mean(ssim)), "l1": float(np.abs(p - t).mean() * 2)}
