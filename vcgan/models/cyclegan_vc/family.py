"""CycleGAN-VC and CycleGAN-VC2 = the cycle-consistent objective + these networks + WORLD features."""
from __future__ import annotations

import copy

import torch

from ...engine.objectives import CycleConsistentObjective
from ...engine.registry import Family, register
from ...features.world import FeatureConfig
from ..voice_conversion.config import VC_MINIMUMS, VC_TYPES, check_vc, open_store, vc_defaults
from ..voice_conversion.converter import vc_finalizer, vc_loader
from ..voice_conversion.pipeline import sample_media
from ..voice_conversion.samplers import RandomSegments, SegmentSampler, normalized_training_set, sampler_seed
from .networks import DiscriminatorVC1, GeneratorVC1, GeneratorVC2, PatchDiscriminator

VERSIONS = {"cyclegan_vc": 1, "cyclegan_vc2": 2}

MODEL_DEFAULTS = {
    "channels": 128,  # generator width of the first layer (128 in the papers)
    "disc_channels": 128,  # discriminator width of the first layer (128 in the papers)
    "num_res_blocks": 6,
    "residual": False,  # generator adds its output to its input (starts as the statistics transform)
    "disc_scores": "segment",  # CycleGAN-VC: one score per segment (paper) | "frame" (per output frame)
}
LOSS_DEFAULTS = {
    "adversarial": "lsgan",
    "cycle_weight": 10.0,
    "identity_weight": [[0, 5.0], [10000, 0.0]],  # 5 for the first 10^4 steps, then off
    "two_step_weight": 1.0,  # CycleGAN-VC2's second-step adversarial loss (0 for v1)
    "gp_weight": 10.0,
}


def upgrade_metadata(meta: dict) -> dict:
    """Checkpoint metadata with model keys added since it was written: CycleGAN-VC checkpoints
    from before ``disc_scores`` scored per frame."""
    if isinstance(meta.get("model"), dict) and "disc_scores" not in meta["model"]:
        meta = {**meta, "model": {**meta["model"], "disc_scores": "frame" if meta.get("version") == 1 else "segment"}}
    return meta


def build_networks(version: int, dims: int, model: dict, frames: int | None = None):
    """Factories of (generator, discriminator); ``frames``: the training segment length."""
    if version == 1:
        g = lambda: GeneratorVC1(dims, model["channels"], model["num_res_blocks"], model["residual"])  # noqa: E731
        d = lambda: DiscriminatorVC1(dims, model["disc_channels"], frames, model.get("disc_scores", "segment"))  # noqa: E731
    else:
        g = lambda: GeneratorVC2(dims, model["channels"], model["num_res_blocks"], model["residual"])  # noqa: E731
        d = lambda: PatchDiscriminator(dims, model["disc_channels"])  # noqa: E731
    return g, d


class CycleGANVC(CycleConsistentObjective):
    """Domain ``a`` is the source speaker, ``b`` the target; both directions are trained."""

    resume_keys = ("family", "version", "speakers", "features", "model")  # statistics may be re-estimated

    def __init__(self, version: int, speakers: tuple[str, str], stats: dict, features: FeatureConfig,
                 model: dict, loss: dict, sample_utterance=None, frames: int | None = None):
        dims = features.spectral_dim
        g, d = build_networks(version, dims, model, frames)
        two_step = loss["two_step_weight"] if version == 2 else 0.0
        super().__init__(
            g(), g(), d(), d(), *((d(), d()) if two_step else ()),
            adversarial=loss["adversarial"], cycle_weight=loss["cycle_weight"],
            identity_weight=loss["identity_weight"], two_step_weight=two_step, gp_weight=loss["gp_weight"],
        )
        self.version = version
        self.speakers = tuple(speakers)
        self.stats = {s: stats[s] for s in speakers}
        self.features = features
        self.model_cfg = dict(model)
        self.sample_utterance = sample_utterance  # WorldFeatures of a source test utterance

    def upgrade_metadata(self, meta: dict) -> dict:
        return upgrade_metadata(meta)

    def metadata(self) -> dict:
        return {
            "family": "cyclegan_vc",
            "version": self.version,
            "speakers": list(self.speakers),
            "stats": copy.deepcopy(self.stats),
            "features": self.features.to_dict(),
            "model": self.model_cfg,
        }

    def samples(self, step):
        if self.sample_utterance is None:
            return []
        gen = self.generators["ab"]
        dev = next(gen.parameters()).device
        return sample_media(self.sample_utterance, self.features, self.stats, *self.speakers,
                            lambda x: gen(x.to(dev)).float().cpu(), step)


def build_task(cfg: dict) -> tuple[CycleGANVC, SegmentSampler]:
    store = open_store(cfg)
    data = cfg["data"]
    src, tgt = data["source"], data["target"]
    store.check_speakers([src, tgt])
    version = VERSIONS[cfg["task"]]
    feats = store.config
    tests = store.utterances(src, "test")
    task = CycleGANVC(version, (src, tgt), store.stats, feats, cfg["model"], cfg["loss"],
                      sample_utterance=tests[0] if tests else None, frames=data["segment_frames"])
    norm = {dom: normalized_training_set(store, spk) for dom, spk in (("a", src), ("b", tgt))}
    sampler = SegmentSampler(norm, data["segment_frames"], data["batch_size"], seed=sampler_seed(cfg))
    return task, sampler


def load_generator(meta: dict, state: dict, source: str, target: str) -> torch.nn.Module:
    """The trained generator for ``source -> target`` from a checkpoint's metadata and weights."""
    from ...errors import CheckpointError

    a, b = meta["speakers"]
    key = {(a, b): "ab", (b, a): "ba"}.get((source, target))
    if key is None:
        raise CheckpointError(f"this CycleGAN-VC checkpoint converts {a}<->{b}; got --source {source!r} --target {target!r}")
    meta = upgrade_metadata(meta)
    g, _ = build_networks(meta["version"], meta["features"]["spectral_dim"], meta["model"])
    gen = g()
    prefix = f"generators.{key}."
    gen.load_state_dict({k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)})
    return gen.eval()


def synthetic(cfg: dict) -> tuple[CycleGANVC, RandomSegments]:
    """The model of ``cfg`` on random segments (no feature files)."""
    feats = FeatureConfig.from_dict(cfg["features"])
    model = CycleGANVC(VERSIONS[cfg["task"]], ("a", "b"), {"a": {}, "b": {}}, feats, cfg["model"], cfg["loss"],
                       frames=cfg["data"]["segment_frames"])
    return model, RandomSegments(feats.spectral_dim, cfg["data"]["segment_frames"], cfg["data"]["batch_size"])


def defaults(task: str) -> dict:
    d = vc_defaults(MODEL_DEFAULTS, LOSS_DEFAULTS)
    if task == "cyclegan_vc":
        d["loss"]["two_step_weight"] = 0.0
        d["features"]["spectral_dim"] = 24
    return d


NOT_FOR_TASK = [("cyclegan_vc", "loss.two_step_weight", "the two-step loss belongs to CycleGAN-VC2; set task: cyclegan_vc2")]

FAMILY = register(Family(
    name="cyclegan_vc", tasks=tuple(VERSIONS), defaults=defaults, build=build_task, synthetic=synthetic,
    load=vc_loader(load_generator), applies="convert", finalize=vc_finalizer(shifts=1),  # as the recipe converts
    default_task="cyclegan_vc2",
    types={**VC_TYPES, **{f"loss.{k}": "schedule" for k in ("cycle_weight", "identity_weight", "two_step_weight")}},
    minimums=VC_MINIMUMS, check=lambda cfg: check_vc(cfg, NOT_FOR_TASK),
    description="non-parallel two-speaker voice conversion (CycleGAN-VC, CycleGAN-VC2)",
))
