"""WaveCycleGAN and WaveCycleGAN2 = the engine's cycle-consistent objective + waveform
networks + multi-view discriminators, trained on two unpaired piles of wavs.

* ``wavecyclegan`` (Tanaka et al., SLT 2018): the strided gated CNN generator, a
  waveform discriminator.
* ``wavecyclegan2`` (Tanaka et al., 2019): the stride-1 dilated generator, and each
  domain's discriminator a :class:`~vcgan.engine.objectives.MultiViewDiscriminator`
  of a waveform view and a log-mel view computed from the waveform on the fly.

Domain ``a`` is the synthetic speech, ``b`` the natural; ``G_ab`` is the postfilter.
"""
from __future__ import annotations

import copy

import numpy as np
import scipy.fft
import torch

from ...engine.data import ResumableLoader
from ...engine.distributed import launch_rank_world
from ...engine.objectives import CycleConsistentObjective, MultiViewDiscriminator
from ...engine.registry import Family, register
from ...engine.schedule import Schedule
from ...errors import ConfigError
from ...nn import gv_loss, modulation_loss
from ...features.audio import list_audio, load_audio
from .data import RandomWaves, UnpairedCrops, active_rms, domain_dir, load_domain
from .networks import (Downsample, LogMel, PeriodDiscriminator, Periodic, SpectrogramDiscriminator, WaveGeneratorV1,
                       WaveGeneratorV2, WavePatchDiscriminator, check_filter_taps, receptive_field)

VERSIONS = {"wavecyclegan": 1, "wavecyclegan2": 2}

MODEL_DEFAULTS = {
    "channels": 32,  # generator width (v1: of its first layer, doubled by each downsampling)
    "in_kernel": 15,  # input (and v2 output) layer; the unofficial v1 port: 59
    "kernel": 3,  # v2 residual blocks (v1: its down/upsampling kernel, see defaults())
    "res_blocks": 6,
    "downsamplings": 2,  # v1 only: stride-2 gated downsamplings (total stride 2 ** n)
    "dilations": [1, 2, 4, 8, 16, 32],  # v2 only: cycled over the residual blocks
    "out_kernel": 15,  # v2 only
    "norm": "none",  # v1 only: "instance" as CycleGAN-VC (then a chunk's output depends on its start)
    "residual": True,  # output = input + G(input), the last layer starting at zero
    # v2 only: K > 0 (odd): G(input) = the input through a time-varying K-tap FIR filter whose taps
    # the network gives per sample (nothing added where the input is silent); 0: the papers' G
    "filter_taps": 0,
    # scales 3: MelGAN's multi-scale D; periods [2, 3, 5, 7, 11]: HiFi-GAN's multi-period D beside it
    "wave_d": {"channels": 16, "downsamplings": 3, "scales": 1, "periods": []},
    "mel_d": {"channels": 16, "downsamplings": 3},
    "mel": {"n_fft": 1024, "hop_length": 160, "win_length": None, "n_mels": 80, "fmin": 0.0, "fmax": None},
    # the log-mel whose trajectories loss.ms_weight and loss.gv_weight compare (the measures' 5-ms
    # frame period); cepstra N > 0: its DCT coefficients 1..N instead of the bands (a mel-cepstrum,
    # the domain the GV and MS measures use); 0: the log-mel bands
    "ms_mel": {"n_fft": 512, "hop_length": 80, "win_length": 400, "n_mels": 40, "fmin": 0.0, "fmax": None,
               "cepstra": 0},
}
LOSS_DEFAULTS = {
    "adversarial": "lsgan",
    "cycle_weight": 10.0,
    "identity_weight": [[0, 5.0], ["20%", 0.0]],  # on for the first part of the run, then off (unofficial port)
    # modulation-spectrum term on the postfilter: the batch log-MS of its output's log-mel
    # trajectories (5-ms frames, model.ms_mel) against the natural crops' (unpaired: a statistic
    # of the two batches, not of pairs); 0: off, the papers' objective
    "ms_weight": 0.0,
    # global-variance term on the same trajectories: squared log ratio of the batch-mean per-crop
    # variance of the output's to the natural crops', per dimension (unpaired, as ms_weight)
    "gv_weight": 0.0,
    # keeps the average envelope: squared difference of each crop's mean trajectory (over time)
    # between the postfilter's output and its own input (the dynamics may change, the colour not;
    # what GV scaling keeps too); needs no natural speech
    "mean_weight": 0.0,
    "wave_weight": 1.0,  # weight of the waveform view(s) in each discriminator's loss
    "mel_weight": 1.0,  # of the log-mel view (v2; 0 leaves it out; v1: 0)
    "gp_weight": 10.0,
}
DATA_DEFAULTS = {
    "root": None,  # ROOT/<synthetic>/train/*.wav and ROOT/<natural>/train/*.wav, unpaired
    "synthetic": "synthetic",
    "natural": "natural",
    "sample_rate": 16000,
    "crop": 8000,  # samples per training crop
    "batch_size": 4,
    "level": 0.05,  # each domain's corpus gain brings its active-speech RMS here
}
TRAIN_DEFAULTS = {"g_lr": 2e-4, "d_lr": 1e-4, "steps": 100000, "lr_decay_start": 50000, "log_every": 50,
                  "sample_every": 0}


def defaults(task: str) -> dict:
    model = copy.deepcopy(MODEL_DEFAULTS)
    loss = dict(LOSS_DEFAULTS)
    if VERSIONS[task] == 1:
        model["kernel"] = 15
        loss["mel_weight"] = 0.0
    return {"data": dict(DATA_DEFAULTS), "model": model, "loss": loss, "train": dict(TRAIN_DEFAULTS)}


def build_generator(version: int, m: dict):
    if version == 1:
        return WaveGeneratorV1(m["channels"], m["in_kernel"], m["kernel"], m["downsamplings"], m["res_blocks"],
                               m["norm"], m["residual"])
    return WaveGeneratorV2(m["channels"], m["in_kernel"], m["kernel"], tuple(m["dilations"]), m["res_blocks"],
                           m["out_kernel"], m["residual"], m.get("filter_taps", 0))


def dct_matrix(n: int) -> torch.Tensor:
    """Orthonormal DCT-II, ``(n, n)``: row k is cepstral coefficient k of an n-band log spectrum."""
    return torch.tensor(scipy.fft.dct(np.eye(n), norm="ortho", axis=0), dtype=torch.float32)


def log_mel(sample_rate: int, m: dict, key: str = "mel") -> LogMel:
    mel = m[key]
    return LogMel(sample_rate, mel["n_fft"], mel["hop_length"], mel["win_length"], mel["n_mels"], mel["fmin"],
                  mel["fmax"])


def build_discriminator(sample_rate: int, m: dict, loss: dict) -> MultiViewDiscriminator:
    """Waveform view(s) (the waveform, and average-pooled by 2, 4, ... for ``wave_d.scales`` > 1)
    and, where ``loss.mel_weight`` > 0, the log-mel view."""
    wd, views = m["wave_d"], {}
    for s in range(int(wd["scales"])):
        views["wave" if s == 0 else f"wave_down{2 ** s}"] = (
            Downsample(s) if s else None, WavePatchDiscriminator(wd["channels"], wd["downsamplings"]),
            loss["wave_weight"])
    for p in wd.get("periods") or []:
        views[f"period{p}"] = (Periodic(p), PeriodDiscriminator(wd["channels"], wd["downsamplings"]),
                               loss["wave_weight"])
    if loss["mel_weight"] > 0:
        views["mel"] = (log_mel(sample_rate, m),
                        SpectrogramDiscriminator(m["mel_d"]["channels"], m["mel_d"]["downsamplings"]),
                        loss["mel_weight"])
    return MultiViewDiscriminator(views)


class WaveCycleGAN(CycleConsistentObjective):
    """Domain ``a``: synthetic speech, ``b``: natural speech; ``generators.ab`` is the postfilter."""

    resume_keys = ("family", "version", "sample_rate", "gains", "model")

    def __init__(self, version: int, sample_rate: int, gains: dict, model: dict, loss: dict, sample_wave=None):
        g = lambda: build_generator(version, model)  # noqa: E731
        d = lambda: build_discriminator(sample_rate, model, loss)  # noqa: E731
        super().__init__(g(), g(), d(), d(), adversarial=loss["adversarial"], cycle_weight=loss["cycle_weight"],
                         identity_weight=loss["identity_weight"], gp_weight=loss["gp_weight"])
        self.ms_weight = Schedule(loss["ms_weight"], "loss.ms_weight")
        self.gv_weight = Schedule(loss["gv_weight"], "loss.gv_weight")
        self.mean_weight = Schedule(loss["mean_weight"], "loss.mean_weight")
        self.ms_mel = log_mel(sample_rate, model, "ms_mel")  # no weights: in neither optimizer group
        n_cep = int(model["ms_mel"]["cepstra"])
        self.register_buffer("ms_dct", dct_matrix(int(model["ms_mel"]["n_mels"]))[1:n_cep + 1] if n_cep else None,
                             persistent=False)
        self.version, self.sample_rate = version, int(sample_rate)
        self.gains = {k: float(v) for k, v in gains.items()}
        self.model_cfg = copy.deepcopy(model)
        self.sample_wave = sample_wave  # a synthetic test waveform (natural units) for the logger

    def generator_losses(self, batch, out, step):
        losses = super().generator_losses(batch, out, step)
        weights = {"mean": self.mean_weight(step), "ms": self.ms_weight(step), "gv": self.gv_weight(step)}
        on = [name for name, w in weights.items() if w > 0]
        if not on:
            return losses
        fake = self.trajectories(out["fake_b"])
        # the natural batch only for the terms that compare with it; the mean term, with the input
        real = self.trajectories(batch["b"]) if {"ms", "gv"} & set(on) else None
        terms = {"mean": lambda: (fake.mean(2) - self.trajectories(batch["a"]).mean(2)).pow(2).mean(),
                 "ms": lambda: modulation_loss(fake, real), "gv": lambda: gv_loss(fake, real)}
        for name in on:
            losses[name] = terms[name]()
            losses["total"] = losses["total"] + weights[name] * losses[name]
        return losses

    def trajectories(self, x: torch.Tensor) -> torch.Tensor:
        """``(batch, 1, frames, dims)`` trajectories of model.ms_mel: log-mel bands, or their cepstra."""
        t = self.ms_mel(x).transpose(1, 2)
        if self.ms_dct is not None:
            t = t @ self.ms_dct.T
        return t.unsqueeze(1)

    def metadata(self) -> dict:
        return {"family": "wavecyclegan", "version": self.version, "sample_rate": self.sample_rate,
                "gains": dict(self.gains), "model": copy.deepcopy(self.model_cfg),
                "receptive_field": receptive_field(self.generators["ab"])}

    def samples(self, step):
        if self.sample_wave is None:
            return []
        g = self.generators["ab"]
        dev = next(g.parameters()).device
        x = torch.from_numpy(self.sample_wave[None, None] * self.gains["synthetic"]).float().to(dev)
        with torch.no_grad():
            y = g(x).float().cpu().numpy()[0, 0] / self.gains["synthetic"]
        return [("audio", "postfiltered", np.clip(y, -1, 1), self.sample_rate),
                ("audio", "input", np.clip(self.sample_wave, -1, 1), self.sample_rate)]


def corpus_gains(synthetic, natural, sample_rate: int, level: float) -> dict:
    return {"synthetic": level / active_rms(synthetic, sample_rate), "natural": level / active_rms(natural, sample_rate)}


def build_task(cfg: dict):
    data = cfg["data"]
    if not data["root"]:
        raise ConfigError("config key 'data.root': give the folder holding <synthetic>/train and <natural>/train wavs")
    sr, crop = int(data["sample_rate"]), int(data["crop"])
    _, syn = load_domain(data["root"], data["synthetic"], "train", sr, crop, "synthetic")
    _, nat = load_domain(data["root"], data["natural"], "train", sr, crop, "natural")
    gains = corpus_gains(syn, nat, sr, data["level"])
    print(f"data: {len(syn)} synthetic and {len(nat)} natural training files; corpus gains "
          f"{gains['synthetic']:.3g} (synthetic), {gains['natural']:.3g} (natural)")
    sample = _first_test_wave(data, sr)
    model = WaveCycleGAN(VERSIONS[cfg["task"]], sr, gains, cfg["model"], cfg["loss"], sample)
    print(f"generator receptive field: {receptive_field(model.generators['ab'])} samples "
          f"({1000.0 * receptive_field(model.generators['ab']) / sr:.1f} ms)")
    rank, world = launch_rank_world()
    crops = UnpairedCrops(syn, nat, gains, crop, data["level"])
    return model, ResumableLoader(crops, data["batch_size"], seed=int(cfg["train"]["seed"]), rank=rank, world=world)


def _first_test_wave(data: dict, sr: int):
    d = domain_dir(data["root"], data["synthetic"], "test")
    files = list_audio(d) if d.is_dir() else []
    if not files:
        return None
    return load_audio(files[0], sr)[: 4 * sr].astype(np.float32)


def synthetic(cfg: dict):
    model = WaveCycleGAN(VERSIONS[cfg["task"]], cfg["data"]["sample_rate"], {"synthetic": 1.0, "natural": 1.0},
                         cfg["model"], cfg["loss"])
    return model, RandomWaves(cfg["data"]["crop"], cfg["data"]["batch_size"])


def load_generator(meta: dict, state: dict | None) -> torch.nn.Module:
    """The postfilter (``generators.ab``) of a checkpoint; ``state`` None: as initialised."""
    g = build_generator(meta["version"], meta["model"])
    if state is not None:
        prefix = "generators.ab."
        g.load_state_dict({k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)})
    return g.eval()


def check(cfg: dict) -> None:
    m, loss, version = cfg["model"], cfg["loss"], VERSIONS[cfg["task"]]
    if m["norm"] not in ("none", "instance"):
        raise ConfigError(f"config key 'model.norm': unknown normalisation {m['norm']!r}; choose from ['instance', 'none']")
    if version == 2 and m["norm"] != "none":
        raise ConfigError("config key 'model.norm': WaveCycleGAN2 normalises nothing over time (a chunk's output "
                          "would depend on where it starts); leave it 'none'")
    if version == 2 and (not m["dilations"] or not all(isinstance(d, int) and d >= 1 for d in m["dilations"])):
        raise ConfigError(f"config key 'model.dilations': a list of whole numbers >= 1, got {m['dilations']!r}")
    check_filter_taps(m["filter_taps"])
    if version == 1 and m["filter_taps"]:
        raise ConfigError("config key 'model.filter_taps': WaveCycleGAN2 (task wavecyclegan2) only")
    for key in ("in_kernel", "kernel", "out_kernel"):
        if m[key] % 2 == 0:
            raise ConfigError(f"config key 'model.{key}': must be odd (centred convolutions), got {m[key]}")
    if loss["wave_weight"] <= 0:
        raise ConfigError("config key 'loss.wave_weight': the waveform view needs a positive weight")
    if loss["mel_weight"] < 0:
        raise ConfigError(f"config key 'loss.mel_weight': must be >= 0, got {loss['mel_weight']}")
    periods = m["wave_d"]["periods"]
    if not all(isinstance(p, int) and not isinstance(p, bool) and p >= 2 for p in periods) or len(set(periods)) < len(periods):
        raise ConfigError(f"config key 'model.wave_d.periods': distinct whole numbers >= 2, got {periods!r}")
    if m["wave_d"]["scales"] < 1:
        raise ConfigError(f"config key 'model.wave_d.scales': at least 1, got {m['wave_d']['scales']}")
    stride = 2 ** m["downsamplings"] if version == 1 else 1
    if cfg["data"]["crop"] % stride:
        raise ConfigError(f"config key 'data.crop': a multiple of the generator's stride {stride}, got {cfg['data']['crop']}")
    terms_on = any(v > 0 for key in ("ms_weight", "gv_weight", "mean_weight")
                   for _, v in Schedule(loss[key], f"config key 'loss.{key}'").points)
    n_cep = m["ms_mel"]["cepstra"]
    if isinstance(n_cep, bool) or not isinstance(n_cep, int) or not 0 <= n_cep < m["ms_mel"]["n_mels"]:
        raise ConfigError(f"config key 'model.ms_mel.cepstra': a whole number from 0 to n_mels - 1 = "
                          f"{m['ms_mel']['n_mels'] - 1}, got {n_cep!r}")
    if terms_on and cfg["data"]["crop"] < 4 * m["ms_mel"]["hop_length"] + m["ms_mel"]["n_fft"]:
        raise ConfigError(f"config key 'data.crop': too short for the modulation spectrum of model.ms_mel "
                          f"(at least n_fft + 4 hops = {4 * m['ms_mel']['hop_length'] + m['ms_mel']['n_fft']} samples)")
    if loss["mel_weight"] > 0 and cfg["data"]["crop"] < m["mel"]["n_fft"]:
        raise ConfigError(f"config key 'data.crop': at least model.mel.n_fft={m['mel']['n_fft']} samples for the "
                          f"log-mel view, got {cfg['data']['crop']}")


def _load_for_inference(path, checkpoint, **options):
    from .apply import load_wave_postfilter  # apply.py imports this module

    return load_wave_postfilter(path, checkpoint, **options)


FAMILY = register(Family(
    name="wavecyclegan", tasks=tuple(VERSIONS), defaults=defaults, build=build_task, synthetic=synthetic,
    load=lambda path, checkpoint, **options: _load_for_inference(path, checkpoint, **options),
    applies="postfilter", check=check,
    types={"data.root": str, "model.mel.win_length": int, "model.mel.fmax": (int, float), "model.ms_mel.fmax": (int, float),
           **{f"loss.{k}": "schedule" for k in ("cycle_weight", "identity_weight", "ms_weight", "gv_weight", "mean_weight")}},
    minimums=[("data.crop", 256), ("data.batch_size", 1), ("data.sample_rate", 8000), ("model.channels", 2),
              ("model.res_blocks", 0), ("model.wave_d.channels", 4), ("model.mel_d.channels", 2),
              ("data.level", 1e-4)],
    description="unpaired waveform postfilters for synthetic speech (WaveCycleGAN, WaveCycleGAN2)",
))
