#!/usr/bin/env python3
"""Two pix2pix checkpoints on the same test images: PSNR, SSIM and L1 of each, and the paired
bootstrap 95% interval of each difference (first minus second) over the images.

    python local/compare.py exp/cpu/train/checkpoints/latest.pt exp/l1/train/checkpoints/latest.pt \
        --names "pix2pix,L1-only U-Net" [--max-images N]
"""
import argparse

import numpy as np

import vcgan
from image_gans.evaluate import as_tensor
from image_gans.metrics import psnr_ssim_l1
from image_gans.pix2pix import load_pairs
from vcgan.report import interval_text, paired_bootstrap


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("first")
    ap.add_argument("second")
    ap.add_argument("--names", default="first,second")
    ap.add_argument("--max-images", type=int, default=None)
    a = ap.parse_args()
    names = a.names.split(",")
    models = [vcgan.load(p, "translate") for p in (a.first, a.second)]
    xs, ys = load_pairs(models[0].config, "test")
    if a.max_images:
        xs, ys = xs[:a.max_images], ys[:a.max_images]
    x, y = as_tensor(xs), as_tensor(ys)
    scores = [psnr_ssim_l1(m.translate(x), y, per_image=True) for m in models]
    print(f"{len(y)} test images")
    print("| measure | " + " | ".join(names) + f" | {names[0]} - {names[1]}, 95% interval |")
    print("|---|---:|---:|---:|")
    for m in ("psnr", "ssim", "l1"):
        ci = paired_bootstrap(np.asarray(scores[0][m]), np.asarray(scores[1][m]))
        print(f"| {m} | {np.mean(scores[0][m]):.3f} | {np.mean(scores[1][m]):.3f} | {interval_text(ci, 3)} |")


if __name__ == "__main__":
    main()
