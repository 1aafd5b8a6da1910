"""StarGAN-VC and StarGAN-VC2 = the multi-domain objective + these networks + WORLD features."""
from __future__ import annotations

import copy

import torch
from torch import nn

from ...engine.losses import reconstruction_loss
from ...engine.objectives import MultiDomainObjective
from ...engine.registry import Family, register
from ...engine.schedule import Schedule
from ...errors import ConfigError, VcganError
from ...features.world import FeatureConfig
from ..voice_conversion.config import VC_MINIMUMS, VC_TYPES, check_vc, open_store, vc_defaults
from ..voice_conversion.converter import vc_finalizer, vc_loader
from ..voice_conversion.pipeline import sample_media
from ..voice_conversion.samplers import DomainPairSampler, RandomSegments, normalized_training_set, sampler_seed
from .networks import DiscriminatorStarVC, DomainClassifier, GeneratorStarVC, GeneratorStarVC2, ProjectionDiscriminator

VERSIONS = {"stargan_vc": 1, "stargan_vc2": 2}

MODEL_DEFAULTS = {
    "channels": None,  # generator width; None: the paper's (32 for StarGAN-VC, 128 for StarGAN-VC2)
    "disc_channels": None,  # discriminator/classifier width; None: the paper's (32 / 128)
    "num_blocks": 9,  # StarGAN-VC2: 1D CIN blocks
    "middle_channels": None,  # StarGAN-VC2: width of the 1D CIN blocks; None: twice the generator width (paper)
    "residual": False,  # generator adds its output to its input (last layer starts at zero)
    "residual_blocks": False,  # StarGAN-VC2: each 1D CIN block adds its output to its input
    "patch_scores": False,  # StarGAN-VC2: projection D scores every region (True) or the whole segment (paper)
    "disc_moments": False,  # StarGAN-VC2: D also reads each segment's per-dimension mean and std (not in the paper)
    "norm": "instance",  # StarGAN-VC: instance (a sample's conversion does not depend on its batch) | batch (paper)
}
LOSS_DEFAULTS = {
    "adversarial": None,  # None: the paper's (cross-entropy for StarGAN-VC, LSGAN for StarGAN-VC2)
    "cls_weight": None,  # None: 1 for StarGAN-VC (domain classifier), 0 for StarGAN-VC2 (no classifier)
    "cycle_weight": 10.0,
    "identity_weight": [[0, 5.0], [10000, 0.0]],
    "identity_mode": "source",  # source: G(x, s, s) = x (papers) | target: G(y, s, t) = y for real y of t
    "reconstruction": "l1",  # cycle/identity distance: l1 (papers) | smooth_l1 (no dead zone at the identity) | l2
    "gp_weight": 10.0,
    "r1_gamma": 0.0,  # R1 penalty on real data, r1_gamma / 2 * E||grad D(y)||^2 (StarGAN v2: 1); 0: off
    "r1_every": 1,    # > 1: lazy R1, every r1_every-th D step, scaled by r1_every (StyleGAN2)
    "anchor_weight": 0.0,  # pulls the conversion's anchor_dims towards the statistics transform (not in the papers); 0: off
    "anchor_dims": [1, 4],  # [first, last] feature dimensions of that pull (c1-c4: spectral tilt, broad envelope)
}


def upgrade_metadata(meta: dict) -> dict:
    """Checkpoint metadata with model keys added since it was written, at their (paper) defaults."""
    if isinstance(meta.get("model"), dict):
        meta = {**meta, "model": {**MODEL_DEFAULTS, **meta["model"]}}
    return meta


def build_networks(version: int, dims: int, num_domains: int, model: dict):
    """(generator, discriminator, classifier or None) for a version and model config."""
    if version == 1:
        c, dc = model["channels"] or 32, model["disc_channels"] or 32
        norm = model.get("norm", "instance")
        return (GeneratorStarVC(dims, num_domains, c, model["residual"], norm),
                DiscriminatorStarVC(dims, num_domains, dc, norm), DomainClassifier(dims, num_domains, dc, norm))
    c, dc = model["channels"] or 128, model["disc_channels"] or 128
    return (GeneratorStarVC2(dims, num_domains, c, model["num_blocks"], model["residual"], model["residual_blocks"],
                             model["middle_channels"]),
            ProjectionDiscriminator(dims, num_domains, dc, model["patch_scores"], model["disc_moments"]), None)


def cls_weight_for(version: int, loss: dict):
    return loss["cls_weight"] if loss["cls_weight"] is not None else (1.0 if version == 1 else 0.0)


class StarGANVC(MultiDomainObjective):
    """Speaker ``i`` of ``speakers`` has domain code ``i``; the list is stored in checkpoints."""

    resume_keys = ("family", "version", "speakers", "features", "model")  # statistics may be re-estimated

    def __init__(self, version: int, speakers: list[str], stats: dict, features: FeatureConfig,
                 model: dict, loss: dict, sample_utterance=None):
        g, d, c = build_networks(version, features.spectral_dim, len(speakers), model)
        adversarial = loss["adversarial"] or ("nonsaturating" if version == 1 else "lsgan")
        super().__init__(g, d, c, adversarial=adversarial, cls_weight=cls_weight_for(version, loss),
                         cycle_weight=loss["cycle_weight"], identity_weight=loss["identity_weight"],
                         gp_weight=loss["gp_weight"], identity_mode=loss["identity_mode"],
                         reconstruction=loss["reconstruction"], r1_gamma=loss["r1_gamma"], r1_every=loss["r1_every"])
        self.anchor_weight = Schedule(loss["anchor_weight"], "loss.anchor_weight")
        self.anchor_dims = slice(loss["anchor_dims"][0], loss["anchor_dims"][1] + 1)
        self.version = version
        self.speakers = list(speakers)
        self.stats = {s: stats[s] for s in speakers}
        self.features = features
        self.model_cfg = dict(model)
        self.sample_utterance = sample_utterance  # (speaker, WorldFeatures) of a test utterance

    def generator_losses(self, batch, out, step):
        """The multi-domain objective's losses, plus the anchor term where ``loss.anchor_weight`` > 0:
        the distance, in ``anchor_dims``, between the conversion and its input. Features are
        normalised per speaker, so the input is what the statistics transform would output."""
        losses = super().generator_losses(batch, out, step)
        w = self.anchor_weight(step)
        if w > 0:
            dims = self.anchor_dims
            losses["anchor"] = self.recon(out["fake"][:, dims].float(), batch["x"][:, dims].float())
            losses["total"] = losses["total"] + w * losses["anchor"]
        return losses

    def metadata(self) -> dict:
        return {"family": "stargan_vc", "version": self.version, "speakers": list(self.speakers),
                "stats": copy.deepcopy(self.stats), "features": self.features.to_dict(), "model": self.model_cfg}

    def upgrade_metadata(self, meta: dict) -> dict:
        return upgrade_metadata(meta)

    def samples(self, step):
        if self.sample_utterance is None:
            return []
        src, utt = self.sample_utterance
        gen = self.generators["g"]
        dev = next(gen.parameters()).device
        out = []
        for tgt in self.speakers:
            if tgt != src:
                conditioned = Conditioned(gen, self.speakers.index(src), self.speakers.index(tgt))
                out += sample_media(utt, self.features, self.stats, src, tgt,
                                    lambda x, m=conditioned: m(x.to(dev)).float().cpu(), step)
        return out


class Conditioned(nn.Module):
    """A multi-domain generator fixed to one (source, target) pair: x -> G(x, src, trg)."""

    def __init__(self, generator: nn.Module, src: int, trg: int):
        super().__init__()
        self.generator, self.src, self.trg = generator, src, trg

    def forward(self, x):
        b = x.shape[0]
        src = torch.full((b,), self.src, dtype=torch.long, device=x.device)
        trg = torch.full((b,), self.trg, dtype=torch.long, device=x.device)
        return self.generator(x, src, trg)


def build_task(cfg: dict):
    store = open_store(cfg)
    data = cfg["data"]
    speakers = list(data["speakers"] or store.speakers)
    store.check_speakers(speakers)
    if len(speakers) < 2:
        raise VcganError(f"data.speakers: a many-to-many model needs at least 2 speakers, got {speakers}")
    version = VERSIONS[cfg["task"]]
    sample = next(((s, u[0]) for s in speakers for u in [store.utterances(s, "test")] if u), None)
    task = StarGANVC(version, speakers, store.stats, store.config, cfg["model"], cfg["loss"], sample_utterance=sample)
    sampler = DomainPairSampler({s: normalized_training_set(store, s) for s in speakers},
                                data["segment_frames"], data["batch_size"], seed=sampler_seed(cfg))
    return task, sampler


def load_generator(meta: dict, state: dict, source: str, target: str) -> nn.Module:
    """The generator of a StarGAN-VC(2) checkpoint fixed to ``source -> target``."""
    meta = upgrade_metadata(meta)
    speakers = meta["speakers"]
    for role, name in (("source", source), ("target", target)):
        if name not in speakers:
            raise VcganError(f"unknown {role} speaker {name!r}; this model knows: {', '.join(speakers)}")
    g, _, _ = build_networks(meta["version"], meta["features"]["spectral_dim"], len(speakers), meta["model"])
    prefix = "generators.g."
    g.load_state_dict({k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)})
    return Conditioned(g.eval(), speakers.index(source), speakers.index(target)).eval()


def synthetic(cfg: dict, num_speakers: int = 3):
    """The model of ``cfg`` for ``num_speakers`` speakers on random segments (no feature files)."""
    feats = FeatureConfig.from_dict(cfg["features"])
    speakers = [f"spk{i}" for i in range(num_speakers)]
    model = StarGANVC(VERSIONS[cfg["task"]], speakers, {s: {} for s in speakers}, feats, cfg["model"], cfg["loss"])
    data = RandomSegments(feats.spectral_dim, cfg["data"]["segment_frames"], cfg["data"]["batch_size"], num_speakers)
    return model, data


VC2_ONLY = ("residual_blocks", "patch_scores", "disc_moments", "middle_channels")
NOT_FOR_TASK = [
    *[("stargan_vc", f"model.{key}", "belongs to StarGAN-VC2; set task: stargan_vc2") for key in VC2_ONLY],
    ("stargan_vc2", "loss.cls_weight", "StarGAN-VC2 has no domain classifier; use task: stargan_vc"),
]

def check(cfg: dict) -> None:
    check_vc(cfg, NOT_FOR_TASK)
    if cfg["loss"]["identity_mode"] not in ("source", "target"):
        raise ConfigError(f"config key 'loss.identity_mode': expected source or target, got {cfg['loss']['identity_mode']!r}")
    reconstruction_loss(cfg["loss"]["reconstruction"], "config key 'loss.reconstruction'")
    dims, spectral_dim = cfg["loss"]["anchor_dims"], cfg["features"]["spectral_dim"]
    whole = isinstance(dims, list) and len(dims) == 2 and all(type(d) is int for d in dims)  # bool is not int here
    if not (whole and 0 <= dims[0] <= dims[1] < spectral_dim):
        raise ConfigError(f"config key 'loss.anchor_dims': expected [first, last] feature dimensions with "
                          f"0 <= first <= last < features.spectral_dim ({spectral_dim}), got {dims!r}")
    norm = cfg["model"]["norm"]
    if norm not in ("instance", "batch"):
        raise ConfigError(f"config key 'model.norm': expected instance or batch, got {norm!r}")
    if cfg["task"] == "stargan_vc2" and norm != "instance":
        raise ConfigError("config key 'model.norm': StarGAN-VC2 normalises with conditional instance norm; "
                          "batch norm is a StarGAN-VC option (task: stargan_vc)")


FAMILY = register(Family(
    name="stargan_vc", tasks=tuple(VERSIONS), defaults=lambda task: vc_defaults(MODEL_DEFAULTS, LOSS_DEFAULTS),
    build=build_task, synthetic=synthetic,
    load=vc_loader(load_generator), applies="convert", finalize=vc_finalizer(shifts=4),  # as the recipe converts
    types={**VC_TYPES, "model.middle_channels": int,
           **{f"loss.{k}": "schedule" for k in ("cls_weight", "cycle_weight", "identity_weight", "anchor_weight")}},
    minimums=[*VC_MINIMUMS, ("model.middle_channels", 2)], check=check,
    description="many-to-many non-parallel voice conversion with one model (StarGAN-VC, StarGAN-VC2)",
))
