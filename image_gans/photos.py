"""The photographs that ship inside the scikit-image and scikit-learn wheels, as an offline
RGB dataset split by whole photo (the ``skimage.data`` images that download on first use
are not among them: only files present in the installed wheels are read).

Each photo is scaled so that its shorter side is ``side`` pixels; training draws random
crops from the training photos, evaluation tiles the held-out photos.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .data import ImageDataError

# grey photos are repeated to RGB; synthetic images (colour charts, logos, text, silhouettes) are left out
# (chelsea and flower were the test photos of the first reports: read there, they are now
# development photos, and two training photos became the test photos; docs/results.md)
PHOTO_SPLITS = {
    "train": ("skimage:astronaut.png", "skimage:hubble_deep_field.jpg", "skimage:ihc.png",
              "skimage:motorcycle_left.png", "skimage:motorcycle_right.png", "skimage:retina.jpg",
              "skimage:camera.png", "skimage:brick.png", "skimage:grass.png", "skimage:moon.png", "skimage:cell.png"),
    "dev": ("skimage:rocket.jpg", "skimage:gravel.png", "skimage:coins.png", "skimage:chelsea.png", "sklearn:flower.jpg"),
    "test": ("skimage:coffee.png", "sklearn:china.jpg"),
}


def photo_path(name: str) -> Path:
    package, file = name.split(":")
    if package == "skimage":
        import skimage

        folder = Path(skimage.__file__).parent / "data"
    else:
        import sklearn

        folder = Path(sklearn.__file__).parent / "datasets" / "images"
    path = folder / file
    if not path.is_file():
        raise ImageDataError(f"{path}: a photo of the {package} wheel is missing (reinstall scikit-image / scikit-learn)")
    return path


def load_photos(split: str, side: int = 256) -> dict[str, np.ndarray]:
    """The photos of a split (``train``, ``dev``, ``test``): name -> uint8 (H, W, 3), the
    shorter side scaled to ``side``."""
    from PIL import Image

    if split not in PHOTO_SPLITS:
        raise ImageDataError(f"photos: no split {split!r}; choose from {', '.join(PHOTO_SPLITS)}")
    out = {}
    for name in PHOTO_SPLITS[split]:
        with Image.open(photo_path(name)) as im:
            im = im.convert("RGB")
            scale = side / min(im.size)
            im = im.resize((max(side, round(im.size[0] * scale)), max(side, round(im.size[1] * scale))), Image.LANCZOS)
            out[name.split(":")[1].rsplit(".", 1)[0]] = np.asarray(im, dtype=np.uint8)
    return out


def tiles(photos: dict[str, np.ndarray], size: int, stride: int | None = None) -> np.ndarray:
    """Every ``size`` x ``size`` crop at a multiple of ``stride`` (default: ``size // 2``) of each photo."""
    stride = stride or size // 2
    out = [im[t:t + size, l:l + size] for im in photos.values()
           for t in range(0, im.shape[0] - size + 1, stride) for l in range(0, im.shape[1] - size + 1, stride)]
    return np.stack(out)


class PhotoCrops:
    """Random ``size`` x ``size`` crops of photos (random flips too), as ``ImageSet.tensor``
    draws them: ``tensor(index, rng)``; ``index`` picks the photo (modulo their number), ``rng``
    the position, so a resumed run sees the same crops."""

    def __init__(self, photos: dict[str, np.ndarray], size: int, flip: bool = True, per_photo: int = 256):
        small = [n for n, im in photos.items() if min(im.shape[:2]) < size]
        if small:
            raise ImageDataError(f"photos {small} are smaller than the {size}-px crops")
        self.photos, self.size, self.flip, self.per_photo = list(photos.values()), size, flip, per_photo
        self.name = "photos"

    def __len__(self):
        return len(self.photos) * self.per_photo

    def crop(self, index: int, rng) -> np.ndarray:
        im = self.photos[index % len(self.photos)]
        t = int(rng.integers(im.shape[0] - self.size + 1))
        l = int(rng.integers(im.shape[1] - self.size + 1))  # noqa: E741
        out = im[t:t + self.size, l:l + self.size]
        return out[:, ::-1] if self.flip and rng.random() < 0.5 else out

    def tensor(self, index: int, rng=None):
        from .data import to_tensor

        return to_tensor(self.crop(index, rng if rng is not None else np.random.default_rng(index)))
