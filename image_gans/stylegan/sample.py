"""A trained unconditional generator as ``vcgan sample`` and ``vcgan evaluate-images`` apply it."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from vcgan.engine.checkpoint import inference_state, weights_mismatch
from vcgan.engine.inference import InferenceModel
from vcgan.errors import CheckpointError, VcganError

from ..data import center_crop, write_image
from ..grid import save_array, save_grid
from .family import build_networks, load_images, view_grids
from .networks import StyleGenerator


class Sampler(InferenceModel):
    """Samples of a trained generator: ``sample(n, seed, psi)`` gives (n, c, h, w) in [-1, 1],
    the same for the same seed. ``untrained=True``: the generator as initialised (a baseline)."""

    purpose = "image generation"

    def __init__(self, path, checkpoint: dict, family, device: str = "cpu", untrained: bool = False):
        super().__init__(path, checkpoint, family)
        try:
            task, image, model = self.meta["task"], self.meta["image"], self.meta["model"]
        except KeyError as err:
            raise CheckpointError(f"{path}: {family.name} checkpoint without {err} in its metadata") from None
        if untrained:
            torch.manual_seed(int(self.config.get("train", {}).get("seed", 0)))
        g, _ = build_networks(task, image, model)
        if not untrained:
            prefix = "generators.g."
            state = inference_state(checkpoint)
            try:
                g.load_state_dict({k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)})
            except RuntimeError as err:
                raise weights_mismatch(path, family.name, err) from None
        self.device = torch.device(device)
        self.g = g.eval().to(self.device)
        self.kind, self.image, self.model_cfg = task, image, model

    @property
    def style_based(self) -> bool:
        return isinstance(self.g, StyleGenerator)

    def details(self) -> dict:
        img = self.image
        out = {"generates": f"{img['size']}x{img['size']} images, {img['channels']} channel(s)",
               "latent": f"{self.g.z_dim}-d z"}
        if self.style_based:
            out["styles"] = f"{self.g.num_layers} layers of {self.g.w_dim}-d w; display truncation psi " \
                            f"{self.model_cfg['truncation_psi']} on the first {self.model_cfg['truncation_layers']}"
        return out

    def check_psi(self, psi):
        if psi is None:
            return 1.0
        if not self.style_based and psi != 1.0:
            raise VcganError(f"--psi: the truncation trick needs a style-based generator; this is a {self.kind} "
                             "checkpoint (leave --psi out)")
        if not 0.0 <= psi <= 1.0:
            raise VcganError(f"--psi: from 0 (the average image) to 1 (no truncation), got {psi}")
        return float(psi)

    @torch.no_grad()
    def sample(self, n: int, seed: int = 0, psi: float | None = None, layers: int | None = None,
               batch: int = 256) -> torch.Tensor:
        """``n`` images from ``seed``: latents and noise come from one generator seeded with it.
        ``psi`` truncates the first ``layers`` styles (default: all) towards the average w."""
        if n < 1:
            raise VcganError(f"-n: at least one image, got {n}")
        psi = self.check_psi(psi)
        gen = torch.Generator().manual_seed(int(seed))
        z = torch.randn(n, self.g.z_dim, generator=gen)
        noise = self.g.synthesis.make_noise(n, generator=gen) if self.style_based else None
        out = []
        for i in range(0, n, batch):
            zi = z[i:i + batch].to(self.device)
            if self.style_based:
                ni = [t[i:i + batch].to(self.device) for t in noise]
                out.append(self.g(zi, psi=psi, truncation_layers=layers, noise=ni).float().cpu())
            else:
                out.append(self.g(zi).float().cpu())
        return torch.cat(out).clamp(-1, 1)

    def apply(self, n: int = 16, seed: int = 0, psi: float | None = None) -> torch.Tensor:
        return self.sample(n, seed, psi)

    def apply_paths(self, out, n: int = 16, seed: int = 0, psi: float | None = None, grids: bool = False) -> list[Path]:
        """``n`` PNGs ``out/seed<S>_<i>.png`` and ``out/grid.png``; ``grids``: also the
        style-mixing grid, the truncation sweep and latent interpolations (StyleGAN; DCGAN:
        interpolations only). Nothing is written when an argument is wrong."""
        psi = self.check_psi(psi)
        out = Path(out)
        if out.exists() and not out.is_dir():
            raise VcganError(f"{out}: exists and is not a folder")
        x = self.sample(n, seed, psi)
        out.mkdir(parents=True, exist_ok=True)
        written = [write_image(out / f"seed{seed}_{i:05d}.png", xi) for i, xi in enumerate(x)]
        cols = int(np.ceil(np.sqrt(min(n, 64))))
        show = x[:cols * (min(n, 64) // cols)]
        save_grid(out / "grid.png", list(show.split(cols)))
        written.append(out / "grid.png")
        if grids:
            for name, grid in self.views(seed, psi).items():
                save_array(out / f"{name}.png", grid)
                written.append(out / f"{name}.png")
        return written

    def views(self, seed: int = 0, psi: float = 1.0) -> dict:
        z = torch.randn(12, self.g.z_dim, generator=torch.Generator().manual_seed(int(seed))).to(self.device)
        return view_grids(self.g, z, psi, self.model_cfg.get("truncation_layers"))

    def real_images(self, split: str) -> np.ndarray:
        return load_images({**self.config["data"], "max_images": None}, split)


# ------------------------------------------------------------------- evaluation
def evaluate_samplers(samplers: dict, out_dir, n: int = 5000, seed: int = 0, classifier=None,
                      resamples: int = 200) -> dict:
    """Fashion-MNIST generators scored on the classifier the image measures use: Frechet distance
    of its features to the test set, class coverage and mean confidence, for each named sampler,
    the first one's untrained generator and a real-vs-real floor (``n`` training images against
    the test set). Bootstrap 95% intervals (samples and test images resampled together) on each
    system's FD minus the first one's. Writes scores.json, scores.md and grid.png."""
    from vcgan.report import write_report

    from ..data import FASHION_MNIST_CLASSES
    from ..evaluate import as_tensor
    from ..metrics import fd_interval, features, fid, load_classifier

    first = next(iter(samplers.values()))
    for name, s in samplers.items():
        if s.config["data"]["layout"] != "fashion_mnist":
            raise VcganError(f"{name}: generator measures need labelled classes; {s.path} was trained on a "
                             f"{s.config['data']['layout']} dataset (Fashion-MNIST layouts only)")
    cls, cls_meta = classifier if classifier is not None else load_classifier()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)

    def to_cls(x):  # the classifier sees the 28-px garment the padding surrounds
        return center_crop(x, 28) if x.shape[-1] > 28 else x

    test = first.real_images("test")
    test_t = to_cls(as_tensor(test))
    rf = features(cls, test_t)
    systems = dict(samplers)
    untrained = type(first)(first.path, first.checkpoint, first.family, untrained=True)
    systems[f"{next(iter(samplers))} (untrained)"] = untrained
    feats, report_sys, images = {}, {}, {}
    for name, s in systems.items():
        x = to_cls(s.sample(n, seed))
        images[name] = x[:8]
        feats[name] = features(cls, x)
        report_sys[name] = {**class_stats(cls, x, FASHION_MNIST_CLASSES), "fd": fid(feats[name], rf)}
    train = first.real_images("train")
    real = to_cls(as_tensor(train[np.random.default_rng(seed).permutation(len(train))[:n]]))
    feats["real vs real (floor)"] = features(cls, real)
    report_sys["real vs real (floor)"] = {**class_stats(cls, real, FASHION_MNIST_CLASSES),
                                          "fd": fid(feats["real vs real (floor)"], rf)}
    names = list(report_sys)
    ref = names[0]
    intervals = {f"{name} - {ref}": fd_interval(feats[name], feats[ref], rf, resamples, seed)
                 for name in names[1:]}
    report = {"checkpoints": {k: str(s.path) for k, s in samplers.items()}, "samples": n, "seed": seed,
              "test_images": len(test), "classifier_test_accuracy": cls_meta.get("test_accuracy"),
              "steps": {k: s.checkpoint.get("step") for k, s in samplers.items()},
              "systems": report_sys, "fd_intervals": intervals}
    write_report(out_dir / "scores", report, markdown(report))
    save_grid(out_dir / "grid.png", list(images.values()) + [real[:8]])
    return report


def class_stats(cls, x: torch.Tensor, classes) -> dict:
    cls.eval()
    with torch.no_grad():
        p = torch.cat([torch.softmax(cls(x[i:i + 500].float()), 1) for i in range(0, len(x), 500)]).numpy()
    share = np.bincount(p.argmax(1), minlength=len(classes)) / len(p)
    return {"classes_present": int((share > 0).sum()), "largest_class_share": float(share.max()),
            "mean_confidence": float(p.max(1).mean()),
            "class_shares": {c: round(float(s), 4) for c, s in zip(classes, share)}}


def markdown(report: dict) -> str:
    lines = [f"### Generators on Fashion-MNIST ({report['samples']} samples each, seed {report['seed']}; "
             f"{report['test_images']} test images)", "",
             "| system | Frechet distance | classes present | largest class | mean confidence |",
             "|---|---:|---:|---:|---:|"]
    for name, s in report["systems"].items():
        lines.append(f"| {name} | {s['fd']:.2f} | {s['classes_present']} | {100 * s['largest_class_share']:.1f}% | "
                     f"{s['mean_confidence']:.3f} |")
    lines += ["", "| difference | FD | 95% interval |", "|---|---:|---:|"]
    for k, v in report["fd_intervals"].items():
        lines.append(f"| {k} | {v['difference']:+.2f} | [{v['low']:+.2f}, {v['high']:+.2f}] |")
    return "\n".join(lines) + "\n"
