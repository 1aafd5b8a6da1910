"""Image data: Fashion-MNIST from its IDX files, the folder layouts image translation
datasets come in, and datasets for the engine's resumable loader.

Images are float tensors (channels, height, width) in [-1, 1]. Every dataset has
``__len__`` and ``get(index, rng)``; ``rng`` drives random flips and crops, so a
resumed run sees the same samples (see ``vcgan.engine.data.ResumableLoader``).
"""
from __future__ import annotations

import gzip
import os
import struct
import tempfile
from pathlib import Path

import numpy as np
import torch

from vcgan.errors import VcganError

FASHION_MNIST_DIRS = ("/usr/share/datasets/fashion-mnist",)
FASHION_MNIST_CLASSES = ("t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag",
                         "ankle-boot")
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".webp")


class ImageDataError(VcganError):
    """Missing or unreadable image data."""


# ------------------------------------------------------------------- Fashion-MNIST
def read_idx(path) -> np.ndarray:
    """An IDX file (optionally gzipped) as a numpy array of its declared shape."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            data = f.read()
        zero, dtype_code, ndim = struct.unpack(">HBB", data[:4])
        if zero != 0 or dtype_code != 0x08:
            raise ValueError("not an unsigned-byte IDX file")
        shape = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
        arr = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
        if arr.size != int(np.prod(shape)):
            raise ValueError(f"{arr.size} values for shape {shape}")
        return arr.reshape(shape)
    except (OSError, ValueError, struct.error, EOFError) as exc:
        raise ImageDataError(f"{path}: not a readable IDX file ({exc})") from None


def find_fashion_mnist(root=None) -> Path:
    """The folder with Fashion-MNIST's IDX files: ``root``, $FASHION_MNIST, or Debian's
    ``dataset-fashion-mnist`` package."""
    candidates = [Path(root)] if root else [Path(p) for p in (os.environ.get("FASHION_MNIST"),) if p]
    candidates += [Path(p) for p in FASHION_MNIST_DIRS] if not root else []
    for c in candidates:
        if (c / "train-images-idx3-ubyte.gz").is_file() or (c / "train-images-idx3-ubyte").is_file():
            return c
    where = f"{root}" if root else "$FASHION_MNIST or " + ", ".join(FASHION_MNIST_DIRS)
    raise ImageDataError(f"Fashion-MNIST not found in {where}; install the Debian package "
                         "dataset-fashion-mnist (apt-get install dataset-fashion-mnist) or pass its folder")


def load_fashion_mnist(split: str = "train", root=None) -> tuple[np.ndarray, np.ndarray]:
    """(images uint8 [N, 28, 28], labels int [N]) of the ``train`` or ``test`` split."""
    if split not in ("train", "test"):
        raise ValueError(f"split must be train or test, got {split!r}")
    folder = find_fashion_mnist(root)
    prefix = "train" if split == "train" else "t10k"

    def one(kind):
        for name in (f"{prefix}-{kind}-ubyte.gz", f"{prefix}-{kind}-ubyte"):
            if (folder / name).is_file():
                return read_idx(folder / name)
        raise ImageDataError(f"{folder}: {prefix}-{kind}-ubyte(.gz) missing")

    images, labels = one("images-idx3"), one("labels-idx1")
    if len(images) != len(labels):
        raise ImageDataError(f"{folder}: {len(images)} {split} images but {len(labels)} labels")
    return images, labels.astype(np.int64)


def class_index(name: str) -> int:
    if name not in FASHION_MNIST_CLASSES:
        raise ImageDataError(f"unknown Fashion-MNIST class {name!r}; the classes are {', '.join(FASHION_MNIST_CLASSES)}")
    return FASHION_MNIST_CLASSES.index(name)


def pad_to(images: np.ndarray, size: int) -> np.ndarray:
    """Centre (N, h, w[, c]) images on a ``size`` x ``size`` black canvas (Fashion-MNIST's background)."""
    h, w = images.shape[1:3]
    top, left = (size - h) // 2, (size - w) // 2
    out = np.zeros((len(images), size, size) + images.shape[3:], images.dtype)
    out[:, top:top + h, left:left + w] = images
    return out


def center_crop(x: torch.Tensor, size: int) -> torch.Tensor:
    """The centre ``size`` x ``size`` of (..., h, w) images (the 28-px garment of a padded one)."""
    top, left = (x.shape[-2] - size) // 2, (x.shape[-1] - size) // 2
    return x[..., top:top + size, left:left + size]


# ------------------------------------------------------------------- image files
def to_tensor(img: np.ndarray) -> torch.Tensor:
    """uint8 HxW or HxWxC -> float CxHxW in [-1, 1]."""
    arr = np.asarray(img, dtype=np.float32) / 127.5 - 1.0
    if arr.ndim == 2:
        arr = arr[None]
    else:
        arr = arr.transpose(2, 0, 1)
    return torch.from_numpy(np.ascontiguousarray(arr))


def to_uint8(x: torch.Tensor) -> np.ndarray:
    """float CxHxW in [-1, 1] -> uint8 HxW (one channel) or HxWxC."""
    arr = ((x.detach().float().cpu().clamp(-1, 1) + 1) * 127.5).round().byte().numpy()
    return arr[0] if arr.shape[0] == 1 else arr.transpose(1, 2, 0)


def read_image(path, size: int | tuple[int, int] | None = None, channels: int | None = None) -> np.ndarray:
    """uint8 image (HxW for one channel, HxWx3 for three), resized to ``size`` (square side
    or (height, width)), converted to ``channels``; a clear error for unreadable files."""
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    try:
        with Image.open(path) as im:
            im.load()
            mode = {1: "L", 3: "RGB"}.get(channels) or ("L" if im.mode in ("L", "1", "I;16", "I") else "RGB")
            im = im.convert(mode)
            if size is not None:
                hw = (size, size) if isinstance(size, int) else tuple(size)
                if im.size != (hw[1], hw[0]):
                    im = im.resize((hw[1], hw[0]), Image.BICUBIC)
            return np.asarray(im, dtype=np.uint8)
    except Image.DecompressionBombError as exc:  # more than twice PIL's pixel limit
        raise ImageDataError(f"{path}: image too large to open safely ({exc})") from None
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise ImageDataError(f"{path}: not a readable image ({exc})") from None


def list_images(folder) -> list[Path]:
    folder = Path(folder)
    if not folder.is_dir():
        raise ImageDataError(f"{folder}: image folder not found")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file())
    if not files:
        raise ImageDataError(f"{folder}: no images ({', '.join(IMAGE_EXTENSIONS)})")
    return files


def write_image(path, x: torch.Tensor) -> Path:
    from PIL import Image

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:  # never a half-written image: written beside it, then renamed
        Image.fromarray(to_uint8(x)).save(tmp, format=(path.suffix.lstrip(".").upper() or "PNG").replace("JPG", "JPEG"))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


# ------------------------------------------------------------------- datasets
class ImageSet:
    """Images of one domain, held in memory as uint8 arrays (N, H, W[, C])."""

    def __init__(self, images: np.ndarray, name: str = "images", flip: bool = False):
        if len(images) == 0:
            raise ImageDataError(f"{name}: no images")
        self.images, self.name, self.flip = images, name, flip

    def __len__(self):
        return len(self.images)

    def tensor(self, index: int, rng=None) -> torch.Tensor:
        x = to_tensor(self.images[index])
        if self.flip and rng is not None and rng.random() < 0.5:
            x = x.flip(-1)
        return x

    @classmethod
    def from_folder(cls, folder, size, channels, flip=False):
        files = list_images(folder)
        return cls(np.stack([read_image(p, size, channels) for p in files]), str(folder), flip)


class UnpairedImages:
    """Two domains for CycleGAN: each sample is an ``a`` image and an independent ``b`` image."""

    def __init__(self, a: ImageSet, b: ImageSet):
        self.a, self.b = a, b

    def __len__(self):
        return max(len(self.a), len(self.b))

    def get(self, index, rng):
        return {"a": self.a.tensor(index % len(self.a), rng), "b": self.b.tensor(int(rng.integers(len(self.b))), rng)}


class DomainImages:
    """Several domains for StarGAN: a sample is an image ``x`` of domain ``src``, a requested
    domain ``trg`` and a real image ``y`` of it. Single-label domains are indices; with
    ``attributes`` (N, K) 0/1 the domains are attribute vectors and ``trg`` flips a random
    subset of ``x``'s attributes (at least one)."""

    def __init__(self, images: ImageSet, labels: np.ndarray, num_domains: int, attributes: bool = False):
        self.images, self.labels, self.num_domains, self.attributes = images, np.asarray(labels), num_domains, attributes
        if not attributes:
            present = set(self.labels.tolist())
            missing = sorted(set(range(num_domains)) - present)
            if missing:
                raise ImageDataError(f"{images.name}: no images of domain(s) {missing}")
            self.by_domain = [np.flatnonzero(self.labels == d) for d in range(num_domains)]

    def __len__(self):
        return len(self.images)

    def get(self, index, rng):
        x = self.images.tensor(index, rng)
        if self.attributes:
            src = self.labels[index].astype(np.float32)
            flip = rng.random(self.num_domains) < 0.5
            flip[rng.integers(self.num_domains)] = True
            trg = np.where(flip, 1 - src, src).astype(np.float32)
            match = np.flatnonzero((self.labels == trg).all(1))
            j = int(rng.choice(match)) if len(match) else int(rng.integers(len(self.images)))
            return {"x": x, "y": self.images.tensor(j, rng), "src": torch.from_numpy(src), "trg": torch.from_numpy(trg)}
        src = int(self.labels[index])
        trg = (src + int(rng.integers(1, self.num_domains))) % self.num_domains
        j = int(rng.choice(self.by_domain[trg]))
        return {"x": x, "y": self.images.tensor(j, rng), "src": torch.tensor(src), "trg": torch.tensor(trg)}


class PairedImages:
    """pix2pix: input ``x`` and target ``y`` of the same sample, flipped together."""

    def __init__(self, inputs: ImageSet, targets: ImageSet):
        if len(inputs) != len(targets):
            raise ImageDataError(f"{inputs.name} has {len(inputs)} images but {targets.name} has {len(targets)}")
        self.inputs, self.targets = inputs, targets

    def __len__(self):
        return len(self.inputs)

    def get(self, index, rng):
        x, y = self.inputs.tensor(index), self.targets.tensor(index)
        if self.inputs.flip and rng.random() < 0.5:
            x, y = x.flip(-1), y.flip(-1)
        return {"x": x, "y": y}
