"""GAN postfilters = the engine's paired objective + texture networks + synthetic/natural pairs.

* ``gan_postfilter_mcep`` (Kaneko et al., ICASSP 2017): one postfilter on the
  mel-cepstrogram (time x quefrency); c0 (``model.passthrough: 2`` for c0-c1) is
  passed through.
* ``gan_postfilter_stft`` (Kaneko et al., Interspeech 2017): the log-amplitude STFT
  spectrogram split into overlapping frequency bands, one postfilter (own G and D) per
  band, trained together in one run and one checkpoint (a :class:`Composite`), merged
  by normalised overlap-add at inference.
"""
from __future__ import annotations

import copy

import numpy as np
import torch
from torch import nn

from ...engine.data import ResumableLoader
from ...engine.distributed import launch_rank_world
from ...engine.losses import reconstruction_loss
from ...engine.objectives import Composite, PairedObjective
from ...engine.registry import Family, register
from ...engine.schedule import Schedule
from ...errors import ConfigError, VcganError
from ...features.stft import BandLayout, STFTConfig, band_merge, band_split
from ...features.world import FeatureConfig
from ...nn.modulation import gv_loss, modulation_loss
from ..voice_conversion.config import open_store
from .data import PairedCrops, natural_statistics, paired_utterances
from .networks import TextureDiscriminator, TexturePostfilter, postfilter_in_chunks

TASKS = {"gan_postfilter_mcep": "mcep", "gan_postfilter_stft": "stft"}

MODEL_DEFAULTS = {
    "passthrough": 1,  # leading dims copied unchanged: 1 = c0 (mcep); 0 for STFT bands
    "g_channels": [128, 256, 128],  # paper
    "d_channels": [64, 128, 256, 128],  # paper
    "kernel": 5,
    "zero_last": True,  # G's last layer starts at zero: training starts from the synthetic input
    "n_bands": 4,  # STFT: bands of equal width ...
    "band_overlap": 16,  # ... sharing this many bins with each neighbour
    "band_edges": None,  # STFT: explicit [[start, stop], ...] bins instead
    "d_delta": False,  # D also sees each input's frame-to-frame difference (papers: no)
}
LOSS_DEFAULTS = {
    "adversarial": "nonsaturating",  # the papers' cross-entropy GAN
    "adv_weight": 1.0,
    "recon": "l2",
    "recon_weight": 0.0,  # papers: none (the residual keeps the input); > 0 ties outputs to the natural frames
    "recon_units": "normalised",  # the distance in normalised units (every dim alike) | "features": in the
    # features' own units (dims weighed by their natural standard deviation, as MCD and LSD weigh them)
    "conditional_d": False,  # D judges (synthetic input, output) pairs instead of the output alone
    "d_scale": 1.0,
    "fm_weight": 0.0,  # feature matching on D's hidden layers (nnsvs: 10); papers: none
    "ms_weight": 0.0,  # modulation-spectrum term (batch log-MS of the output vs the natural frames'); papers: none
    "gv_weight": 0.0,  # global-variance term (batch log-GV of the output vs the natural frames', as WaveCycleGAN's)
}
DATA_DEFAULTS = {
    "feats_dir": "exp/feats",
    "synthetic": "synthetic",  # "speaker" names of the two sides in the prepared features
    "natural": "natural",
    "segment_frames": 128,
    "batch_size": 8,
}
TRAIN_DEFAULTS = {"g_lr": 1e-4, "d_lr": 1e-4, "steps": 20000, "lr_decay_start": 10000, "log_every": 50,
                  "sample_every": 0}


def defaults(task: str) -> dict:
    out = {"features": FeatureConfig().to_dict(), "data": dict(DATA_DEFAULTS), "model": copy.deepcopy(MODEL_DEFAULTS),
           "loss": dict(LOSS_DEFAULTS), "train": dict(TRAIN_DEFAULTS)}
    if TASKS[task] == "stft":
        out["stft"] = STFTConfig().to_dict()
        out["model"]["passthrough"] = 0
    return out


def _networks(model: dict, loss: dict):
    g = TexturePostfilter(model["passthrough"], tuple(model["g_channels"]), model["kernel"], model["zero_last"])
    d = TextureDiscriminator(2 if loss["conditional_d"] else 1, model["passthrough"], tuple(model["d_channels"]),
                             model["kernel"], delta=model.get("d_delta", False))
    return g, d


RECON_UNITS = ("normalised", "features")


def _objective_options(model: dict, loss: dict, recon_scale=None) -> dict:
    return dict(adversarial=loss["adversarial"], adv_weight=loss["adv_weight"], recon=loss["recon"],
                recon_weight=loss["recon_weight"], conditional_d=loss["conditional_d"], cond_dim=1,
                d_scale=loss["d_scale"], fm_weight=loss["fm_weight"], recon_scale=recon_scale,
                ms_weight=loss["ms_weight"], gv_weight=loss.get("gv_weight", 0.0), passthrough=model["passthrough"])


def recon_scales(meta: dict, loss: dict) -> list:
    """Per-dimension weights of the reconstruction term, one per postfilter (band), or Nones.

    ``recon_units: features`` scales the normalised features back by the natural standard
    deviation, so the distance weighs each dimension as MCD (mel-cepstra) or LSD (log
    amplitudes) do; passed-through dimensions get 0 (the generator copies them), and the
    weights are divided by their root mean square over the filtered dimensions, so a
    ``recon_weight`` means about as much in either unit."""
    layout = stored_layout(meta)
    parts = len(layout.edges) if layout else 1
    if loss.get("recon_units", "normalised") == "normalised":
        return [None] * parts
    scale = np.asarray(meta["norm"]["std"], np.float64).copy()
    scale[:meta["model"]["passthrough"]] = 0.0
    scale /= np.sqrt(np.mean(scale[meta["model"]["passthrough"]:] ** 2))
    pieces = band_split(scale, layout) if layout else [scale]
    return [torch.tensor(p, dtype=torch.float32) for p in pieces]


class PostfilterObjective(PairedObjective):
    """The paired objective plus an optional modulation-spectrum term on the generator
    (``loss.ms_weight``, a schedule): the log power of the output's trajectories at each
    modulation frequency, over the batch, against the natural frames'. The adversarial
    loss restores slow modulations first; fast ones (frame-to-frame fluctuation, a few
    percent of the energy) barely move a discriminator, and this term prices them."""

    def __init__(self, generator, discriminator, *, ms_weight=0.0, gv_weight=0.0, passthrough: int = 0, **options):
        super().__init__(generator, discriminator, **options)
        self.ms_weight = Schedule(ms_weight, "loss.ms_weight")
        self.gv_weight = Schedule(gv_weight, "loss.gv_weight")
        self.skip = int(passthrough)  # the passed-through dims the distribution terms leave out

    def losses(self, group, batch, out, step):
        losses = super().losses(group, batch, out, step)
        if group != "g":
            return losses
        for name, weight, term in (("ms", self.ms_weight(step), modulation_loss), ("gv", self.gv_weight(step), gv_loss)):
            if weight > 0:
                losses[name] = term(out["fake"], batch["y"], self.skip)
                losses["total"] = losses["total"] + weight * losses[name]
        return losses


def _paired(model: dict, loss: dict, recon_scale=None) -> PostfilterObjective:
    return PostfilterObjective(*_networks(model, loss), **_objective_options(model, loss, recon_scale))


class _Meta:
    resume_keys = ("family", "kind", "features", "stft", "bands", "model")

    def metadata(self) -> dict:
        return copy.deepcopy(self.meta)

    def upgrade_metadata(self, meta: dict) -> dict:
        if isinstance(meta.get("model"), dict):  # checkpoints from before a model key existed: its default
            meta["model"] = {**{k: v for k, v in MODEL_DEFAULTS.items() if k not in meta["model"]}, **meta["model"]}
        return meta


class MelCepstrumPostfilter(_Meta, PostfilterObjective):
    def __init__(self, meta: dict, loss: dict):
        PostfilterObjective.__init__(self, *_networks(meta["model"], loss),
                                     **_objective_options(meta["model"], loss, recon_scales(meta, loss)[0]))
        self.meta = meta


class BandPostfilters(_Meta, Composite):
    """One paired GAN per band; batches are split into bands on the way in."""

    def __init__(self, meta: dict, loss: dict):
        scales = recon_scales(meta, loss)
        Composite.__init__(self, {f"band{i}": _paired(meta["model"], loss, scale) for i, scale in enumerate(scales)})
        self.meta = meta
        self.layout = stored_layout(meta)

    def split_batch(self, batch: dict) -> dict:
        xs, ys = band_split(batch["x"], self.layout), band_split(batch["y"], self.layout)
        return {f"band{i}": {"x": x, "y": y} for i, (x, y) in enumerate(zip(xs, ys))}

    def generate(self, batch, step):
        return Composite.generate(self, self.split_batch(batch), step)

    def losses(self, group, batch, out, step):
        return Composite.losses(self, group, self.split_batch(batch), out, step)


def band_layout(cfg: dict) -> BandLayout:
    return BandLayout.from_config(STFTConfig.from_dict(cfg["stft"]).bins, cfg["model"]["n_bands"],
                                  cfg["model"]["band_overlap"], cfg["model"]["band_edges"])


def stored_layout(meta: dict) -> BandLayout | None:
    """The band layout a checkpoint's metadata records (None for the mel-cepstrum model)."""
    if meta["kind"] != "stft":
        return None
    return BandLayout(meta["stft"]["n_fft"] // 2 + 1, tuple(tuple(e) for e in meta["bands"]))


def _metadata(cfg: dict, features: dict, norm: dict) -> dict:
    kind = TASKS[cfg["task"]]
    return {"family": "gan_postfilter", "kind": kind, "features": dict(features),
            "stft": STFTConfig.from_dict(cfg["stft"]).to_dict() if kind == "stft" else None, "norm": norm,
            "model": dict(cfg["model"]), "bands": [list(e) for e in band_layout(cfg).edges] if kind == "stft" else None}


def build_task(cfg: dict):
    kind = TASKS[cfg["task"]]
    data = cfg["data"]
    store = open_store(cfg)
    stft = STFTConfig.from_dict(cfg["stft"]) if kind == "stft" else None
    report_path = None
    if cfg.get("out_dir"):
        from pathlib import Path

        Path(cfg["out_dir"]).mkdir(parents=True, exist_ok=True)
        report_path = Path(cfg["out_dir"]) / "alignment.json"
    pairs, report = paired_utterances(store, data["synthetic"], data["natural"], "train", kind, stft, report_path)
    if report["dtw_pairs"]:
        print(f"alignment: {report['dtw_pairs']} of {report['pairs']} pairs by DTW (mean stretch "
              f"{report['mean_stretch']:.1%}, max {report['max_stretch']:.1%})")
    if report["unpaired"]:
        print(f"alignment: {len(report['unpaired'])} utterance(s) without a partner left out, e.g. {report['unpaired'][0]}")
    meta = _metadata(cfg, store.config.to_dict(), natural_statistics(pairs))
    model = _model(meta, cfg["loss"])
    crops = PairedCrops(pairs, meta["norm"], data["segment_frames"])
    if crops.too_short:
        print(f"data: {crops.too_short} pair(s) shorter than data.segment_frames={data['segment_frames']} left out")
    rank, world = launch_rank_world()
    return model, ResumableLoader(crops, data["batch_size"], seed=int(cfg["train"]["seed"]), rank=rank, world=world)


def _model(meta: dict, loss: dict):
    return BandPostfilters(meta, loss) if meta["kind"] == "stft" else MelCepstrumPostfilter(meta, loss)


def synthetic(cfg: dict):
    kind = TASKS[cfg["task"]]
    dims = STFTConfig.from_dict(cfg["stft"]).bins if kind == "stft" else cfg["features"]["spectral_dim"]
    rng = np.random.default_rng(0)
    pairs = [(f"u{i}", rng.standard_normal((300, dims)).astype(np.float32),
              rng.standard_normal((300, dims)).astype(np.float32)) for i in range(16)]
    meta = _metadata(cfg, cfg["features"], natural_statistics(pairs))
    return _model(meta, cfg["loss"]), ResumableLoader(PairedCrops(pairs, meta["norm"], cfg["data"]["segment_frames"]),
                                                      cfg["data"]["batch_size"])


class Postfilter(nn.Module):
    """Inference: normalised (1, 1, frames, dims) features -> postfiltered, for either kind.
    Long inputs run in chunks of ``chunk_frames`` with exact context (bounded memory)."""

    def __init__(self, meta: dict, generators: list[TexturePostfilter]):
        super().__init__()
        self.meta = meta
        self.bands = nn.ModuleList(generators)
        self.layout = stored_layout(meta)

    @torch.no_grad()
    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None, chunk_frames: int = 2000):
        parts = band_split(x, self.layout) if self.layout else [x]
        out = []
        for g, part in zip(self.bands, parts):
            noise = torch.randn(g.noise_shape(part), generator=generator, device=part.device, dtype=part.dtype)
            out.append(postfilter_in_chunks(g, part, noise, chunk_frames))
        return band_merge(out, self.layout) if self.layout else out[0]

    def apply(self, feats: np.ndarray, seed: int = 0, chunk_frames: int = 2000) -> np.ndarray:
        """(frames, dims) features in their natural units -> postfiltered, same units."""
        mean, std = (np.asarray(self.meta["norm"][k], np.float32) for k in ("mean", "std"))
        x = torch.from_numpy(((np.asarray(feats, np.float32) - mean) / std)[None, None])
        y = self(x, torch.Generator().manual_seed(seed), chunk_frames)[0, 0].numpy()
        return (y * std + mean).astype(np.float64)


def load_postfilter(meta: dict, state: dict | None) -> Postfilter:
    """The generators of a checkpoint (``state`` None: as initialised, a baseline)."""
    if meta.get("family") != "gan_postfilter":
        raise VcganError(f"not a GAN postfilter checkpoint (family {meta.get('family')!r})")
    m = meta["model"]
    n = len(meta["bands"]) if meta["kind"] == "stft" else 1
    gens = [TexturePostfilter(m["passthrough"], tuple(m["g_channels"]), m["kernel"], m["zero_last"]) for _ in range(n)]
    if state is not None:
        for i, g in enumerate(gens):
            prefixes = ([f"parts.band{i}.generators.g.", f"generators.band{i}.g."] if meta["kind"] == "stft"
                        else ["generators.g."])
            for prefix in prefixes:  # later prefixes (the EMA's) win
                sub = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
                if sub:
                    g.load_state_dict(sub)
    return Postfilter(meta, gens).eval()


def _load_for_inference(path, checkpoint, **options):
    from .apply import load_checkpoint_postfilter  # apply.py imports this module

    return load_checkpoint_postfilter(path, checkpoint, **options)


def check(cfg: dict) -> None:
    kind = TASKS[cfg["task"]]
    m, loss = cfg["model"], cfg["loss"]
    reconstruction_loss(loss["recon"], "config key 'loss.recon'")
    if loss["recon_units"] not in RECON_UNITS:
        raise ConfigError(f"config key 'loss.recon_units': unknown {loss['recon_units']!r}; "
                          f"choose from {list(RECON_UNITS)}")
    if m["kernel"] % 2 == 0:
        raise ConfigError(f"config key 'model.kernel': must be odd (same-size convolutions), got {m['kernel']}")
    dims = cfg["features"]["spectral_dim"] if kind == "mcep" else None
    if dims is not None and not 0 <= m["passthrough"] < dims:
        raise ConfigError(f"config key 'model.passthrough': {m['passthrough']} must be in [0, {dims})")
    if kind == "stft":
        band_layout(cfg)  # raises for a bad layout
        if cfg["data"]["segment_frames"] < 8:
            raise ConfigError("config key 'data.segment_frames': at least 8 frames")


FAMILY = register(Family(
    name="gan_postfilter", tasks=tuple(TASKS), defaults=defaults, build=build_task, synthetic=synthetic,
    load=lambda path, checkpoint, **options: _load_for_inference(path, checkpoint, **options), applies="postfilter", check=check,
    types={"model.band_edges": list, **{f"loss.{k}": "schedule" for k in ("adv_weight", "recon_weight", "fm_weight", "ms_weight", "gv_weight")}},
    minimums=[("data.segment_frames", 8), ("data.batch_size", 1), ("model.kernel", 1)],
    description="GAN postfilters for synthetic speech (mel-cepstrum GAN-PF; band-split STFT GAN-PF)",
))
