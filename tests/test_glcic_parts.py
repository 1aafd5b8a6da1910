"""GLCIC's masks, Poisson blending and classical baselines, on real images: Fashion-MNIST
and crops of scikit-image's astronaut photo."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import skimage
from PIL import Image

from image_gans.data import ImageDataError, load_fashion_mnist
from image_gans.glcic.baselines import biharmonic, harmonic, mean_fill, telea
from image_gans.glcic.blend import poisson_blend
from image_gans.glcic.masks import (crop_around, free_form_mask, hole_size_range, local_size, random_hole, read_mask,
                                    rectangle_mask)
from vcgan.errors import VcganError

FACE = (slice(80, 144), slice(192, 256))  # cheek, eye and hair of the astronaut
SUIT = (slice(384, 448), slice(64, 128))  # orange suit folds


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    with Image.open(Path(skimage.__file__).parent / "data" / "astronaut.png") as im:
        return np.asarray(im.convert("RGB"))


@pytest.fixture(scope="module")
def garment() -> np.ndarray:
    images, _ = load_fashion_mnist("test", Path(__file__).parent / "data" / "fashion-mnist")  # the committed subset
    return images[0]  # an ankle boot, 28x28


def hole_box(mask: np.ndarray) -> tuple[int, int, int, int]:
    rows, cols = np.nonzero(mask > 0.5)
    return rows.min(), rows.max() + 1, cols.min(), cols.max() + 1


def psnr_in_hole(result: np.ndarray, truth: np.ndarray, hole: np.ndarray) -> float:
    err = result[hole].astype(np.float64) - truth[hole].astype(np.float64)
    return 10 * np.log10(255 ** 2 / np.mean(err ** 2))


# ------------------------------------------------------------------- masks
def test_sizes_follow_the_paper_proportions():
    assert hole_size_range(256) == (64, 128) and local_size(256) == 128
    assert hole_size_range(28) == (7, 14) and local_size(28) == 14
    with pytest.raises(ValueError, match="size"):
        hole_size_range(1)


@pytest.mark.parametrize("size", [28, 64])
def test_random_hole_is_one_rectangle_in_range_inside_its_crop_at_every_border(size):
    lo, hi = hole_size_range(size)
    side = local_size(size)
    borders, crops = set(), set()
    for seed in range(500):
        mask, (ct, cl) = random_hole(size, np.random.default_rng(seed))
        assert mask.dtype == np.float32 and mask.shape == (size, size)
        top, bottom, left, right = hole_box(mask)
        assert mask[top:bottom, left:right].all() and mask.sum() == (bottom - top) * (right - left)
        assert lo <= bottom - top <= hi and lo <= right - left <= hi
        assert 0 <= ct <= size - side and 0 <= cl <= size - side
        assert ct <= top and bottom <= ct + side and cl <= left and right <= cl + side
        borders |= {name for name, hit in (("top", top == 0), ("bottom", bottom == size), ("left", left == 0),
                                           ("right", right == size)) if hit}
        crops.add((ct - top, cl - left))
    assert borders == {"top", "bottom", "left", "right"}
    assert len(crops) > 10  # the crop is placed at random around the hole, not at a fixed offset


def test_random_hole_is_deterministic_given_the_seed():
    a, crop_a = random_hole(64, np.random.default_rng(7))
    b, crop_b = random_hole(64, np.random.default_rng(7))
    assert np.array_equal(a, b) and crop_a == crop_b
    others = [random_hole(64, np.random.default_rng(s)) for s in range(8, 12)]
    assert any(not np.array_equal(a, m) or crop_a != c for m, c in others)


def test_crop_around_centres_on_the_hole_and_clamps_at_borders():
    size, side = 64, local_size(64)
    assert crop_around(rectangle_mask((64, 64), 24, 24, 16, 16), size) == (16, 16)
    assert crop_around(rectangle_mask((64, 64), 0, 0, 10, 12), size) == (0, 0)
    assert crop_around(rectangle_mask((64, 64), 54, 50, 10, 14), size) == (size - side, size - side)
    assert crop_around(rectangle_mask((64, 64), 0, 40, 8, 8), size) == (0, 28)
    assert crop_around(rectangle_mask((64, 64), 4, 10, 50, 40), size) == (13, 14)  # larger than the crop: centred
    with pytest.raises(ValueError, match="no hole"):
        crop_around(np.zeros((64, 64), np.float32), size)


@pytest.mark.parametrize("size", [28, 128])
def test_free_form_mask_covers_a_plausible_share_and_is_deterministic(size):
    for seed in range(20):
        mask = free_form_mask(size, np.random.default_rng(seed))
        assert mask.dtype == np.float32 and mask.shape == (size, size)
        assert set(np.unique(mask)) <= {0.0, 1.0}
        assert 0.05 <= mask.mean() <= 0.60
    first = free_form_mask(size, np.random.default_rng(3))
    assert np.array_equal(first, free_form_mask(size, np.random.default_rng(3)))
    assert not np.array_equal(first, free_form_mask(size, np.random.default_rng(4)))


def test_read_mask_thresholds_at_127_and_resizes_with_nearest(tmp_path, garment):
    Image.fromarray(garment).save(tmp_path / "boot.png")
    expected = (garment > 127).astype(np.float32)
    assert np.array_equal(read_mask(tmp_path / "boot.png", (28, 28)), expected)
    assert np.array_equal(read_mask(tmp_path / "boot.png", (56, 84)), np.kron(expected, np.ones((2, 3))))
    Image.fromarray(np.stack([garment] * 3, axis=-1)).save(tmp_path / "boot_rgb.png")
    assert np.array_equal(read_mask(tmp_path / "boot_rgb.png", (28, 28)), expected)
    edge = np.zeros((4, 4), np.uint8)
    edge[0, :2] = (127, 128)
    Image.fromarray(edge).save(tmp_path / "edge.png")
    assert read_mask(tmp_path / "edge.png", (4, 4))[0, :2].tolist() == [0.0, 1.0]


def test_read_mask_errors_name_the_file(tmp_path):
    Image.fromarray(np.full((8, 8), 127, np.uint8)).save(tmp_path / "empty.png")
    with pytest.raises(ImageDataError, match=r"empty\.png: the mask has no hole \(no pixel above 127\)"):
        read_mask(tmp_path / "empty.png", (8, 8))
    Image.fromarray(np.full((8, 8), 255, np.uint8)).save(tmp_path / "full.png")
    with pytest.raises(ImageDataError, match=r"full\.png: .*nothing to complete from"):
        read_mask(tmp_path / "full.png", (8, 8))
    (tmp_path / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n not really a png")
    with pytest.raises(ImageDataError, match=r"corrupt\.png: not a readable mask"):
        read_mask(tmp_path / "corrupt.png", (8, 8))
    with pytest.raises(ImageDataError, match=r"missing\.png"):
        read_mask(tmp_path / "missing.png", (8, 8))


# ------------------------------------------------------------------- Poisson blending
def test_poisson_blend_keeps_known_pixels_and_a_perfect_completion(astronaut):
    original = astronaut[FACE].astype(np.float64) / 255
    mask = rectangle_mask((64, 64), 20, 18, 24, 20)
    rng = np.random.default_rng(0)
    completed = rng.uniform(-1, 2, original.shape)
    out = poisson_blend(completed, original, mask)
    known = mask < 0.5
    assert out.shape == original.shape and np.array_equal(out[known], original[known])
    assert np.allclose(poisson_blend(original, original, mask), original, atol=1e-6)


@pytest.mark.parametrize("where", [(20, 18, 24, 20), (0, 0, 20, 30), (40, 0, 24, 64), (0, 50, 64, 14)],
                         ids=["inside", "corner", "bottom-strip", "right-strip"])
def test_poisson_blend_removes_a_colour_offset_seam(astronaut, where):
    original = astronaut[FACE].astype(np.float64) / 255
    mask = rectangle_mask((64, 64), *where)
    ring = np.pad(mask, 1)
    ring = (ring[1:-1, 1:-1] + ring[:-2, 1:-1] + ring[2:, 1:-1] + ring[1:-1, :-2] + ring[1:-1, 2:]) > 0
    offset = np.array([0.2, -0.1, 0.3])
    # the network's output: shifted in colour over the hole and the pixels next to it,
    # unrelated further away (those values take no part in the blend)
    completed = np.where(ring[..., None], original + offset, np.random.default_rng(1).uniform(0, 1, original.shape))
    pasted = np.where(mask[..., None] > 0.5, completed, original)
    assert np.abs(pasted - original).max() > 0.29
    assert np.allclose(poisson_blend(completed, original, mask), original, atol=1e-4)


def test_poisson_blend_single_channel(garment):
    original = garment.astype(np.float32) / 127.5 - 1
    mask = rectangle_mask((28, 28), 8, 0, 10, 12)
    out = poisson_blend(original - 0.5, original, mask)
    assert out.shape == (28, 28) and out.dtype == np.float32
    assert np.allclose(out, original, atol=1e-4)
    with pytest.raises(ValueError, match="all hole"):
        poisson_blend(original, original, np.ones((28, 28)))


# ------------------------------------------------------------------- baselines
@pytest.mark.parametrize("crop", [FACE, SUIT], ids=["face", "suit"])
def test_baselines_keep_known_pixels_and_beat_black_and_mean_fills(astronaut, crop):
    image = np.ascontiguousarray(astronaut[crop])
    mask = rectangle_mask((64, 64), 22, 22, 20, 20)
    hole = mask > 0.5
    mean = image[~hole].mean(axis=0)
    black = psnr_in_hole(mean_fill(image, mask, 0), image, hole)
    mean_psnr = psnr_in_hole(mean_fill(image, mask, mean), image, hole)
    assert mean_psnr > black
    for fill in (telea, biharmonic, harmonic):
        out = fill(image, hole)
        assert out.dtype == np.uint8 and out.shape == image.shape
        assert np.array_equal(out[~hole], image[~hole])
        assert psnr_in_hole(out, image, hole) > mean_psnr > black


def test_baselines_on_a_grey_image(garment):
    mask = rectangle_mask((28, 28), 10, 10, 6, 6)
    hole = mask > 0.5
    filled = mean_fill(garment, mask, 99.6)
    assert np.all(filled[hole] == 100) and np.array_equal(filled[~hole], garment[~hole])
    for fill in (telea, biharmonic, harmonic):
        out = fill(garment, mask)
        assert out.shape == garment.shape and np.array_equal(out[~hole], garment[~hole])
    with pytest.raises(ValueError, match="mean has 3 values"):
        mean_fill(garment, mask, (1, 2, 3))


def test_harmonic_fill_solves_laplace_inside_the_hole_and_keeps_the_rest():
    import torch

    from image_gans.glcic.prefill import harmonic_fill

    # a plane is harmonic: the fill must reproduce it inside holes anywhere, also at the borders
    rows, cols = np.mgrid[0:64, 0:48] / 64.0
    plane = torch.from_numpy(np.stack([0.8 * rows - 0.5 * cols, 0.3 * cols - 0.2, -0.6 * rows + 0.1])).float()
    masks = torch.zeros(3, 1, 64, 48)
    masks[0, 0, 20:50, 10:30] = 1  # inside
    masks[1, 0, 0:30, 30:48] = 1  # a corner
    masks[2, 0, 5:15, 5:15] = masks[2, 0, 40:60, 20:44] = 1  # two holes
    x = plane.expand(3, -1, -1, -1).clone()
    holed = x * (1 - masks) + 5.0 * masks  # what the hole held must not matter
    y = harmonic_fill(holed, masks)
    assert torch.equal(y * (1 - masks), x * (1 - masks))  # known pixels exactly
    # where a hole is surrounded by known pixels the plane is the solution
    assert (y - x)[[0, 2]].abs().max() < 2e-3
    # everywhere, also where the hole meets the image's edge (which reflects), each hole pixel
    # is the average of its four neighbours: Laplace's equation
    padded = torch.nn.functional.pad(y, (1, 1, 1, 1), mode="replicate")
    avg = (padded[..., :-2, 1:-1] + padded[..., 2:, 1:-1] + padded[..., 1:-1, :-2] + padded[..., 1:-1, 2:]) / 4
    assert ((avg - y) * masks).abs().max() < 2e-3


def test_biharmonic_fill_reproduces_a_curved_surface_and_matches_scikit_image_on_a_photo():
    import torch

    from image_gans.glcic.prefill import biharmonic_fill, harmonic_fill
    from image_gans.photos import load_photos

    # a quadratic surface has a constant Laplacian: the thin-plate fill reproduces it inside a
    # surrounded hole, where the membrane (harmonic) fill sags
    rows, cols = np.mgrid[0:48, 0:48] / 48.0
    bowl = torch.from_numpy(np.stack([rows ** 2 + cols ** 2 - 1, 0.5 * rows * cols, rows - cols ** 2])).float()[None]
    mask = torch.zeros(1, 1, 48, 48)
    mask[0, 0, 14:34, 10:30] = 1
    holed = bowl * (1 - mask) + 3.0 * mask  # what the hole held must not matter
    y = biharmonic_fill(holed, mask)
    assert torch.equal(y * (1 - mask), bowl * (1 - mask))  # known pixels exactly
    assert (y - bowl).abs().max() < 2e-3
    assert (harmonic_fill(holed, mask) - bowl).abs().max() > 0.03
    # on a photo, a batch of holes of the trained sizes (one at a corner): what scikit-image's
    # biharmonic inpainting gives, each image as when filled alone
    photo = load_photos("dev")["rocket"][40:104, 100:164].copy()
    masks = np.zeros((3, 64, 64), np.float32)
    masks[0, 10:40, 20:44] = masks[1, 0:24, 40:64] = masks[2, 30:46, 8:24] = 1
    want = np.stack([biharmonic(photo, m) for m in masks]).astype(float)
    x = torch.from_numpy(photo).permute(2, 0, 1).float()[None].expand(3, -1, -1, -1) / 127.5 - 1
    m = torch.from_numpy(masks)[:, None]
    hole = masks[..., None].repeat(3, -1) > 0
    for iters, mean_error in ((None, 1.0), (1000, 0.3)):  # the default steps, and converged
        together = biharmonic_fill(x, m, iters)
        got = ((together.permute(0, 2, 3, 1).numpy() + 1) * 127.5)
        assert np.abs(got - want)[hole].mean() < mean_error and np.abs(got - want)[hole].max() < 8
        assert np.array_equal(np.rint(got[~hole]), want[~hole])
    alone = torch.cat([biharmonic_fill(x[i:i + 1], m[i:i + 1]) for i in range(3)])
    assert (alone - biharmonic_fill(x, m)).abs().max() < 1e-3


def test_telea_without_opencv_says_what_to_install(monkeypatch, garment):
    monkeypatch.setitem(sys.modules, "cv2", None)
    with pytest.raises(VcganError, match=r"opencv-python-headless wheel: pip install 'vcgan\[eval\]'"):
        telea(garment, rectangle_mask((28, 28), 10, 10, 6, 6))


def test_nearest_upsampling_draws_no_checkerboard_where_transposed_convs_do(tmp_path):
    """A flat feature map through each untrained 2x upsampler: the paper's 4x4 stride-2
    transposed conv overlaps its kernel unevenly, so even and odd output pixels differ (the
    checkerboard a GAN phase sharpens); nearest upsampling then a conv stays flat inside."""
    import torch

    from image_gans.glcic.networks import CompletionNetwork, deconv_bn, resize_conv_bn

    torch.manual_seed(0)
    flat = torch.ones(1, 8, 12, 12)
    for block, checkered in ((deconv_bn(8, 4), True), (resize_conv_bn(8, 4), False)):
        torch.nn.init.uniform_(block[-2].bias, 0.5, 1.0)  # batch norm's shift: keep ReLU open
        with torch.no_grad():
            y = block.eval()(flat)[0, :, 2:-2, 2:-2]  # inside: no zero padding in reach
        assert y.shape[-1] == 20
        even_odd = (y[:, 0::2, 0::2] - y[:, 1::2, 1::2]).abs().max()
        assert (even_odd > 1e-3) == checkered, float(even_odd)
        if not checkered:
            assert torch.allclose(y, y[:, :1, :1].expand_as(y), atol=1e-6)
    net = CompletionNetwork(3, 64, 8, residual=True, upsample="nearest")
    assert not any(isinstance(m, torch.nn.ConvTranspose2d) for m in net.modules())
    assert net(torch.zeros(2, 3, 64, 64), torch.zeros(2, 1, 64, 64)).shape == (2, 3, 64, 64)
