"""Scoring a completion network on held-out images with held-out holes: PSNR and SSIM inside
the holes and the Frechet distance of the completed images, beside mean fill, OpenCV's Telea
inpainting, biharmonic inpainting, the untrained network and any other completion checkpoints
(e.g. the end of the MSE-only phase). JSON + Markdown + a PNG grid."""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch

from vcgan.errors import VcganError
from vcgan.report import interval_text, paired_bootstrap, write_report

from ..data import center_crop, to_tensor
from ..grid import save_grid
from .complete import Completer, as_uint8
from .masks import random_hole
from .prefill import harmonic_fill

MASK_SEED = 2017  # the evaluation holes; training draws its holes from the run's own stream


def held_out_masks(n: int, size: int, seed: int = MASK_SEED) -> np.ndarray:
    """``n`` holes of the training distribution's sizes from a fixed stream of their own."""
    rng = np.random.default_rng(seed)
    return np.stack([random_hole(size, rng)[0] for _ in range(n)])


def hole_scores(pred: np.ndarray, target: np.ndarray, masks: np.ndarray) -> dict:
    """Per image: PSNR [dB] over the hole's pixels and the mean of the SSIM map over them
    (uint8 images, so both on [0, 1])."""
    from skimage.metrics import structural_similarity

    psnr, ssim = [], []
    for p, t, m in zip(pred, target, masks):
        p, t = p.astype(np.float64) / 255.0, t.astype(np.float64) / 255.0
        hole = m > 0.5
        err = ((p - t) ** 2)[hole].mean()
        psnr.append(float(10 * np.log10(1.0 / max(err, 1e-10))))
        channel = -1 if p.ndim == 3 else None
        _, smap = structural_similarity(t, p, data_range=1.0, channel_axis=channel, full=True, win_size=7)
        smap = smap.mean(-1) if smap.ndim == 3 else smap
        ssim.append(float(smap[hole].mean()))
    return {"psnr": psnr, "ssim": ssim}


def classifier_for(model: Completer, retrain: bool = False):
    """The image measures' classifier for the model's dataset: Fashion-MNIST's ten classes, or
    for the photos one that tells the training photos apart (trained on their tiles, tested on
    tiles shifted by a quarter); None for a folder of unlabelled images."""
    data = model.config["data"]
    if data["layout"] == "fashion_mnist":
        from ..metrics import load_classifier

        return load_classifier(retrain=retrain)
    if data["layout"] == "photos":
        from ..metrics import domain_classifier
        from ..photos import load_photos, tiles

        photos = load_photos("train", int(data["photo_side"]))
        size = model.image["size"]
        train = {n: tiles({n: p}, size, size // 4) for n, p in photos.items()}
        test = {n: tiles({n: p[size // 8:, size // 8:]}, size, size // 2) for n, p in photos.items()}
        return domain_classifier(train, test, f"the training photos as {size}-px tiles", retrain=retrain)
    return None


def evaluate_completion(model: Completer, out_dir, others: dict | None = None, split: str = "test",
                        max_images: int | None = 2000, classifier=None, blend: bool = False,
                        seed: int | None = None) -> dict:
    """Scores of ``model`` and the baselines on ``split`` (``test``, or ``dev`` while choosing
    settings); ``others``: name -> Completer (e.g. the end of phase 1); ``seed``: the held-out
    holes' (None: ``MASK_SEED``). Writes scores.json, scores.md and grid.png under ``out_dir``."""
    from ..metrics import fd_interval, features, fid
    from . import baselines
    from .family import load_split

    out_dir = Path(out_dir)
    images = load_split({**model.config["data"], "max_images": None}, split)
    if max_images:
        images = images[np.random.default_rng(0).permutation(len(images))[:max_images]] if len(images) > max_images \
            else images
    size = model.image["size"]
    if images.shape[1] != size:
        raise VcganError(f"{split} images are {images.shape[1]} px, the model was trained on {size} px")
    seed = MASK_SEED if seed is None else seed
    masks = held_out_masks(len(images), size, seed)
    x = torch.stack([to_tensor(im) for im in images])
    m = torch.from_numpy(masks)[:, None]
    fill = np.round((np.asarray(model.meta["fill"]) + 1) * 127.5)
    systems, seconds = {}, {}

    def timed(name, fn):
        t0 = time.perf_counter()
        systems[name] = fn()
        seconds[name] = (time.perf_counter() - t0) / len(images)

    timed("mean fill", lambda: np.stack([baselines.mean_fill(im, mk, fill) for im, mk in zip(images, masks)]))
    timed("telea", lambda: np.stack([baselines.telea(im, mk) for im, mk in zip(images, masks)]))
    timed("biharmonic", lambda: np.stack([baselines.biharmonic(im, mk) for im, mk in zip(images, masks)]))
    timed("harmonic", lambda: as_uint8(torch.cat([harmonic_fill(x[i:i + 256], m[i:i + 256])
                                                  for i in range(0, len(x), 256)])))  # batched: one image is ms
    untrained = Completer(model.path, model.checkpoint, model.family, untrained=True)
    timed("untrained network", lambda: as_uint8(untrained.complete(x, m)))
    for name, other in (others or {}).items():
        timed(name, lambda o=other: as_uint8(o.complete(x, m)))
    timed("model", lambda: as_uint8(model.complete(x, m)))
    if blend:
        timed("model + Poisson blending", lambda: as_uint8(model.apply(x, m, "poisson")))
    scores = {name: hole_scores(y, images, masks) for name, y in systems.items()}

    report = {"family": "glcic", "checkpoint": str(model.path), "step": model.checkpoint.get("step"),
              "split": split, "images": len(images), "image_size": size, "mask_seed": seed,
              "others": {k: str(o.path) for k, o in (others or {}).items()},
              "systems": {}, "intervals": {}}
    cls = classifier if classifier is not None else classifier_for(model)
    feats, real_feats = {}, None
    # Fashion-MNIST's classifier sees the 28-px garment the padding surrounds
    crop = 28 if model.config["data"]["layout"] == "fashion_mnist" and size > 28 else None
    view = (lambda t: center_crop(t, crop)) if crop else (lambda t: t)  # noqa: E731
    if cls is not None:
        net, meta = cls
        real_feats = features(net, view(x))
        report["classifier"] = {"trained_on": meta.get("trained_on"), "test_accuracy": meta.get("test_accuracy")}
    for name, y in systems.items():
        s = {"psnr": float(np.mean(scores[name]["psnr"])), "ssim": float(np.mean(scores[name]["ssim"])),
             "seconds_per_image": seconds[name]}
        if real_feats is not None:
            feats[name] = features(cls[0], view(torch.stack([to_tensor(im) for im in y])))
            s["fd"] = fid(feats[name], real_feats)
        report["systems"][name] = s
    for name in systems:
        if name == "model":
            continue
        iv = {k: paired_bootstrap(scores["model"][k], scores[name][k]) for k in ("psnr", "ssim")}
        if real_feats is not None:
            iv["fd"] = fd_interval(feats["model"], feats[name], real_feats, resamples=200, paired=True)
        report["intervals"][f"model - {name}"] = iv
    write_report(out_dir / "scores", report, markdown(report))
    rows = [torch.from_numpy(np.stack([to_uint8_masked(im, mk) for im, mk in zip(images[:8], masks[:8])]))]
    rows += [torch.from_numpy(systems[k][:8]) for k in systems]
    rows.append(torch.from_numpy(images[:8]))
    save_grid(out_dir / "grid.png", [as_float(r) for r in rows])
    return report


def to_uint8_masked(im: np.ndarray, mask: np.ndarray) -> np.ndarray:
    out = im.copy()
    out[mask > 0.5] = 255
    return out


def as_float(u8: torch.Tensor) -> torch.Tensor:
    x = u8.float() / 127.5 - 1
    return x[:, None] if x.dim() == 3 else x.permute(0, 3, 1, 2)


def markdown(report: dict) -> str:
    has_fd = any("fd" in s for s in report["systems"].values())
    lines = [f"### Completion on {report['images']} held-out {report['split']} images ({report['image_size']} px; "
             f"holes a quarter to a half of the side, mask seed {report['mask_seed']}; step {report['step']})", "",
             "| system | PSNR in hole [dB] | SSIM in hole |" + (" Frechet distance |" if has_fd else "")
             + " ms / image |", "|---|---:|---:|" + ("---:|" if has_fd else "") + "---:|"]
    for name, s in report["systems"].items():
        lines.append(f"| {name} | {s['psnr']:.2f} | {s['ssim']:.3f} |" + (f" {s['fd']:.2f} |" if has_fd else "")
                     + f" {1000 * s['seconds_per_image']:.2f} |")
    lines += ["", "| difference | PSNR [dB] | SSIM |" + (" FD |" if has_fd else ""),
              "|---|---:|---:|" + ("---:|" if has_fd else "")]
    for k, iv in report["intervals"].items():
        fd = iv.get("fd")
        fd_text = f" {fd['difference']:+.2f} [{fd['low']:+.2f}, {fd['high']:+.2f}] |" if fd else ""
        lines.append(f"| {k} | {interval_text(iv['psnr'])} | {interval_text(iv['ssim'], 3)} |{fd_text}")
    if "classifier" in report:
        c = report["classifier"]
        lines += ["", f"Frechet distance: the completed images against the originals, on the features of the classifier "
                  f"of {c['trained_on']} (test accuracy {c['test_accuracy']:.3f}); 95% intervals by paired bootstrap over "
                  "images (FD: 200 resamples of images, the same draw for both systems and the originals)."]
    return "\n".join(lines) + "\n"
