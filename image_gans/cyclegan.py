"""CycleGAN (Zhu et al., ICCV 2017): unpaired two-domain image translation = the engine's
cycle-consistent objective + a ResNet generator and a PatchGAN per direction."""
from __future__ import annotations

import numpy as np
import torch

from vcgan.engine.data import ResumableLoader
from vcgan.engine.distributed import launch_rank_world
from vcgan.engine.objectives import CycleConsistentObjective
from vcgan.engine.registry import Family, register
from vcgan.errors import ConfigError, VcganError

from .data import ImageDataError
from .grid import make_grid, save_grid
from .translate import Translator
from .networks import NORMS, PatchDiscriminator, ResnetGenerator
from .sources import (IMAGE_DATA_DEFAULTS, IMAGE_DATA_TYPES, check_domains, fashion_mnist_domains, folder_domains,
                      image_set, resize_set)

MODEL_DEFAULTS = {
    "ngf": 64,  # generator width of the first layer (paper: 64)
    "ndf": 64,  # discriminator width (paper: 64)
    "blocks": None,  # residual blocks; null: 6 below 256 px, 9 from 256 px (paper)
    "d_layers": None,  # PatchGAN stride-2 layers; null: 3 (70x70 patches) from 64 px, 2 below
    "norm": "instance",
}
LOSS_DEFAULTS = {
    "adversarial": "lsgan",
    "cycle_weight": 10.0,
    "identity_weight": 5.0,  # paper: 0.5 x the cycle weight
    "pool_size": 50,  # history of generated images the discriminators see
    "d_scale": 0.5,  # the discriminators' loss is halved (slows D relative to G)
    "gp_weight": 10.0,
}
TRAIN_DEFAULTS = {"g_lr": 2e-4, "d_lr": 2e-4, "steps": 20000, "lr_decay_start": 10000, "log_every": 50,
                  "sample_every": 1000}
FOLDERS = "junyanz layout: data.root with trainA, trainB, testA, testB"


def _blocks(model, size):
    return model["blocks"] or (9 if size >= 256 else 6)


def _d_layers(model, size):
    return model["d_layers"] or (3 if size >= 64 else 2)


class ImageCycleGAN(CycleConsistentObjective):
    """Domain ``a`` -> ``b`` by generator ``ab`` and back by ``ba``."""

    resume_keys = ("family", "domains", "image", "model")

    def __init__(self, domains, image: dict, model: dict, loss: dict, sample_images=None):
        c, size = image["channels"], min(image["height"], image["width"])
        g = lambda: ResnetGenerator(c, c, model["ngf"], _blocks(model, size), norm=model["norm"])  # noqa: E731
        d = lambda: PatchDiscriminator(c, model["ndf"], _d_layers(model, size), model["norm"])  # noqa: E731
        super().__init__(g(), g(), d(), d(), adversarial=loss["adversarial"], cycle_weight=loss["cycle_weight"],
                         identity_weight=loss["identity_weight"], gp_weight=loss["gp_weight"],
                         pool_size=loss["pool_size"], d_scale=loss["d_scale"])
        self.domains, self.image, self.model_cfg = list(domains), dict(image), dict(model)
        self.sample_images = sample_images  # (test a, test b) batches for the logged grid

    def metadata(self):
        return {"family": "image_cyclegan", "domains": self.domains, "image": self.image, "model": self.model_cfg}

    def samples(self, step):
        if self.sample_images is None:
            return []
        dev = next(self.parameters()).device
        a, b = (t.to(dev) for t in self.sample_images)
        g = self.generators
        rows = [a, g["ab"](a), g["ba"](g["ab"](a)), b, g["ba"](b), g["ab"](g["ba"](b))]
        return [("image", "translations/a_ab_aba_b_ba_bab", make_grid(rows))]


def load_images(cfg: dict, split: str) -> dict:
    """Each domain's images (uint8 arrays) of a split."""
    data = cfg["data"]
    names = check_domains(data, 2, "Fashion-MNIST class names, or two names for A and B")
    if data["layout"] == "fashion_mnist":
        arrays = fashion_mnist_domains(names, split, data["root"], data["max_images"])
        return {n: resize_set(a, data["image_size"], data["channels"]) for n, a in arrays.items()}
    if data["layout"] == "folders":
        if not data["root"]:
            raise ConfigError(f"config key 'data.root': the folders layout needs a dataset folder ({FOLDERS})")
        sub = "train" if split == "train" else "test"
        return folder_domains(data["root"], names, {names[0]: f"{sub}A", names[1]: f"{sub}B"},
                              data["image_size"], data["channels"], data["max_images"])
    raise ConfigError(f"config key 'data.layout': {data['layout']!r}; image_cyclegan reads fashion_mnist or folders")


def _shape(arr) -> dict:
    return {"channels": 1 if arr.ndim == 3 else arr.shape[-1], "height": arr.shape[1], "width": arr.shape[2]}


def build(cfg: dict):
    from .data import UnpairedImages

    data = cfg["data"]
    train = load_images(cfg, "train")
    a, b = (train[n] for n in data["domains"][:2])
    if _shape(a) != _shape(b):
        raise ImageDataError(f"domains {data['domains'][:2]} have images of other shapes: {_shape(a)} vs {_shape(b)}; "
                             "set data.image_size and data.channels")
    try:
        test = load_images(cfg, "test")
        tests = tuple(image_set(test[n][:8], n, {"flip": False}) for n in data["domains"][:2])
        n = min(len(tests[0]), len(tests[1]))
        sample = tuple(torch.stack([s.tensor(i) for i in range(n)]) for s in tests)
    except ImageDataError:
        sample = None
    model = ImageCycleGAN(data["domains"][:2], _shape(a), cfg["model"], cfg["loss"], sample_images=sample)
    rank, world = launch_rank_world()
    dataset = UnpairedImages(image_set(a, data["domains"][0], data), image_set(b, data["domains"][1], data))
    loader = ResumableLoader(dataset, data["batch_size"], seed=int(cfg["train"]["seed"]), rank=rank, world=world,
                             num_workers=data["num_workers"])
    return model, loader


def synthetic(cfg: dict):
    from .data import ImageSet, UnpairedImages

    size = cfg["data"]["image_size"] or 28
    c = cfg["data"]["channels"] or 1
    shape = (16, size, size) if c == 1 else (16, size, size, 3)
    rng = __import__("numpy").random.default_rng(0)
    sets = [ImageSet(rng.integers(0, 256, shape, dtype="uint8"), n) for n in "ab"]
    model = ImageCycleGAN(["a", "b"], {"channels": c, "height": size, "width": size}, cfg["model"], cfg["loss"])
    return model, ResumableLoader(UnpairedImages(*sets), cfg["data"]["batch_size"])


def load_generator(meta: dict, state: dict | None, direction: str = "ab") -> torch.nn.Module:
    if direction not in ("ab", "ba"):
        raise ImageDataError(f"direction must be ab or ba, got {direction!r}")
    model = ImageCycleGAN(meta["domains"], meta["image"], meta["model"], LOSS_DEFAULTS)
    prefix = f"generators.{direction}."
    g = model.generators[direction]
    if state is not None:  # None: the generator as initialised (a baseline)
        g.load_state_dict({k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)})
    return g.eval()


class CycleGANTranslator(Translator):
    """Either direction of a CycleGAN: the target domain picks the generator."""

    def networks(self, state):
        return {d: load_generator(self.meta, state, d) for d in ("ab", "ba")}

    def details(self):
        a, b = self.domains
        return {**super().details(), "maps": f"{a} <-> {b} (unpaired)"}

    def check_target(self, target):
        a, b = self.domains
        if target not in (a, b):
            got = "" if target is None else f"no domain {target!r} in this model: "
            raise VcganError(f"{got}give --target {b} (from {a}) or --target {a} (from {b})")

    def translate_batch(self, x, target):
        return self.nets["ab" if target == self.domains[1] else "ba"](x)

    def domain_images(self, split):
        return load_images(self.config, split)

    def score_test(self, report, cls, untrained, limit, out_dir):
        from .evaluate import as_tensor, score_direction

        test, train = self.images("test"), self.images("train")
        a_name, b_name = self.domains
        rows = []
        for src, trg in ((a_name, b_name), (b_name, a_name)):
            x, real = as_tensor(limit(test[src])), limit(test[trg])
            y = score_direction(report, f"{src}->{trg}", cls, self, untrained, x, trg, real, train[trg][: len(real)])
            rows += [x[:8], y[:8]]
        save_grid(out_dir / "grid.png", rows)


def check(cfg: dict) -> None:
    if cfg["model"]["norm"] not in NORMS:
        raise ConfigError(f"config key 'model.norm': expected one of {NORMS}, got {cfg['model']['norm']!r}")
    if cfg["data"]["channels"] not in (None, 1, 3):
        raise ConfigError(f"config key 'data.channels': 1 or 3, got {cfg['data']['channels']}")


def defaults(task: str) -> dict:
    return {"data": {**IMAGE_DATA_DEFAULTS, "domains": ["sneaker", "ankle-boot"]}, "model": dict(MODEL_DEFAULTS),
            "loss": dict(LOSS_DEFAULTS), "train": dict(TRAIN_DEFAULTS)}


FAMILY = register(Family(
    name="image_cyclegan", tasks=("image_cyclegan",), defaults=defaults, build=build,
    load=CycleGANTranslator.loader(), applies="translate", synthetic=synthetic, check=check,
    types={**IMAGE_DATA_TYPES, "model.blocks": int, "model.d_layers": int,
           **{f"loss.{k}": "schedule" for k in ("cycle_weight", "identity_weight")}},
    minimums=[("data.batch_size", 1), ("model.ngf", 1), ("model.ndf", 1), ("loss.pool_size", 0),
              ("data.image_size", 8), ("data.num_workers", 0)],
    description="unpaired two-domain image translation (CycleGAN)",
))
