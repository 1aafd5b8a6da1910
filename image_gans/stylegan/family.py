"""StyleGAN (and a DCGAN beside it) = the engine's unconditional objective + the networks of
:mod:`.networks` + a pile of images (Fashion-MNIST padded to 32x32, or any folder).

Tasks: ``stylegan`` and ``dcgan``; both are applied by ``vcgan sample``.
"""
from __future__ import annotations

import copy
import math

import numpy as np
import torch

from vcgan.engine.data import ResumableLoader
from vcgan.engine.distributed import launch_rank_world
from vcgan.engine.objectives import UnconditionalObjective
from vcgan.engine.registry import Family, register
from vcgan.errors import ConfigError

from ..data import ImageDataError, ImageSet, list_images, load_fashion_mnist, pad_to, read_image
from ..grid import make_grid
from .networks import (DCGANDiscriminator, DCGANGenerator, StyleDiscriminator, StyleGenerator, crossover)

TASKS = ("stylegan", "dcgan")

DATA_DEFAULTS = {
    "layout": "fashion_mnist",  # fashion_mnist (all ten classes, 28 px padded to 32) | folder (data.root/*.png ...)
    "root": None,  # fashion_mnist: null finds Debian's dataset-fashion-mnist; folder: the image folder
    "image_size": 32,  # a power of two: folder images are resized to it; Fashion-MNIST is padded to it (>= 32)
    "channels": None,  # 1 or 3; null: as stored (Fashion-MNIST: 1)
    "max_images": None,  # the first N images only (quick runs)
    "flip": False,  # random horizontal flips
    "batch_size": 16,
    "num_workers": 0,
}
STYLEGAN_MODEL = {
    "z_dim": 128,  # paper: 512
    "w_dim": 128,  # paper: 512
    "mapping_layers": 8,
    "channel_base": 4096,  # channels at resolution r: min(channel_base / r, channel_max); paper: 8192, 512
    "channel_max": 128,
    "mixing_prob": 0.9,  # style mixing regularisation: share of training batches with a crossover
    "w_avg_beta": 0.995,  # the running mean of w the truncation trick moves towards
    "truncation_psi": 0.7,  # for display (grids, `vcgan sample` default); metrics use 1
    "truncation_layers": 4,  # the coarse layers (4x4 and 8x8) the display truncation applies to
    "d_residual": True,  # residual discriminator blocks (StyleGAN2's); false: plain (StyleGAN's)
    "mbstd_group": 4,
}
DCGAN_MODEL = {"z_dim": 128, "g_channels": 256, "d_channels": 256}
STYLEGAN_LOSS = {"adversarial": "nonsaturating", "r1_gamma": 10.0, "r1_every": 16}
DCGAN_LOSS = {"adversarial": "nonsaturating", "r1_gamma": 0.0, "r1_every": 1}
STYLEGAN_TRAIN = {
    "g_lr": 1e-3, "d_lr": 1e-3, "g_betas": [0.0, 0.99], "d_betas": [0.0, 0.99], "steps": 20000,
    "lr_decay_start": None, "log_every": 50, "sample_every": 1000, "ema_decay": 0.998,
    "optim": {"g": {"lr_mult": {"generators.g.mapping": 0.01}}},  # the paper's mapping-network LR
}
DCGAN_TRAIN = {"g_lr": 2e-4, "d_lr": 2e-4, "g_betas": [0.5, 0.999], "d_betas": [0.5, 0.999], "steps": 20000,
               "lr_decay_start": None, "log_every": 50, "sample_every": 1000, "ema_decay": None}

GRID_SEED = 1234  # the fixed latents of the training grids


def defaults(task: str) -> dict:
    if task == "stylegan":
        model, loss, train = STYLEGAN_MODEL, STYLEGAN_LOSS, STYLEGAN_TRAIN
    else:
        model, loss, train = DCGAN_MODEL, DCGAN_LOSS, DCGAN_TRAIN
    return {"data": dict(DATA_DEFAULTS), "model": dict(model), "loss": dict(loss), "train": copy.deepcopy(train)}


def build_networks(task: str, image: dict, model: dict):
    size, ch = image["size"], image["channels"]
    if task == "stylegan":
        g = StyleGenerator(size, ch, model["z_dim"], model["w_dim"], model["mapping_layers"], model["channel_base"],
                           model["channel_max"], model["mixing_prob"], model["w_avg_beta"])
        d = StyleDiscriminator(size, ch, model["channel_base"], model["channel_max"], model["d_residual"],
                               model["mbstd_group"])
    else:
        g = DCGANGenerator(size, ch, model["z_dim"], model["g_channels"])
        d = DCGANDiscriminator(size, ch, model["d_channels"])
    return g, d


class ImageGenerator(UnconditionalObjective):
    """An unconditional image generator (StyleGAN or DCGAN) and its discriminator."""

    resume_keys = ("family", "task", "image", "model")

    def __init__(self, task: str, image: dict, model: dict, loss: dict):
        g, d = build_networks(task, image, model)
        super().__init__(g, d, model["z_dim"], adversarial=loss["adversarial"], r1_gamma=loss["r1_gamma"],
                         r1_every=loss["r1_every"])
        self.task, self.image, self.model_cfg = task, dict(image), dict(model)

    def metadata(self) -> dict:
        return {"family": "stylegan", "task": self.task, "image": dict(self.image), "model": dict(self.model_cfg)}

    def samples(self, step):
        """Training grids (under the EMA generator where the run keeps one): 8x8 samples at
        psi 1, a style-mixing grid, a truncation sweep and latent interpolations."""
        g = self.generators["g"]
        was = g.training
        g.eval()
        try:
            views = sample_views(g, self.model_cfg, next(g.parameters()).device)
        finally:
            g.train(was)
        return [("image", f"samples/{name}", grid) for name, grid in views.items()]


@torch.no_grad()
def sample_views(g, model: dict, device, seed: int = GRID_SEED) -> dict:
    """The grids a user looks at, as (3, H, W) arrays in [0, 1], from fixed latents and noise
    (nothing drawn from the training run's random stream): 8x8 samples at psi 1, then
    :func:`view_grids`."""
    gen = torch.Generator().manual_seed(seed)
    z = torch.randn(64, g.z_dim, generator=gen)
    noise = g.synthesis.make_noise(64, generator=gen) if isinstance(g, StyleGenerator) else None
    x = g(z.to(device), noise=[t.to(device) for t in noise]) if noise else g(z.to(device))
    views = {"psi1": make_grid(list(x.float().cpu().split(8)))}
    return {**views, **view_grids(g, z[:12].to(device), model.get("truncation_psi", 1.0),
                                  model.get("truncation_layers"))}


@torch.no_grad()
def view_grids(g, z: torch.Tensor, psi: float = 1.0, layers: int | None = None) -> dict:
    """From 12 latents: interpolations of the first six towards the next six and, for a
    style-based generator, the style-mixing grid (display truncation ``psi`` on the first
    ``layers`` styles) and the truncation sweep."""
    out = {"interpolation": make_grid(interpolate(g, z[:6], z[6:12], steps=8))}
    if isinstance(g, StyleGenerator):
        out["mixing"] = mixing_grid(g, z[:5], z[5:10], psi, layers)
        out["truncation"] = make_grid(truncation_sweep(g, z[:6]))
    return out


def shared_noise(g, n: int, device, seed: int = 0) -> list[torch.Tensor]:
    """One noise draw from ``seed``, the same for all ``n`` images: the cells of a grid differ
    by their styles only."""
    gen = torch.Generator().manual_seed(seed)
    return [t.to(device).expand(n, -1, -1, -1) for t in g.synthesis.make_noise(1, generator=gen)]


@torch.no_grad()
def mixing_grid(g, z_rows: torch.Tensor, z_cols: torch.Tensor, psi: float = 1.0, layers: int | None = None,
                cutoff: int | None = None) -> np.ndarray:
    """The paper's Figure 3: the top row samples from ``z_cols``, the left column from
    ``z_rows``; cell (i, j) takes the coarse styles (layers < ``cutoff``, default the 4x4 and
    8x8 ones) from row i's latent and the rest from column j's; one noise draw for all."""
    device = z_rows.device
    cutoff = min(4, g.num_layers) if cutoff is None else int(cutoff)
    wr, wc = (g.truncate(g.styles(z), psi, layers) for z in (z_rows, z_cols))
    one = lambda ws: g.synthesis(ws, shared_noise(g, len(ws), device)).float().cpu()  # noqa: E731
    blank = -torch.ones_like(one(wc[:1]))
    rows = [torch.cat([blank, one(wc)])]
    for i in range(len(wr)):
        mixed = crossover(wr[i:i + 1].expand(len(wc), -1, -1), wc, cutoff)
        rows.append(torch.cat([one(wr[i:i + 1]), one(mixed)]))
    return make_grid(rows)


@torch.no_grad()
def truncation_sweep(g, z: torch.Tensor, psis=(1.0, 0.8, 0.6, 0.4, 0.2, 0.0)) -> list[torch.Tensor]:
    """One row per latent, psi from 1 to 0 along it (all layers truncated): at psi 0 every
    row is the image of the average w."""
    ws = g.styles(z)
    rows = []
    for i in range(len(z)):
        w = torch.cat([g.truncate(ws[i:i + 1], psi) for psi in psis])
        rows.append(g.synthesis(w, shared_noise(g, len(w), z.device)).float().cpu())
    return rows


@torch.no_grad()
def interpolate(g, z0: torch.Tensor, z1: torch.Tensor, steps: int = 8) -> list[torch.Tensor]:
    """One row per pair: spherical interpolation in z (StyleGAN: linear in w, the paper's
    perceptual-path measure's space), same noise along a row."""
    t = torch.linspace(0, 1, steps, device=z0.device)
    rows = []
    for a, b in zip(z0, z1):
        if isinstance(g, StyleGenerator):
            w0, w1 = g.mapping(a[None]), g.mapping(b[None])
            ws = torch.lerp(w0, w1, t[:, None])[:, None].expand(-1, g.num_layers, -1)
            rows.append(g.synthesis(ws, shared_noise(g, steps, z0.device)).float().cpu())
        else:
            rows.append(g(slerp(a, b, t)).float().cpu())
    return rows


def slerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    omega = torch.arccos((a / a.norm() * b / b.norm()).sum().clamp(-1, 1))
    if float(omega) < 1e-6:
        return torch.lerp(a[None], b[None], t[:, None])
    so = torch.sin(omega)
    return (torch.sin((1 - t) * omega)[:, None] * a + torch.sin(t * omega)[:, None] * b) / so


# ------------------------------------------------------------------- data
class Images:
    """Unlabelled images for the unconditional objective: each sample is ``{"y": image}``."""

    def __init__(self, images: ImageSet):
        self.images = images

    def __len__(self):
        return len(self.images)

    def get(self, index, rng):
        return {"y": self.images.tensor(index, rng)}


def load_images(data: dict, split: str = "train") -> np.ndarray:
    """uint8 (N, S, S[, 3]) images of a split: Fashion-MNIST (``train``/``test``) padded to
    ``data.image_size``, or the images of the folder ``data.root`` resized to it (``train`` only)."""
    size, channels = int(data["image_size"]), data["channels"]
    if data["layout"] == "fashion_mnist":
        images, _ = load_fashion_mnist(split, data["root"])
        if size < 28:
            raise ConfigError(f"config key 'data.image_size': Fashion-MNIST (28 px) is padded, not shrunk: "
                              f"at least 32, got {size}")
        images = pad_to(images, size)
        if channels == 3:
            images = np.repeat(images[..., None], 3, -1)
    elif data["layout"] == "folder":
        if not data["root"]:
            raise ConfigError("config key 'data.root': give the image folder (data.layout: folder)")
        if split != "train":
            raise ImageDataError(f"{data['root']}: an image folder has no {split} split (Fashion-MNIST only)")
        images = np.stack([read_image(p, size, channels) for p in list_images(data["root"])])
    else:
        raise ConfigError(f"config key 'data.layout': unknown layout {data['layout']!r}; choose from fashion_mnist, folder")
    if data["max_images"]:
        images = images[: int(data["max_images"])]
    return images


def image_info(images: np.ndarray) -> dict:
    return {"size": int(images.shape[1]), "channels": 1 if images.ndim == 3 else int(images.shape[3])}


def build(cfg: dict):
    data = cfg["data"]
    images = load_images(data, "train")
    image = image_info(images)
    model = ImageGenerator(cfg["task"], image, cfg["model"], cfg["loss"])
    n_params = sum(p.numel() for p in model.generators["g"].parameters())
    print(f"data: {len(images)} training images, {image['size']}x{image['size']}, {image['channels']} channel(s); "
          f"generator: {n_params / 1e6:.2f} M weights")
    rank, world = launch_rank_world()
    return model, ResumableLoader(Images(ImageSet(images, "train", data["flip"])), data["batch_size"],
                                  seed=int(cfg["train"]["seed"]), rank=rank, world=world,
                                  num_workers=data["num_workers"])


def synthetic(cfg: dict):
    size = int(cfg["data"]["image_size"])
    images = np.random.default_rng(0).integers(0, 256, (64, size, size), dtype=np.uint8)
    model = ImageGenerator(cfg["task"], image_info(images), cfg["model"], cfg["loss"])
    return model, ResumableLoader(Images(ImageSet(images)), cfg["data"]["batch_size"])


def check(cfg: dict) -> None:
    data, m = cfg["data"], cfg["model"]
    size = data["image_size"]
    if not isinstance(size, int) or size < 8 or size & (size - 1):
        raise ConfigError(f"config key 'data.image_size': a power of two from 8 (e.g. 32, 64, 128, 256), got {size!r}")
    if data["channels"] not in (None, 1, 3):
        raise ConfigError(f"config key 'data.channels': 1 or 3, got {data['channels']!r}")
    if cfg["task"] == "stylegan":
        layers = 2 * int(math.log2(size)) - 2
        if not 0 <= m["truncation_layers"] <= layers:
            raise ConfigError(f"config key 'model.truncation_layers': from 0 to the {layers} style layers of a "
                              f"{size}-px generator, got {m['truncation_layers']}")
        if not 0.0 <= m["mixing_prob"] <= 1.0:
            raise ConfigError(f"config key 'model.mixing_prob': a probability, got {m['mixing_prob']}")
        if not 0.0 < m["w_avg_beta"] < 1.0:
            raise ConfigError(f"config key 'model.w_avg_beta': in (0, 1), got {m['w_avg_beta']}")
    if cfg["loss"]["r1_every"] < 1:
        raise ConfigError(f"config key 'loss.r1_every': at least 1, got {cfg['loss']['r1_every']}")


def _load_for_inference(path, checkpoint, **options):
    from .sample import Sampler  # sample.py imports this module

    return Sampler(path, checkpoint, FAMILY, **options)


FAMILY = register(Family(
    name="stylegan", tasks=TASKS, defaults=defaults, build=build, synthetic=synthetic, check=check,
    load=_load_for_inference, applies="sample",
    types={"data.root": str, "data.channels": int, "data.max_images": int},
    minimums=[("data.batch_size", 1), ("model.z_dim", 1), ("data.image_size", 8)],
    description="unconditional image generation (StyleGAN, and DCGAN as its baseline)",
))
