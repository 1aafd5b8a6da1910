"""Classical hole fills, the baselines image completion is compared with. Each takes a
uint8 image (H, W) or (H, W, 3) and a mask (H, W), 1 or True inside the hole, and returns
a uint8 image of the same shape whose known pixels are unchanged."""
from __future__ import annotations

import numpy as np

from vcgan.errors import VcganError


def _hole(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    if image.dtype != np.uint8 or not (image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 3)):
        raise ValueError(f"image must be uint8 (H, W) or (H, W, 3), got {image.dtype} {image.shape}")
    hole = np.asarray(mask) > 0.5
    if hole.shape != image.shape[:2]:
        raise ValueError(f"mask of shape {hole.shape} for an image of shape {image.shape}")
    return hole


def mean_fill(image: np.ndarray, mask: np.ndarray, mean) -> np.ndarray:
    """The hole set to ``mean``: one value or one per channel, in 0..255, rounded."""
    hole = _hole(image, mask)
    value = np.clip(np.rint(np.asarray(mean, dtype=np.float64)), 0, 255).astype(np.uint8)
    if value.size not in (1, 1 if image.ndim == 2 else image.shape[2]):
        raise ValueError(f"mean has {value.size} values for an image of shape {image.shape}")
    out = image.copy()
    out[hole] = value.reshape(-1) if image.ndim == 3 else value.reshape(())
    return out


def telea(image: np.ndarray, mask: np.ndarray, radius: int = 3) -> np.ndarray:
    """OpenCV's fast-marching inpainting (Telea 2004) with neighbourhood ``radius``."""
    hole = _hole(image, mask)
    try:
        import cv2
    except ImportError:
        raise VcganError("OpenCV's Telea inpainting needs the opencv-python-headless wheel: "
                         "pip install 'vcgan[eval]'") from None
    filled = cv2.inpaint(np.ascontiguousarray(image), hole.astype(np.uint8), radius, cv2.INPAINT_TELEA)
    return np.where(hole[..., None] if image.ndim == 3 else hole, filled, image)


def biharmonic(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """scikit-image's biharmonic inpainting."""
    from skimage.restoration import inpaint_biharmonic

    hole = _hole(image, mask)
    filled = inpaint_biharmonic(image.astype(np.float64) / 255, hole, channel_axis=-1 if image.ndim == 3 else None)
    filled = np.clip(np.rint(filled * 255), 0, 255).astype(np.uint8)
    return np.where(hole[..., None] if image.ndim == 3 else hole, filled, image)


def harmonic(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The membrane (harmonic) interpolation of the hole's surroundings: each hole pixel the
    average of its four neighbours (what ``model.prefill: harmonic`` starts from)."""
    import torch

    from ..data import to_tensor, to_uint8
    from .prefill import harmonic_fill

    hole = _hole(image, mask)
    x = to_tensor(image)[None]
    filled = to_uint8(harmonic_fill(x, torch.from_numpy(hole.astype(np.float32))[None, None])[0])
    return np.where(hole[..., None] if image.ndim == 3 else hole, filled.reshape(image.shape), image)
