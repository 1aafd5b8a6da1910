"""pix2pix (Isola et al., CVPR 2017): paired image translation = the engine's paired
objective + a U-Net generator and a conditional PatchGAN with batch norm."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from vcgan.engine.data import ResumableLoader
from vcgan.engine.distributed import launch_rank_world
from vcgan.engine.losses import reconstruction_loss
from vcgan.engine.objectives import PairedObjective
from vcgan.engine.registry import Family, register
from vcgan.errors import ConfigError

from .data import ImageDataError, ImageSet, PairedImages, list_images, read_image
from .grid import make_grid, save_grid
from .translate import Translator
from .networks import NORMS, PatchDiscriminator, UnetGenerator
from .sources import IMAGE_DATA_DEFAULTS, IMAGE_DATA_TYPES, fashion_mnist_domains, resize_set

MODEL_DEFAULTS = {
    "ngf": 64, "ndf": 64,  # paper: 64
    "down": None,  # U-Net levels; null: 8 for 256 px (paper), fewer for small images (down to 4x4)
    "d_layers": None,  # PatchGAN stride-2 layers; null: 3 (70x70) from 64 px, 2 below
    "norm": "batch",  # paper: batch norm in G and D
    "dropout": 0.5,  # in the three innermost decoder layers (the paper's noise)
}
LOSS_DEFAULTS = {"adversarial": "nonsaturating", "recon": "l1", "recon_weight": 100.0, "adv_weight": 1.0,
                 "d_scale": 0.5, "conditional_d": True}
TRAIN_DEFAULTS = {"g_lr": 2e-4, "d_lr": 2e-4, "steps": 20000, "lr_decay_start": 10000, "log_every": 50,
                  "sample_every": 1000}


def _levels(model, size):
    if model["down"]:
        return model["down"]
    levels = 1
    while size // 2 ** (levels + 1) >= 2 and levels < 8:
        levels += 1
    return max(2, levels)


class Pix2Pix(PairedObjective):
    resume_keys = ("family", "image", "model")

    def __init__(self, image: dict, model: dict, loss: dict, sample_images=None):
        c_in, c_out, size = image["in_channels"], image["channels"], min(image["height"], image["width"])
        g = UnetGenerator(c_in, c_out, model["ngf"], _levels(model, size), model["norm"], model["dropout"])
        d_in = c_in + c_out if loss["conditional_d"] else c_out
        d = PatchDiscriminator(d_in, model["ndf"], model["d_layers"] or (3 if size >= 64 else 2), model["norm"])
        super().__init__(g, d, adversarial=loss["adversarial"], adv_weight=loss["adv_weight"], recon=loss["recon"],
                         recon_weight=loss["recon_weight"], conditional_d=loss["conditional_d"],
                         d_scale=loss["d_scale"])
        self.image, self.model_cfg = dict(image), dict(model)
        self.sample_images = sample_images

    def metadata(self):
        return {"family": "pix2pix", "image": self.image, "model": self.model_cfg}

    def samples(self, step):
        if self.sample_images is None:
            return []
        dev = next(self.parameters()).device
        x, y = (t.to(dev) for t in self.sample_images)
        xs = x if x.shape[1] == y.shape[1] else x[:, :1].expand_as(y)
        return [("image", "translations/input_output_target", make_grid([xs, self.generators["g"](x), y]))]


def edge_map(image: np.ndarray, sigma: float = 1.0) -> np.ndarray:
    """Canny edges of a uint8 image as uint8 (255 on edges)."""
    from skimage.feature import canny

    gray = image if image.ndim == 2 else image.mean(-1)
    return (canny(gray.astype(np.float64) / 255.0, sigma=sigma) * 255).astype(np.uint8)


def load_pairs(cfg: dict, split: str) -> tuple[np.ndarray, np.ndarray]:
    """(inputs, targets) uint8 arrays of a split."""
    data = cfg["data"]
    layout = data["layout"]
    if layout == "fashion_mnist":  # edges -> image, over the chosen classes (all when none given)
        names = data["domains"] or ["t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt",
                                    "sneaker", "bag", "ankle-boot"]
        per = fashion_mnist_domains(names, split, data["root"], data["max_images"])
        targets = resize_set(np.concatenate(list(per.values())), data["image_size"], data["channels"])
        return np.stack([edge_map(t) for t in targets]), targets
    root = Path(data["root"] or "")
    if not data["root"]:
        raise ConfigError(f"config key 'data.root': the {layout} layout needs a dataset folder")
    if layout == "aligned":  # junyanz: root/<split>/*.jpg with A|B side by side
        files = list_images(root / split)[: data["max_images"] or None]
        both = [read_image(p, None, data["channels"]) for p in files]
        for p, im in zip(files, both):
            if im.shape[1] % 2:
                raise ImageDataError(f"{p}: an aligned A|B image needs an even width, got {im.shape[1]}")
        halves = [(im[:, : im.shape[1] // 2], im[:, im.shape[1] // 2:]) for im in both]
        if data["image_size"]:
            from PIL import Image

            s = data["image_size"]
            halves = [tuple(np.asarray(Image.fromarray(h).resize((s, s), Image.BICUBIC)) for h in pair)
                      for pair in halves]
        return np.stack([a for a, _ in halves]), np.stack([b for _, b in halves])
    if layout == "folders":  # root/<split>/A/x.png and root/<split>/B/x.png
        a_files = list_images(root / split / "A")[: data["max_images"] or None]
        b_dir = root / split / "B"
        missing = [p.name for p in a_files if not (b_dir / p.name).is_file()]
        if missing:
            raise ImageDataError(f"{b_dir}: no target for {len(missing)} input(s), e.g. {missing[0]}")
        size, ch = data["image_size"], data["channels"]
        return (np.stack([read_image(p, size, ch) for p in a_files]),
                np.stack([read_image(b_dir / p.name, size, ch) for p in a_files]))
    raise ConfigError(f"config key 'data.layout': {layout!r}; pix2pix reads fashion_mnist, aligned or folders")


def _image(x: np.ndarray, y: np.ndarray) -> dict:
    ch = lambda a: 1 if a.ndim == 3 else a.shape[-1]  # noqa: E731
    return {"in_channels": ch(x), "channels": ch(y), "height": y.shape[1], "width": y.shape[2]}


def build(cfg: dict):
    data = cfg["data"]
    x, y = load_pairs(cfg, "train")
    try:
        tx, ty = load_pairs(cfg, "test")
        sample = (torch.stack([ImageSet(tx, "x").tensor(i) for i in range(min(8, len(tx)))]),
                  torch.stack([ImageSet(ty, "y").tensor(i) for i in range(min(8, len(ty)))]))
    except (ImageDataError, ConfigError):
        sample = None
    model = Pix2Pix(_image(x, y), cfg["model"], cfg["loss"], sample_images=sample)
    rank, world = launch_rank_world()
    dataset = PairedImages(ImageSet(x, "inputs", data["flip"]), ImageSet(y, "targets", data["flip"]))
    return model, ResumableLoader(dataset, data["batch_size"], seed=int(cfg["train"]["seed"]), rank=rank,
                                  world=world, num_workers=data["num_workers"])


def synthetic(cfg: dict):
    size = cfg["data"]["image_size"] or 28
    rng = np.random.default_rng(0)
    y = rng.integers(0, 256, (16, size, size), dtype=np.uint8)
    x = np.stack([edge_map(t) for t in y])
    model = Pix2Pix(_image(x, y), cfg["model"], cfg["loss"])
    return model, ResumableLoader(PairedImages(ImageSet(x), ImageSet(y)), cfg["data"]["batch_size"])


def load_generator(meta: dict, state: dict | None) -> torch.nn.Module:
    model = Pix2Pix(meta["image"], meta["model"], LOSS_DEFAULTS)
    g = model.generators["g"]
    if state is not None:  # None: the generator as initialised (a baseline)
        g.load_state_dict({k[len("generators.g."):]: v for k, v in state.items() if k.startswith("generators.g.")})
    return g.eval()


class Pix2PixTranslator(Translator):
    """A paired translator: one input domain, one output domain, no target to choose."""

    def networks(self, state):
        return {"g": load_generator(self.meta, state)}

    def details(self):
        return {**super().details(), "maps": "input images (e.g. edge maps) -> output images (paired)"}

    def translate_batch(self, x, target):
        return self.nets["g"](x)

    def domain_images(self, split):
        """Inputs and targets as two domains (the classifier tells outputs from inputs)."""
        xs, ys = load_pairs(self.config, split)
        ch = ys.shape[-1] if ys.ndim == 4 else 1
        if ch == 3 and xs.ndim == 3:
            xs = np.repeat(xs[..., None], 3, axis=-1)
        return {"input": xs, "target": ys}

    def score_test(self, report, cls, untrained, limit, out_dir):
        from .evaluate import add_interval, as_tensor, pair_stats
        from .metrics import features, psnr_ssim_l1

        if self.config["data"]["layout"] != "fashion_mnist":
            report["classifier_note"] = ("the classifier of this paired dataset tells its inputs from its targets; "
                                         "FID/KID on its features are a coarse measure of outputs against targets")

        xs, ys = load_pairs(self.config, "test")
        x, y = as_tensor(limit(xs)), as_tensor(limit(ys))
        _, train_y = load_pairs(self.config, "train")
        rf = features(cls, y)
        per_image = {}
        for name, out in {"model": self.translate(x), "untrained generator": untrained.translate(x)}.items():
            per_image[name] = psnr_ssim_l1(out, y, per_image=True)
            means = {m: float(np.mean(v)) for m, v in per_image[name].items()}
            report["systems"][name] = {"test": {**pair_stats(cls, limit(ys), out, rf), **means}}
        for m in ("psnr", "ssim", "l1"):
            add_interval(report, "model - untrained generator", "test", m, per_image["model"][m],
                         per_image["untrained generator"][m])
        # the floor draws training targets at random: the training split is ordered by class
        pick = np.random.default_rng(0).choice(len(train_y), min(len(y), len(train_y)), replace=False)
        report["systems"]["real vs real (floor)"] = {"test": pair_stats(cls, limit(ys), as_tensor(train_y[pick]), rf)}
        xs8 = x[:8] if x.shape[1] == y.shape[1] else x[:8, :1].expand(-1, y.shape[1], -1, -1)
        save_grid(out_dir / "grid.png", [xs8, self.translate(x[:8]), y[:8]])


def check(cfg: dict) -> None:
    if cfg["model"]["norm"] not in NORMS:
        raise ConfigError(f"config key 'model.norm': expected one of {NORMS}, got {cfg['model']['norm']!r}")
    reconstruction_loss(cfg["loss"]["recon"], "config key 'loss.recon'")


FAMILY = register(Family(
    name="pix2pix", tasks=("pix2pix",), defaults=lambda task: {
        "data": {**IMAGE_DATA_DEFAULTS, "layout": "fashion_mnist"}, "model": dict(MODEL_DEFAULTS),
        "loss": dict(LOSS_DEFAULTS), "train": dict(TRAIN_DEFAULTS)},
    build=build, load=Pix2PixTranslator.loader(), applies="translate", synthetic=synthetic, check=check,
    types={**IMAGE_DATA_TYPES, "model.down": int, "model.d_layers": int,
           **{f"loss.{k}": "schedule" for k in ("recon_weight", "adv_weight")}},
    minimums=[("data.batch_size", 1), ("model.ngf", 1), ("model.ndf", 1), ("data.image_size", 8)],
    description="paired image translation (pix2pix)",
))
