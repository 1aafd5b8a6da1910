"""GLCIC = a completion network trained by MSE inside the hole, then judged by a global and
a local discriminator, in the paper's three phases (completion network alone, discriminator
alone, both), which are the engine's per-group update schedules (``train.optim.*.every``).

Task ``glcic``, applied by ``vcgan complete``.
"""
from __future__ import annotations

import numpy as np
import torch

from vcgan.engine.data import ResumableLoader
from vcgan.engine.distributed import launch_rank_world
from vcgan.engine.losses import AdversarialLoss
from vcgan.engine.model import GeneratorDiscriminatorModel
from vcgan.engine.registry import Family, register
from vcgan.engine.schedule import Schedule
from vcgan.errors import ConfigError

from ..data import ImageDataError, ImageSet, list_images, load_fashion_mnist, pad_to, read_image
from ..grid import make_grid
from ..photos import PhotoCrops, load_photos, tiles
from .masks import hole_size_range, local_size, random_hole
from .networks import UPSAMPLERS, CompletionNetwork, ContextDiscriminator
from .prefill import PREFILLS, prefill_inputs

LAYOUTS = ("fashion_mnist", "photos", "folder")
DATA_DEFAULTS = {
    "layout": "fashion_mnist",  # fashion_mnist (28 px padded to 32) | photos (the wheels' photos, RGB crops) | folder
    "root": None,  # fashion_mnist: null finds Debian's dataset-fashion-mnist; folder: root/*.png (test: root/test/)
    "image_size": None,  # side of the training images; null: 32 (fashion_mnist), 64 (photos, folder)
    "photo_side": 256,  # photos: each photo's shorter side is scaled to this before cropping
    "max_images": None,  # the first N images only (quick runs)
    "flip": True,  # random horizontal flips
    "batch_size": 16,
    "num_workers": 0,
}
MODEL_DEFAULTS = {
    "width": 64,  # completion network: the paper's 64 (128, 256 after the downsamplings)
    "d_width": 64,  # discriminators' first conv (doubling per layer up to d_max_width); paper 64
    "d_max_width": 512,
    "d_fc": 1024,  # each branch's fully connected output; paper 1024
    "prefill": "mean",  # the hole before the network sees it: mean (the paper) | harmonic | biharmonic (and
                        # the network learns a correction of that fill) | biharmonic+harmonic (a correction of
                        # the biharmonic fill, the harmonic one a second input); docs/design.md
    "gate": False,  # with biharmonic+harmonic: a per-pixel weight between the two fills, learned (docs/design.md)
    "upsample": "transposed",  # the paper's 4x4 stride-2 transposed convs | nearest (2x nearest, 3x3 conv)
}
LOSS_DEFAULTS = {
    "alpha": [[0, 0.0], ["20%", 0.0004]],  # the adversarial weight; paper 0.0004 from phase 3 on
    "adversarial": "nonsaturating",  # the paper's binary cross-entropy
}
# the paper's 90k / 10k / 400k iterations as shares of the run: completion network alone,
# discriminator alone, both; Adadelta as the paper
TRAIN_DEFAULTS = {
    "steps": 500000, "g_lr": 1.0, "d_lr": 1.0, "lr_decay_start": None, "log_every": 50, "sample_every": 1000,
    "optim": {"g": {"optimizer": "adadelta", "every": [[0, 1], ["18%", 0], ["20%", 1]]},
              "d": {"optimizer": "adadelta", "every": [[0, 0], ["18%", 1]]}},
}


def image_size(data: dict) -> int:
    return int(data["image_size"] or (32 if data["layout"] == "fashion_mnist" else 64))


class Completion(GeneratorDiscriminatorModel):
    """GLCIC: group ``g`` is the completion network, group ``d`` the context discriminator.

    A batch holds images ``x``, masks ``mask`` (1 inside the hole) and the local crops'
    corners ``crop``. Everything the discriminator sees is the composite: the input outside
    the hole, the completion inside. The reconstruction loss is the MSE over hole pixels only.
    """

    resume_keys = ("family", "image", "model", "fill")

    def __init__(self, image: dict, model: dict, loss: dict, fill, sample_batch: dict | None = None):
        super().__init__()
        c, size = image["channels"], image["size"]
        self.prefill = model.get("prefill", "mean")  # checked by check(); "mean" in checkpoints from before the option
        self.generators = torch.nn.ModuleDict({"g": CompletionNetwork(
            c, size, model["width"], residual=self.prefill != "mean", fills=len(self.prefill.split("+")),
            gate=bool(model.get("gate", False)), upsample=model.get("upsample", "transposed"))})
        self.discriminators = torch.nn.ModuleDict({"d": ContextDiscriminator(
            c, size, local_size(size), model["d_width"], model["d_fc"], model["d_max_width"])})
        self.register_buffer("fill", torch.as_tensor(fill, dtype=torch.float32).reshape(1, c, 1, 1))
        self.alpha = Schedule(loss["alpha"], "config key 'loss.alpha'")
        self.adv = AdversarialLoss(loss["adversarial"])
        self.image, self.model_cfg = dict(image), dict(model)
        self.sample_batch = sample_batch

    def metadata(self) -> dict:
        return {"family": "glcic", "image": dict(self.image), "model": dict(self.model_cfg),
                "fill": [float(v) for v in self.fill.flatten()]}

    def complete(self, x: torch.Tensor, mask: torch.Tensor) -> dict:
        """The completion network's output and the composite of ``x`` with it."""
        g = self.generators["g"]
        filled, *more = prefill_inputs(self.prefill, x, mask, self.fill)
        out = g(filled, mask, *more)
        return {"out": out, "composite": x * (1 - mask) + out * mask}

    def generate(self, batch, step):
        g = self.generators["g"]
        if torch.is_grad_enabled():
            return self.complete(batch["x"], batch["mask"])
        # no completion-network update this step (phase 2): it runs as at inference, so that
        # not even its batch-norm statistics move
        was = g.training
        g.eval()
        try:
            return self.complete(batch["x"], batch["mask"])
        finally:
            g.train(was)

    def generator_losses(self, batch, out, step):
        mask = batch["mask"]
        err = (out["out"].float() - batch["x"].float()).pow(2) * mask
        mse = err.sum() / (mask.sum() * out["out"].shape[1]).clamp_min(1)
        alpha = self.alpha(step)
        losses = {"mse": mse}
        total = mse
        if alpha > 0:
            adv = self.adv.g_loss(self.discriminators["d"](out["composite"], batch["crop"]))
            losses["adversarial"] = adv
            total = total + alpha * adv
        losses["total"] = total
        return losses

    def discriminator_losses(self, batch, out, step):
        d = self.discriminators["d"]
        real = d(batch["x"], batch["crop"])
        fake = d(out["composite"].to(batch["x"].dtype), batch["crop"])
        loss = self.adv.d_loss(real, fake)
        return {"total": loss, "real": real.float().mean(), "fake": fake.float().mean()}

    def samples(self, step):
        if self.sample_batch is None:
            return []
        dev = self.fill.device
        x, mask = self.sample_batch["x"].to(dev), self.sample_batch["mask"].to(dev)
        comp = self.complete(x, mask)["composite"]
        masked = x * (1 - mask) + mask
        return [("image", "completion/masked_completed_original", make_grid([masked, comp, x]))]


# ------------------------------------------------------------------- data
class MaskedImages:
    """Images with a hole each: ``{"x", "mask", "crop"}``; the hole and its local crop are
    drawn from the sample's ``rng`` (a resumed run sees the same holes)."""

    def __init__(self, images, size: int):
        self.images, self.size = images, size

    def __len__(self):
        return len(self.images)

    def get(self, index, rng):
        x = self.images.tensor(index, rng)
        mask, (top, left) = random_hole(self.size, rng)
        return {"x": x, "mask": torch.from_numpy(mask)[None], "crop": torch.tensor([top, left])}


def load_split(data: dict, split: str):
    """A split's images: uint8 (N, S, S[, 3]) for evaluation (``test``/``dev``; photos: tiles of
    the held-out photos), or for ``train`` an object with ``tensor(index, rng)``."""
    size, layout = image_size(data), data["layout"]
    if layout == "fashion_mnist":
        if size < 28:
            raise ConfigError(f"config key 'data.image_size': Fashion-MNIST (28 px) is padded, not shrunk: "
                              f"at least 32, got {size}")
        images = load_fashion_mnist("test" if split == "test" else "train", data["root"])[0]
        held = min(5000, len(images) // 10)  # dev: the last 5000 training images, never trained on
        images = images if split == "test" else images[-held:] if split == "dev" else images[:-held]
        images = pad_to(images, size)
    elif layout == "photos":
        photos = load_photos(split, int(data["photo_side"]))
        if split == "train":
            return PhotoCrops(photos, size, data["flip"])
        images = tiles(photos, size, max(1, size // 8))  # overlapping: enough tiles for a Frechet distance
    elif layout == "folder":
        if not data["root"]:
            raise ConfigError("config key 'data.root': give the image folder (data.layout: folder)")
        from pathlib import Path

        folder = Path(data["root"]) / ("" if split == "train" else split)
        images = np.stack([read_image(p, size, 3) for p in list_images(folder)])
    else:
        raise ConfigError(f"config key 'data.layout': unknown layout {layout!r}; choose from {', '.join(LAYOUTS)}")
    if data["max_images"]:
        images = images[: int(data["max_images"])]
    return ImageSet(images, f"{layout} {split}", data["flip"] and split == "train") if split == "train" else images


def image_info(data: dict, images) -> dict:
    sample = images.tensor(0, np.random.default_rng(0))
    return {"size": image_size(data), "channels": int(sample.shape[0])}


def mean_fill(images, n: int = 2000) -> list[float]:
    """Per-channel mean of (up to ``n``) training images in [-1, 1]: what the holes are filled with."""
    rng = np.random.default_rng(0)
    x = torch.stack([images.tensor(int(i), rng) for i in rng.integers(len(images), size=min(n, len(images)))])
    return [float(v) for v in x.mean((0, 2, 3))]


def sample_batch(data: dict, n: int = 8) -> dict | None:
    """Fixed held-out images and holes for the training grids."""
    try:
        images = load_split(data, "dev")
    except (ImageDataError, ConfigError):
        return None
    size = image_size(data)
    rng = np.random.default_rng(2017)
    pick = rng.choice(len(images), min(n, len(images)), replace=False)
    holes = [random_hole(size, rng)[0] for _ in pick]
    from ..data import to_tensor

    return {"x": torch.stack([to_tensor(images[i]) for i in pick]), "mask": torch.from_numpy(np.stack(holes))[:, None]}


def build(cfg: dict):
    data = cfg["data"]
    images = load_split(data, "train")
    image = image_info(data, images)
    model = Completion(image, cfg["model"], cfg["loss"], mean_fill(images), sample_batch(data))
    lo, hi = hole_size_range(image["size"])
    print(f"data: {data['layout']}, {len(images)} training {'crops per pass' if data['layout'] == 'photos' else 'images'}"
          f", {image['size']}x{image['size']}, {image['channels']} channel(s); holes {lo}-{hi} px, local crop "
          f"{local_size(image['size'])} px; completion network "
          f"{sum(p.numel() for p in model.generators.parameters()) / 1e6:.2f} M weights")
    rank, world = launch_rank_world()
    return model, ResumableLoader(MaskedImages(images, image["size"]), data["batch_size"],
                                  seed=int(cfg["train"]["seed"]), rank=rank, world=world,
                                  num_workers=data["num_workers"])


def synthetic(cfg: dict):
    size = image_size(cfg["data"])
    images = ImageSet(np.random.default_rng(0).integers(0, 256, (32, size, size, 3), dtype=np.uint8))
    model = Completion({"size": size, "channels": 3}, cfg["model"], cfg["loss"], [0.0, 0.0, 0.0])
    return model, ResumableLoader(MaskedImages(images, size), cfg["data"]["batch_size"])


def check(cfg: dict) -> None:
    data, train = cfg["data"], cfg["train"]
    size = image_size(data)
    if size < 16 or size & (size - 1):
        raise ConfigError(f"config key 'data.image_size': a power of two from 16 (e.g. 32, 64, 256), got {size}")
    if data["layout"] not in LAYOUTS:
        raise ConfigError(f"config key 'data.layout': unknown layout {data['layout']!r}; choose from {', '.join(LAYOUTS)}")
    if cfg["model"]["prefill"] not in PREFILLS:
        raise ConfigError(f"config key 'model.prefill': one of {', '.join(PREFILLS)}, got {cfg['model']['prefill']!r}")
    if cfg["model"]["gate"] and cfg["model"]["prefill"] != "biharmonic+harmonic":
        raise ConfigError(f"config key 'model.gate': weighs two fills, so it needs model.prefill: biharmonic+harmonic, "
                          f"got {cfg['model']['prefill']!r}")
    if cfg["model"]["upsample"] not in UPSAMPLERS:
        raise ConfigError(f"config key 'model.upsample': one of {', '.join(UPSAMPLERS)}, "
                          f"got {cfg['model']['upsample']!r}")
    alpha = Schedule(cfg["loss"]["alpha"], "config key 'loss.alpha'")
    d_every = Schedule(train["optim"]["d"]["every"], "config key 'train.optim.d.every'")
    # the completion network must not learn from a discriminator that has not trained yet
    first_adv = next((at for at, v in alpha.points if v > 0), None)
    first_d = next((at for at, v in d_every.points if v > 0), None)
    if first_adv is not None and (first_d is None or alpha.kind != d_every.kind or first_adv < first_d):
        raise ConfigError(
            f"config key 'loss.alpha': the adversarial term starts at {alpha!r}, before the discriminator trains "
            f"(train.optim.d.every {d_every!r}); start it with or after the discriminator's phase, in the same "
            "units (steps or percentages)")


def _load_for_inference(path, checkpoint, **options):
    from .complete import Completer

    return Completer(path, checkpoint, FAMILY, **options)


FAMILY = register(Family(
    name="glcic", tasks=("glcic",), defaults=lambda task: {
        "data": dict(DATA_DEFAULTS), "model": dict(MODEL_DEFAULTS), "loss": {**LOSS_DEFAULTS},
        "train": {**TRAIN_DEFAULTS, "optim": {k: dict(v) for k, v in TRAIN_DEFAULTS["optim"].items()}}},
    build=build, synthetic=synthetic, check=check, load=_load_for_inference, applies="complete",
    types={"data.root": str, "data.image_size": int, "data.max_images": int, "loss.alpha": "schedule"},
    minimums=[("data.batch_size", 2), ("model.width", 2), ("model.d_width", 1), ("model.d_fc", 1)],
    description="image completion (GLCIC: globally and locally consistent)",
))
