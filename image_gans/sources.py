"""Where image families get their data: Fashion-MNIST classes (the recipes' default,
offline) or the folder layouts real datasets come in."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .data import (FASHION_MNIST_CLASSES, ImageDataError, ImageSet, class_index, list_images, load_fashion_mnist,
                   read_image)

IMAGE_DATA_DEFAULTS = {
    "layout": "fashion_mnist",  # fashion_mnist | folders (see each family)
    "root": None,  # dataset folder; fashion_mnist: null finds Debian's dataset-fashion-mnist
    "domains": None,  # domain names: Fashion-MNIST classes or sub-folder names
    "image_size": None,  # resize to this square size; null: as stored (Fashion-MNIST: 28)
    "channels": None,  # 1 or 3; null: as stored
    "max_images": None,  # per domain and split (quick runs)
    "flip": False,  # random horizontal flips
    "batch_size": 1,
    "num_workers": 0,  # background loader processes
}
IMAGE_DATA_TYPES = {"data.root": str, "data.domains": list, "data.image_size": int, "data.channels": int,
                    "data.max_images": int}


def fashion_mnist_domains(names, split: str, root=None, max_images=None) -> dict[str, np.ndarray]:
    """Images (N, 28, 28) uint8 of each named Fashion-MNIST class."""
    images, labels = load_fashion_mnist(split, root)
    out = {}
    for name in names:
        sel = images[labels == class_index(name)]
        out[name] = sel[:max_images] if max_images else sel
    return out


def folder_domains(root, names, split_dirs, size, channels, max_images=None) -> dict[str, np.ndarray]:
    """Images of ``root/<split_dir>`` per domain name (``split_dirs``: name -> sub-folder)."""
    out = {}
    for name in names:
        files = list_images(Path(root) / split_dirs[name])
        files = files[:max_images] if max_images else files
        out[name] = np.stack([read_image(p, size, channels) for p in files])
    return out


def resize_set(images: np.ndarray, size, channels) -> np.ndarray:
    """Fashion-MNIST arrays to the configured size/channels."""
    if channels == 3 and images.ndim == 3:
        images = np.repeat(images[..., None], 3, -1)
    if size and images.shape[1] != size:
        from PIL import Image

        images = np.stack([np.asarray(Image.fromarray(im).resize((size, size), Image.BICUBIC)) for im in images])
    return images


def check_domains(data: dict, needed: int, layout_hint: str) -> list[str]:
    names = data["domains"]
    if not names or len(names) < needed:
        raise ImageDataError(f"config key 'data.domains': give at least {needed} domain names ({layout_hint})")
    if data["layout"] == "fashion_mnist":
        for n in names:
            class_index(n)
    return list(names)


def image_set(arr: np.ndarray, name: str, data: dict) -> ImageSet:
    return ImageSet(arr, name, flip=data["flip"])


__all__ = ["FASHION_MNIST_CLASSES", "IMAGE_DATA_DEFAULTS", "IMAGE_DATA_TYPES", "check_domains", "fashion_mnist_domains",
           "folder_domains", "image_set", "resize_set"]
