"""StarGAN (Choi et al., CVPR 2018): one generator for many image domains = the engine's
multi-domain objective + a generator that reads the target code as input channels and a
discriminator with a real/fake head and a domain-classification head on one trunk.
WGAN-GP, discriminator first and five discriminator updates per generator update."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from vcgan.engine.data import ResumableLoader
from vcgan.engine.distributed import launch_rank_world
from vcgan.engine.objectives import MultiDomainObjective
from vcgan.engine.registry import Family, register
from vcgan.errors import ConfigError, VcganError

from .data import DomainImages, ImageDataError, ImageSet, list_images, read_image
from .grid import make_grid, save_grid
from .translate import Translator
from .sources import IMAGE_DATA_DEFAULTS, IMAGE_DATA_TYPES, check_domains, fashion_mnist_domains, resize_set
from .networks import StarGANDiscriminator, StarGANGenerator

MODEL_DEFAULTS = {
    "conv_dim": 64,  # paper: 64
    "blocks": 6,  # generator residual blocks (paper: 6)
    "d_layers": None,  # discriminator stride-2 layers; null: 6 for 128 px (paper), fewer for small images
}
LOSS_DEFAULTS = {"adversarial": "wgan-gp", "gp_weight": 10.0, "cls_weight": 1.0, "cycle_weight": 10.0,
                 "identity_weight": 0.0, "r1_gamma": 0.0,  # R1 on real images (StarGAN v2: 1)
                 "r1_every": 1}     # > 1: lazy R1 (StyleGAN2)
TRAIN_DEFAULTS = {"g_lr": 1e-4, "d_lr": 1e-4, "steps": 200000, "lr_decay_start": 100000, "log_every": 50,
                  "sample_every": 1000, "update_order": ["d", "g"],
                  "optim": {"g": {"every": 5}, "d": {"every": 1}}}  # n_critic = 5


def _d_layers(model, size):
    if model["d_layers"]:
        return model["d_layers"]
    layers = 1
    while size // 2 ** (layers + 1) >= 2 and layers < 6:
        layers += 1
    return layers


class ImageStarGAN(MultiDomainObjective):
    resume_keys = ("family", "domains", "attributes", "image", "model")

    def __init__(self, domains, attributes: bool, image: dict, model: dict, loss: dict, sample_images=None):
        c, size, n = image["channels"], min(image["height"], image["width"]), len(domains)
        super().__init__(StarGANGenerator(c, n, model["conv_dim"], model["blocks"]),
                         StarGANDiscriminator(c, n, model["conv_dim"], _d_layers(model, size),
                                              (image["height"], image["width"])),
                         adversarial=loss["adversarial"], cls_weight=loss["cls_weight"],
                         cycle_weight=loss["cycle_weight"], identity_weight=loss["identity_weight"],
                         gp_weight=loss["gp_weight"], r1_gamma=loss["r1_gamma"], r1_every=loss["r1_every"])
        self.domains, self.attributes, self.image, self.model_cfg = list(domains), attributes, dict(image), dict(model)
        self.sample_images = sample_images  # (x, src) of test images

    def metadata(self):
        return {"family": "image_stargan", "domains": self.domains, "attributes": self.attributes,
                "image": self.image, "model": self.model_cfg}

    def targets(self, n: int, device) -> list[torch.Tensor]:
        """One target code per domain (attributes: each attribute switched on alone)."""
        if self.attributes:
            eye = torch.eye(len(self.domains), device=device)
            return [eye[i].expand(n, -1) for i in range(len(self.domains))]
        return [torch.full((n,), i, dtype=torch.long, device=device) for i in range(len(self.domains))]

    def samples(self, step):
        if self.sample_images is None:
            return []
        dev = next(self.parameters()).device
        x, src = (t.to(dev) for t in self.sample_images)
        g = self.generators["g"]
        rows = [x] + [g(x, src, trg) for trg in self.targets(len(x), dev)]
        return [("image", "translations/input_then_each_domain", make_grid(rows))]


def load_labelled(cfg: dict, split: str) -> tuple[np.ndarray, np.ndarray, bool]:
    """(images uint8, labels, attributes?) of a split: labels are domain indices, or 0/1
    attribute rows for the CelebA layout."""
    data = cfg["data"]
    layout = data["layout"]
    names = check_domains(data, 2, "Fashion-MNIST classes, sub-folder names or CelebA attribute names")
    if layout == "fashion_mnist":
        per = fashion_mnist_domains(names, split, data["root"], data["max_images"])
        images = np.concatenate([per[n] for n in names])
        labels = np.concatenate([np.full(len(per[n]), i) for i, n in enumerate(names)])
        return resize_set(images, data["image_size"], data["channels"]), labels, False
    if not data["root"]:
        raise ConfigError(f"config key 'data.root': the {layout} layout needs a dataset folder")
    root = Path(data["root"])
    if layout == "folders":  # root/<split>/<domain>/*.png
        images, labels = [], []
        for i, n in enumerate(names):
            files = list_images(root / split / n)[: data["max_images"] or None]
            images += [read_image(p, data["image_size"], data["channels"]) for p in files]
            labels += [i] * len(files)
        return np.stack(images), np.asarray(labels), False
    if layout == "celeba":
        return load_celeba(root, names, split, data["image_size"], data["channels"], data["max_images"])
    raise ConfigError(f"config key 'data.layout': {layout!r}; image_stargan reads fashion_mnist, folders or celeba")


def load_celeba(root: Path, attributes, split, size, channels, max_images=None):
    """CelebA: ``list_attr_celeba.txt`` (count line, attribute names, then "file v1 v2 ..."
    with 1/-1) and the images under ``img_align_celeba/`` (or beside the list). The test
    split is ``list_eval_partition.txt``'s 2 where present, else the last 10%."""
    attr_file = root / "list_attr_celeba.txt"
    if not attr_file.is_file():
        raise ImageDataError(f"{attr_file}: CelebA attribute list not found")
    lines = [ln.split() for ln in attr_file.read_text().splitlines() if ln.strip()]
    header = lines[1]
    missing = [a for a in attributes if a not in header]
    if missing:
        raise ImageDataError(f"{attr_file}: no attribute(s) {missing}; it has {', '.join(header)}")
    cols = [header.index(a) for a in attributes]
    rows = [(ln[0], [int(ln[1 + c]) for c in cols]) for ln in lines[2:]]
    part_file = root / "list_eval_partition.txt"
    if part_file.is_file():
        part = dict(ln.split()[:2] for ln in part_file.read_text().splitlines() if ln.strip())
        rows = [r for r in rows if (part.get(r[0]) == "2") == (split == "test")]
    else:
        cut = len(rows) - max(1, len(rows) // 10)
        rows = rows[cut:] if split == "test" else rows[:cut]
    rows = rows[: max_images or None]
    folder = root / "img_align_celeba" if (root / "img_align_celeba").is_dir() else root
    images = np.stack([read_image(folder / f, size, channels) for f, _ in rows])
    labels = (np.asarray([v for _, v in rows]) > 0).astype(np.float32)
    return images, labels, True


def _image(arr) -> dict:
    return {"channels": 1 if arr.ndim == 3 else arr.shape[-1], "height": arr.shape[1], "width": arr.shape[2]}


def build(cfg: dict):
    data = cfg["data"]
    images, labels, attributes = load_labelled(cfg, "train")
    try:
        ti, tl, _ = load_labelled(cfg, "test")
        pick = np.linspace(0, len(ti) - 1, min(8, len(ti))).astype(int)
        sample = (torch.stack([ImageSet(ti, "test").tensor(i) for i in pick]),
                  torch.as_tensor(tl[pick]) if attributes else torch.as_tensor(tl[pick]).long())
    except (ImageDataError, ConfigError):
        sample = None
    model = ImageStarGAN(data["domains"], attributes, _image(images), cfg["model"], cfg["loss"], sample_images=sample)
    rank, world = launch_rank_world()
    dataset = DomainImages(ImageSet(images, "train", data["flip"]), labels, len(data["domains"]), attributes)
    return model, ResumableLoader(dataset, data["batch_size"], seed=int(cfg["train"]["seed"]), rank=rank,
                                  world=world, num_workers=data["num_workers"])


def synthetic(cfg: dict):
    size, n = cfg["data"]["image_size"] or 28, len(cfg["data"]["domains"])
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (8 * n, size, size), dtype=np.uint8)
    labels = np.arange(8 * n) % n
    model = ImageStarGAN(cfg["data"]["domains"], False, _image(images), cfg["model"], cfg["loss"])
    return model, ResumableLoader(DomainImages(ImageSet(images), labels, n), cfg["data"]["batch_size"])


def load_generator(meta: dict, state: dict | None) -> torch.nn.Module:
    model = ImageStarGAN(meta["domains"], meta["attributes"], meta["image"], meta["model"], LOSS_DEFAULTS)
    g = model.generators["g"]
    if state is not None:  # None: the generator as initialised (a baseline)
        g.load_state_dict({k[len("generators.g."):]: v for k, v in state.items() if k.startswith("generators.g.")})
    return g.eval()


class StarGANTranslator(Translator):
    """One generator, conditioned on the target domain's code."""

    def networks(self, state):
        return {"g": load_generator(self.meta, state)}

    def details(self):
        kind = "attributes" if self.meta.get("attributes") else "domains"
        return {**super().details(), "maps": f"any image into any of its {len(self.domains)} {kind}"}

    def check_target(self, target):
        if target is None:
            raise VcganError(f"give --target, one of {', '.join(self.domains)}")
        if target not in self.domains:
            raise VcganError(f"unknown target domain {target!r}; this model knows {', '.join(self.domains)}")

    def target_code(self, target: str, n: int) -> torch.Tensor:
        i = self.domains.index(target)
        if self.meta.get("attributes"):
            return torch.eye(len(self.domains))[i].expand(n, -1).to(self.device)
        return torch.full((n,), i, dtype=torch.long, device=self.device)

    def translate_batch(self, x, target):
        return self.nets["g"](x, None, self.target_code(target, len(x)))

    def domain_images(self, split):
        images, labels, attributes = load_labelled(self.config, split)
        if attributes:
            raise VcganError("evaluate-images measures single-label domains; attribute domains are not scored yet")
        return {d: images[labels == i] for i, d in enumerate(self.domains)}

    def score_test(self, report, cls, untrained, limit, out_dir):
        from .evaluate import as_tensor, score_direction

        test, train = self.images("test"), self.images("train")
        domains = self.domains
        by_domain = [limit(test[d]) for d in domains]
        rows = [as_tensor(np.concatenate([d[:2] for d in by_domain])[:8])]
        for t, trg in enumerate(domains):
            x = as_tensor(np.concatenate([d for s, d in enumerate(by_domain) if s != t]))
            sources = np.concatenate([[domains[s]] * len(d) for s, d in enumerate(by_domain) if s != t])
            real = by_domain[t]
            floor = train[trg][: len(real)]
            score_direction(report, f"->{trg}", cls, self, untrained, x, trg, real, floor, sources)
            rows.append(self.translate(rows[0], trg))
        save_grid(out_dir / "grid.png", rows)


FAMILY = register(Family(
    name="image_stargan", tasks=("image_stargan",), defaults=lambda task: {
        "data": {**IMAGE_DATA_DEFAULTS, "domains": ["t-shirt", "pullover", "shirt", "coat"]},
        "model": dict(MODEL_DEFAULTS), "loss": dict(LOSS_DEFAULTS), "train": TRAIN_DEFAULTS},
    build=build, load=StarGANTranslator.loader(), applies="translate", synthetic=synthetic,
    types={**IMAGE_DATA_TYPES, "model.d_layers": int,
           **{f"loss.{k}": "schedule" for k in ("cls_weight", "cycle_weight", "identity_weight")}},
    minimums=[("data.batch_size", 1), ("model.conv_dim", 1), ("model.blocks", 0), ("data.image_size", 8)],
    description="multi-domain image translation with one generator (StarGAN), single- or multi-label",
))
