#!/usr/bin/env python3
"""Upscale an image grid (as ``image_gans.grid.save_grid`` writes it) and label its rows and columns.

The grids of the image recipes hold 28x28 tiles with 2 px of padding, about 240 px wide: too
small to read on a page. This script enlarges a grid by nearest neighbour (every pixel becomes a
k x k block, so nothing is smoothed or invented) and adds a margin with one label per row on the
left and one per column on top, in Pillow's default font. Pillow only.

    python docs/tools/upscale_grid.py IN.png OUT.png --rows "a|b|c" --cols "1|2|3" [--scale 4]
    python docs/tools/upscale_grid.py --all      # regenerate docs/images/*_labelled.png

A grid that was already enlarged by an integer factor (docs/images/pix2pix_fashion_mnist.png is
3x) is detected and reduced to its original pixels first, so ``--tile`` and ``--pad`` always
describe the grid as ``save_grid`` wrote it.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

IMAGES = Path(__file__).resolve().parent.parent / "images"
TOPS = ["t-shirt", "t-shirt", "pullover", "pullover", "shirt", "shirt", "coat", "coat"]
NUMBERS = [str(i) for i in range(1, 9)]

# The grids the docs show: rows as image_gans/evaluate.py builds them (pix2pix: a grid made for
# the docs with the L1-only U-Net as a third row). Columns checked against the Fashion-MNIST test
# split: the first 8 test images of a class, or for StarGAN the first 2 of each of the four tops.
FIGURES = {
    "image_cyclegan_fashion_mnist.png": dict(
        title="CycleGAN, sneaker <-> ankle boot: the first 8 test images of each class",
        rows=["test sneakers", "-> ankle boot", "test ankle boots", "-> sneaker"], cols=NUMBERS),
    "image_stargan_fashion_mnist.png": dict(
        title="StarGAN (the table's run): test tops (class above) and their translations to each class",
        rows=["input (test)", "-> t-shirt", "-> pullover", "-> shirt", "-> coat"], cols=TOPS),
    "image_stargan_fashion_mnist_amx.png": dict(
        title="StarGAN (AMX run): test tops (class above) and their translations to each class",
        rows=["input (test)", "-> t-shirt", "-> pullover", "-> shirt", "-> coat"], cols=TOPS),
    "pix2pix_fashion_mnist.png": dict(
        title="pix2pix, Canny edges -> image: the first 8 test t-shirts/tops",
        rows=["Canny edges", "pix2pix", "L1-only U-Net", "real image"], cols=NUMBERS),
}


def font(size: int):
    try:
        return ImageFont.load_default(size=size)  # Pillow >= 10.1 with FreeType
    except TypeError:
        return ImageFont.load_default()  # the bitmap font


def text_size(draw: ImageDraw.ImageDraw, text: str, fnt) -> tuple[int, int]:
    left, top, right, bottom = draw.textbbox((0, 0), text, font=fnt)
    return right - left, bottom - top


def prior_scale(im: Image.Image) -> int:
    """The largest integer k such that the image is an exact k-fold nearest-neighbour enlargement."""
    for k in range(8, 1, -1):
        if im.width % k or im.height % k:
            continue
        small = im.resize((im.width // k, im.height // k), Image.NEAREST)
        if small.resize(im.size, Image.NEAREST).tobytes() == im.tobytes():
            return k
    return 1


def upscale_grid(src, dst, rows: list[str], cols: list[str], scale: int = 4, tile: int = 28,
                 pad: int = 2, title: str = "", font_size: int = 16) -> None:
    im = Image.open(src).convert("RGB")
    k = prior_scale(im)
    if k > 1:
        im = im.resize((im.width // k, im.height // k), Image.NEAREST)
    n_rows, n_cols = (im.height - pad) // (tile + pad), (im.width - pad) // (tile + pad)
    if (n_rows * (tile + pad) + pad, n_cols * (tile + pad) + pad) != (im.height, im.width):
        raise SystemExit(f"{src}: {im.width}x{im.height} px is not a grid of {tile}-px tiles with {pad}-px padding")
    if (len(rows), len(cols)) != (n_rows, n_cols):
        raise SystemExit(f"{src}: {n_rows} rows x {n_cols} columns, got {len(rows)} row and {len(cols)} column labels")
    big = im.resize((im.width * scale, im.height * scale), Image.NEAREST)
    cell, off = (tile + pad) * scale, pad * scale

    fnt = font(font_size)
    probe = ImageDraw.Draw(big)
    line_h = text_size(probe, "Ag->", fnt)[1]
    gap = font_size // 2
    left = max(text_size(probe, r, fnt)[0] for r in rows) + 2 * gap
    top = (line_h + gap if title else 0) + line_h + 2 * gap
    out = Image.new("RGB", (left + big.width + gap, top + big.height + gap), "white")
    out.paste(big, (left, top))
    draw = ImageDraw.Draw(out)
    if title:
        draw.text((gap, gap), title, fill="black", font=fnt)
    for i, label in enumerate(rows):
        w, h = text_size(draw, label, fnt)
        y = top + off + i * cell + (tile * scale - h) // 2
        draw.text((left - gap - w, y), label, fill="black", font=fnt)
    for j, label in enumerate(cols):
        w, _ = text_size(draw, label, fnt)
        x = left + off + j * cell + (tile * scale - w) // 2
        draw.text((x, top - gap - line_h), label, fill="black", font=fnt)
    out.save(dst, optimize=True)
    print(f"{dst}: {out.width}x{out.height} px ({n_rows} rows x {n_cols} columns, x{scale}"
          f"{f', source reduced from x{k}' if k > 1 else ''})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("src", nargs="?")
    ap.add_argument("dst", nargs="?")
    ap.add_argument("--rows", help="row labels, separated by |")
    ap.add_argument("--cols", help="column labels, separated by |")
    ap.add_argument("--title", default="")
    ap.add_argument("--scale", type=int, default=4)
    ap.add_argument("--tile", type=int, default=28, help="tile size in the grid as written (px)")
    ap.add_argument("--pad", type=int, default=2, help="padding between tiles as written (px)")
    ap.add_argument("--all", action="store_true", help="regenerate every labelled grid of docs/images")
    args = ap.parse_args()
    if args.all:
        for name, spec in FIGURES.items():
            upscale_grid(IMAGES / name, IMAGES / name.replace(".png", "_labelled.png"), scale=args.scale, **spec)
        return
    if not (args.src and args.dst and args.rows and args.cols):
        ap.error("give SRC DST --rows ... --cols ..., or --all")
    upscale_grid(args.src, args.dst, args.rows.split("|"), args.cols.split("|"), args.scale, args.tile,
                 args.pad, args.title)


if __name__ == "__main__":
    main()
