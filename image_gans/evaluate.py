"""Translate images with a trained checkpoint, and judge a checkpoint on its test split:
domain accuracy, FID and KID beside the untrained generator, the identity mapping and
a real-vs-real floor; PSNR / SSIM / L1 for paired models. JSON + Markdown + PNG grid."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from vcgan.engine.checkpoint import inference_state, load_checkpoint, weights_mismatch
from vcgan.engine.registry import family_named
from vcgan.errors import CheckpointError, VcganError

from .data import list_images, read_image, to_tensor, write_image
from .grid import save_grid

FAMILIES = ("image_cyclegan", "image_stargan", "pix2pix")


class Translator:
    """A trained image generator: ``translate(x, target)`` on (n, c, h, w) batches in [-1, 1]."""

    def __init__(self, checkpoint, device: str = "cpu", untrained: bool = False):
        self.ckpt = load_checkpoint(checkpoint)
        self.meta = self.ckpt.get("meta") or {}
        self.family = self.meta.get("family")
        if self.family not in FAMILIES:
            raise CheckpointError(f"{checkpoint}: not an image model checkpoint (family {self.family!r})")
        self.config = self.ckpt.get("config") or {}
        state = None if untrained else inference_state(self.ckpt)
        if untrained:  # the same networks at their initialisation (a baseline)
            torch.manual_seed(int(self.config.get("train", {}).get("seed", 0)))
        load = family_named(self.family).load
        try:
            if self.family == "image_cyclegan":
                self.nets = {d: load(self.meta, state, d) for d in ("ab", "ba")}
            else:
                self.nets = {"g": load(self.meta, state)}
        except RuntimeError as err:  # load_state_dict: missing, unexpected or misshapen weights
            raise weights_mismatch(checkpoint, self.family, err) from None
        self.device = torch.device(device)
        for n in self.nets.values():
            n.to(self.device)

    @property
    def image(self) -> dict:
        return self.meta["image"]

    def target_code(self, target: str, n: int) -> torch.Tensor:
        domains = self.meta["domains"]
        if target not in domains:
            raise VcganError(f"unknown target domain {target!r}; this model knows {', '.join(domains)}")
        i = domains.index(target)
        if self.meta.get("attributes"):
            return torch.eye(len(domains))[i].expand(n, -1).to(self.device)
        return torch.full((n,), i, dtype=torch.long, device=self.device)

    @torch.no_grad()
    def translate(self, x: torch.Tensor, target: str | None = None, batch: int = 64) -> torch.Tensor:
        out = []
        for i in range(0, len(x), batch):
            xb = x[i:i + batch].to(self.device)
            if self.family == "image_cyclegan":
                a, b = self.meta["domains"]
                if target not in (a, b):
                    raise VcganError(f"give --target {b} (from {a}) or --target {a} (from {b})")
                out.append(self.nets["ab" if target == b else "ba"](xb))
            elif self.family == "pix2pix":
                out.append(self.nets["g"](xb))
            else:
                if target is None:
                    raise VcganError(f"give --target, one of {', '.join(self.meta['domains'])}")
                out.append(self.nets["g"](xb, None, self.target_code(target, len(xb))))
        return torch.cat(out).cpu()

    def read(self, path) -> torch.Tensor:
        """An image file as the model's input (its size and channels)."""
        img = self.image
        ch = img.get("in_channels", img["channels"])
        arr = read_image(path, (img["height"], img["width"]), ch)
        return to_tensor(arr)


def translate_paths(checkpoint, inputs, out, target: str | None = None) -> list[Path]:
    tr = Translator(checkpoint)
    inputs, out = Path(inputs), Path(out)
    files = list_images(inputs) if inputs.is_dir() else [inputs]
    if not inputs.is_dir() and not inputs.is_file():
        raise VcganError(f"{inputs}: no such file or folder")
    x = torch.stack([tr.read(p) for p in files])
    y = tr.translate(x, target)
    if inputs.is_dir() or out.suffix.lower() not in (".png", ".jpg"):
        return [write_image(out / (p.stem + ".png"), yi) for p, yi in zip(files, y)]
    return [write_image(out, y[0])]


def _tensor(images: np.ndarray) -> torch.Tensor:
    return torch.stack([to_tensor(im) for im in images])


def _pair_stats(cls, real: np.ndarray, fake: torch.Tensor, real_feats=None) -> dict:
    from .metrics import features, fid, kid

    rf = real_feats if real_feats is not None else features(cls, _tensor(real))
    ff = features(cls, fake)
    return {"fid": fid(ff, rf), "kid": kid(ff, rf)}


def _score_direction(report, key, cls, tr, untrained, x, trg, real, floor, sources=None) -> torch.Tensor:
    """Scores of translating ``x`` into domain ``trg`` by the model, the untrained generator
    and the identity mapping against ``real`` images of it, and the real-vs-real ``floor``
    (training images of the domain); returns the model's translations. With ``sources`` (the
    source domain of each image of ``x``) the model's target accuracy is also given per
    source domain, and for every system what the classifier took its outputs for."""
    from .data import FASHION_MNIST_CLASSES
    from .metrics import features, predict

    real_t = _tensor(real)
    rf = features(cls, real_t)
    label = FASHION_MNIST_CLASSES.index(trg) if trg in FASHION_MNIST_CLASSES else None
    systems = {"model": tr.translate(x, trg), "untrained generator": untrained.translate(x, trg), "identity mapping": x}
    for name, y in systems.items():
        s = _pair_stats(cls, real, y, rf)
        if label is not None:
            pred = predict(cls, y)
            s["target_accuracy"] = float((pred == label).mean())
            counts = np.bincount(pred, minlength=len(FASHION_MNIST_CLASSES)) / len(pred)
            s["classified_as"] = {FASHION_MNIST_CLASSES[c]: float(counts[c]) for c in np.argsort(-counts)
                                  if counts[c] >= 0.01}
            if sources is not None and name == "model":
                s["target_accuracy_by_source"] = {src: float((pred[sources == src] == label).mean())
                                                  for src in dict.fromkeys(sources)}
        report["systems"].setdefault(name, {})[key] = s
    floor_stats = _pair_stats(cls, real, _tensor(floor), rf)
    if label is not None:  # the classifier's accuracy on real test images of the domain: the ceiling
        floor_stats["target_accuracy"] = float((predict(cls, real_t) == label).mean())
    report["systems"].setdefault("real vs real (floor)", {})[key] = floor_stats
    return systems["model"]


def evaluate_checkpoint(checkpoint, out_dir, classifier=None, max_images: int | None = None) -> dict:
    """Scores of a checkpoint on its config's test split; writes ``scores.json``,
    ``scores.md`` and ``grid.png`` under ``out_dir``."""
    from .metrics import features, load_classifier, psnr_ssim_l1

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    tr, untrained = Translator(checkpoint), Translator(checkpoint, untrained=True)
    cfg = tr.config
    cls, cls_meta = classifier if classifier is not None else load_classifier(
        root=cfg["data"]["root"] if cfg["data"]["layout"] == "fashion_mnist" else None)
    report = {"checkpoint": str(checkpoint), "family": tr.family, "step": tr.ckpt.get("step"),
              "classifier_test_accuracy": cls_meta.get("test_accuracy"), "systems": {}}
    lim = lambda a: a[:max_images] if max_images else a  # noqa: E731
    if tr.family == "image_cyclegan":
        from .cyclegan import load_images

        test, train = load_images(cfg, "test"), load_images(cfg, "train")
        a_name, b_name = tr.meta["domains"]
        rows = []
        for src, trg in ((a_name, b_name), (b_name, a_name)):
            x, real = _tensor(lim(test[src])), lim(test[trg])
            y = _score_direction(report, f"{src}->{trg}", cls, tr, untrained, x, trg, real, train[trg][: len(real)])
            rows += [x[:8], y[:8]]
        save_grid(out_dir / "grid.png", rows)
    elif tr.family == "image_stargan":
        from .stargan import load_labelled

        images, labels, attributes = load_labelled(cfg, "test")
        tr_images, tr_labels, _ = load_labelled(cfg, "train")
        domains = tr.meta["domains"]
        if attributes:
            raise VcganError("evaluate-images measures single-label domains; attribute domains are not scored yet")
        by_domain = [lim(images[labels == t]) for t in range(len(domains))]
        rows = [_tensor(np.concatenate([d[:2] for d in by_domain])[:8])]
        for t, trg in enumerate(domains):
            x = _tensor(np.concatenate([d for s, d in enumerate(by_domain) if s != t]))
            sources = np.concatenate([[domains[s]] * len(d) for s, d in enumerate(by_domain) if s != t])
            real = by_domain[t]
            floor = tr_images[tr_labels == t][: len(real)]
            _score_direction(report, f"->{trg}", cls, tr, untrained, x, trg, real, floor, sources)
            rows.append(tr.translate(rows[0], trg))
        save_grid(out_dir / "grid.png", rows)
    else:
        from .pix2pix import load_pairs

        xs, ys = load_pairs(cfg, "test")
        x, y = _tensor(lim(xs)), _tensor(lim(ys))
        _, train_y = load_pairs(cfg, "train")
        rf = features(cls, y)
        for name, out in {"model": tr.translate(x), "untrained generator": untrained.translate(x)}.items():
            report["systems"][name] = {"test": {**_pair_stats(cls, lim(ys), out, rf), **psnr_ssim_l1(out, y)}}
        # the floor draws training targets at random: the training split is ordered by class
        pick = np.random.default_rng(0).choice(len(train_y), min(len(y), len(train_y)), replace=False)
        report["systems"]["real vs real (floor)"] = {"test": _pair_stats(cls, lim(ys), _tensor(train_y[pick]), rf)}
        xs8 = x[:8] if x.shape[1] == y.shape[1] else x[:8, :1].expand(-1, y.shape[1], -1, -1)
        save_grid(out_dir / "grid.png", [xs8, tr.translate(x[:8]), y[:8]])
    (out_dir / "scores.json").write_text(json.dumps(report, indent=1) + "\n")
    (out_dir / "scores.md").write_text(markdown(report))
    return report


def markdown(report: dict) -> str:
    keys = ["target_accuracy", "fid", "kid", "psnr", "ssim", "l1"]
    lines = [f"### {report['family']} (step {report['step']})", "",
             "| system | direction | " + " | ".join(keys) + " |", "|---|---|" + "---:|" * len(keys)]
    for name, dirs in report["systems"].items():
        for d, s in dirs.items():
            cells = [("" if s.get(k) is None else f"{s[k]:.4g}") for k in keys]
            lines.append(f"| {name} | {d} | " + " | ".join(cells) + " |")
    details = [(d, s) for d, s in report["systems"].get("model", {}).items() if "classified_as" in s]
    if details:
        lines += ["", "What the classifier took the model's translations for:", "",
                  "| direction | target accuracy by source domain | classified as |", "|---|---|---|"]
        for d, s in details:
            by_src = ", ".join(f"from {k} {v:.2f}" for k, v in s.get("target_accuracy_by_source", {}).items())
            taken = ", ".join(f"{k} {v:.2f}" for k, v in s["classified_as"].items())
            lines.append(f"| {d} | {by_src} | {taken} |")
    lines += ["", "FID/KID on the project's Fashion-MNIST classifier features (not Inception: "
              "not comparable with published FIDs). The floor's target accuracy is the classifier's "
              "on the real test images of the domain.", ""]
    return "\n".join(lines)
