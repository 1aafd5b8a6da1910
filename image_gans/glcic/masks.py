"""Hole masks for image completion: the random rectangles GLCIC trains on (Iizuka et al.
2017), free-form brush strokes, mask files, and the local discriminator's crop.

A mask is float32 (height, width) with 1 inside the hole (pixels to fill) and 0 where the
image is known.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from image_gans.data import ImageDataError


def hole_size_range(size: int) -> tuple[int, int]:
    """Smallest and largest side (inclusive) of a training hole in a ``size`` square image:
    a quarter to a half of the side (the paper: 96-128 px in 256 px crops)."""
    if size < 2:
        raise ValueError(f"size must be at least 2, got {size}")
    return max(1, size // 4), size // 2


def local_size(size: int) -> int:
    """Side of the local discriminator's square crop (the paper: 128 of 256); it always
    holds a whole hole from :func:`random_hole`."""
    return hole_size_range(size)[1]


def rectangle_mask(size_hw: tuple[int, int], top: int, left: int, height: int, width: int) -> np.ndarray:
    """A (height, width) = ``size_hw`` mask whose hole is the given rectangle."""
    h, w = size_hw
    if height < 1 or width < 1 or top < 0 or left < 0 or top + height > h or left + width > w:
        raise ValueError(f"rectangle top={top} left={left} height={height} width={width} "
                         f"does not lie inside a {h}x{w} image")
    mask = np.zeros((h, w), np.float32)
    mask[top:top + height, left:left + width] = 1
    return mask


def random_hole(size: int, rng: np.random.Generator) -> tuple[np.ndarray, tuple[int, int]]:
    """One random rectangular hole and the local crop around it.

    Returns
    -------
    mask : float32 (size, size); the hole's sides are uniform in :func:`hole_size_range`,
        its position uniform over the image (it may touch any border).
    crop : (top, left) of the local crop (side :func:`local_size`), uniform among the
        positions inside the image that contain the whole hole.
    """
    lo, hi = hole_size_range(size)
    side = local_size(size)
    h, w = (int(v) for v in rng.integers(lo, hi + 1, size=2))
    top, left = int(rng.integers(0, size - h + 1)), int(rng.integers(0, size - w + 1))
    crop_top = int(rng.integers(max(0, top + h - side), min(top, size - side) + 1))
    crop_left = int(rng.integers(max(0, left + w - side), min(left, size - side) + 1))
    return rectangle_mask((size, size), top, left, h, w), (crop_top, crop_left)


def free_form_mask(size: int, rng: np.random.Generator, strokes: int = 4, width: int | None = None) -> np.ndarray:
    """Random brush strokes: ``strokes`` random walks of 2-5 line segments drawn with a round
    brush of ``width`` px (default about size / 10); they cover roughly 10-40% of the image."""
    from PIL import Image, ImageDraw

    width = max(1, round(size / 10)) if width is None else int(width)
    canvas = Image.new("L", (size, size), 0)
    draw = ImageDraw.Draw(canvas)
    r = width / 2
    for _ in range(strokes):
        points = [tuple(rng.uniform(0, size, size=2))]
        for _ in range(int(rng.integers(2, 6))):
            angle, length = rng.uniform(0, 2 * np.pi), rng.uniform(size / 10, size / 5)
            x, y = points[-1]
            points.append((float(np.clip(x + length * np.cos(angle), 0, size - 1)),
                           float(np.clip(y + length * np.sin(angle), 0, size - 1))))
        draw.line(points, fill=255, width=width)
        for x, y in points:
            draw.ellipse((x - r, y - r, x + r, y + r), fill=255)
    return (np.asarray(canvas) > 127).astype(np.float32)


def crop_around(mask: np.ndarray, size: int) -> tuple[int, int]:
    """(top, left) of the local crop (side :func:`local_size`) centred on the hole's
    bounding box and clamped inside the image. When the box is larger than the crop, the
    crop holds the part of the hole nearest the box's centre."""
    mask = np.asarray(mask)
    if mask.shape != (size, size):
        raise ValueError(f"mask of shape {mask.shape} for a {size}x{size} image")
    rows, cols = np.nonzero(mask > 0.5)
    if rows.size == 0:
        raise ValueError("the mask has no hole")
    side = local_size(size)

    def start(first: int, last: int) -> int:
        return int(np.clip((first + last + 1 - side) // 2, 0, size - side))

    return start(rows.min(), rows.max()), start(cols.min(), cols.max())


def read_mask(path, size: tuple[int, int]) -> np.ndarray:
    """A mask file (PNG, JPG, any mode) as float32 (height, width) = ``size``: converted to
    grey, resized with nearest neighbour, 1 where grey > 127."""
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    h, w = size
    try:
        with Image.open(path) as im:
            im = im.convert("L")
            if im.size != (w, h):
                im = im.resize((w, h), Image.NEAREST)
            mask = (np.asarray(im) > 127).astype(np.float32)
    except Image.DecompressionBombError as exc:
        raise ImageDataError(f"{path}: mask too large to open safely ({exc})") from None
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise ImageDataError(f"{path}: not a readable mask image ({exc})") from None
    if not mask.any():
        raise ImageDataError(f"{path}: the mask has no hole (no pixel above 127)")
    if mask.all():
        raise ImageDataError(f"{path}: the mask is all hole (every pixel above 127), nothing to complete from")
    return mask
