"""WaveCycleGAN / WaveCycleGAN2: lengths, time invariance and aliasing, the differentiable
log-mel, the multi-view discriminator's weighting, chunked postfiltering, a training step,
exact resume and the CLI, on the bundled festival speech."""
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

import vcgan
from conftest import make_unpaired_root
from vcgan.cli import main as cli
from vcgan.engine.losses import AdversarialLoss, ViewScores
from vcgan.engine.trainer import Trainer
from vcgan.errors import ConfigError
from vcgan.models.wavecyclegan.apply import WavePostfilter
from vcgan.models.wavecyclegan.family import build_discriminator, defaults
from vcgan.models.wavecyclegan.networks import (LogMel, WaveGeneratorV1, WaveGeneratorV2, band_energy,
                                                receptive_field)
from vcgan.nn import GatedUpsample, PixelShuffle1d
from vcgan.training import build, resolve_config

SR = 16000


def run(args) -> int:
    return cli([str(a) for a in args])


def _untrained(version: int, seed: int = 0) -> torch.nn.Module:
    """A randomly initialised generator without the residual path (its output is all network)."""
    torch.manual_seed(seed)
    g = WaveGeneratorV1(8, 15, 15, 2, 2, "none", False) if version == 1 else \
        WaveGeneratorV2(8, 15, 3, (1, 2, 4), 3, 15, False)
    return g.eval()


@pytest.mark.parametrize("version", [1, 2])
def test_output_length_equals_input_length_for_any_length(version):
    g = _untrained(version)
    with torch.no_grad():
        for n in (257, 1000, 1001, 1003, 4097):  # v1's stride is 4: most of these are not multiples of it
            assert g(torch.randn(2, 1, n)).shape == (2, 1, n)


def test_v2_generator_has_no_layer_that_resamples_time():
    g = WaveGeneratorV2(**{k: v for k, v in [("channels", 8)]})
    convs = [m for m in g.modules() if isinstance(m, torch.nn.Conv1d)]
    assert convs and all(m.stride == (1,) for m in convs)
    assert not any(isinstance(m, (torch.nn.ConvTranspose1d, PixelShuffle1d, GatedUpsample, torch.nn.AvgPool1d,
                                  torch.nn.Upsample)) for m in g.modules())
    v1 = WaveGeneratorV1(8)
    assert any(m.stride == (2,) for m in v1.modules() if isinstance(m, torch.nn.Conv1d))


def test_a_tone_through_v2_stays_on_its_harmonics_while_v1_images_it():
    """1.6 kHz at 16 kHz: a time-invariant non-linear filter can only add its multiples (they
    all fold onto multiples again); v1's decimation and pixel-shuffle put energy elsewhere."""
    t = np.arange(SR) / SR
    x = torch.tensor(0.5 * np.sin(2 * np.pi * 1600 * t), dtype=torch.float32)[None, None]
    harmonics = np.arange(0, SR / 2 + 1, 1600)
    off = {}
    for version in (1, 2):
        with torch.no_grad():
            y = _untrained(version)(x)[0, 0].numpy()
        middle = y[2000:2000 + 8000]  # 800 whole periods, away from the edges
        on_e, off_e = band_energy(middle, SR, harmonics)
        off[version] = off_e / (on_e + off_e)
    assert off[2] < 1e-8  # float rounding: ~3e-10 of the energy off the harmonics
    assert off[1] > 1e-4 and off[1] > 1e4 * off[2]  # v1: ~1e-3


def test_the_tone_sweep_measures_image_components_of_a_filter():
    from vcgan.metrics.aliasing import tone_sweep

    assert tone_sweep(lambda x: x, SR)["mean_share"] < 1e-12  # the identity: nothing off the harmonics (rounding)
    clipped = tone_sweep(lambda x: np.clip(x, -0.05, 0.05), SR)  # time-invariant, non-linear: harmonics only
    assert clipped["mean_share"] < 1e-12
    held = tone_sweep(lambda x: np.repeat(x[::2], 2)[: len(x)], SR)  # decimate and hold: images at sr/2 - f
    assert held["mean_db"] > -20 and min(r["share"] for r in held["tones_hz"].values()) > 1e-4

    def through(g):
        return lambda x: g(torch.tensor(x, dtype=torch.float32)[None, None])[0, 0].detach().numpy()

    v1, v2 = (tone_sweep(through(_untrained(v)), SR) for v in (1, 2))
    assert v2["mean_share"] < 1e-8 < v1["mean_share"]


def test_the_filter_output_is_the_input_through_per_sample_taps_and_silence_stays_silent():
    torch.manual_seed(0)
    g = WaveGeneratorV2(8, 15, 3, (1, 2, 4), 3, 15, True, filter_taps=5).eval()
    x = torch.randn(2, 1, 1000)
    with torch.no_grad():
        assert torch.equal(g(x), x)  # zero-initialised taps: training starts from the input
        torch.nn.init.normal_(g.net[-1].weight, std=0.1)
        taps, y = g.net(x), g(x)
    assert taps.shape == (2, 5, 1000)
    for b, t in [(0, 100), (1, 517), (0, 998)]:  # the last one reads zeros past the end
        shifted = [x[b, 0, t + k - 2] if 0 <= t + k - 2 < 1000 else 0.0 for k in range(5)]
        by_hand = x[b, 0, t] + sum(taps[b, k, t] * shifted[k] for k in range(5))
        torch.testing.assert_close(y[b, 0, t], by_hand)
    with torch.no_grad():
        assert g(torch.zeros(1, 1, 800)).abs().max() == 0  # the network's biases add nothing to silence
    # still a time-invariant system: a tone keeps to its harmonics
    tone = torch.tensor(0.5 * np.sin(2 * np.pi * 1600 * np.arange(SR) / SR), dtype=torch.float32)[None, None]
    with torch.no_grad():
        middle = g(tone)[0, 0, 2000:10000].numpy()
    on_e, off_e = band_energy(middle, SR, np.arange(0, SR / 2 + 1, 1600))
    assert off_e / (on_e + off_e) < 1e-8
    with pytest.raises(ConfigError, match="config key 'model.filter_taps': 0 or an odd number of taps"):
        WaveGeneratorV2(8, filter_taps=4)


def test_log_mel_matches_librosa_and_passes_gradients_to_the_waveform(demo_corpus):
    import librosa

    from vcgan.features import load_audio

    x = load_audio(sorted((demo_corpus / "kal" / "test").glob("*.flac"))[0], SR)[:16000]
    mel = LogMel(SR, n_fft=1024, hop_length=160, n_mels=80)
    ref = librosa.feature.melspectrogram(y=x, sr=SR, n_fft=1024, hop_length=160, n_mels=80, power=1.0)
    got = mel.amplitude(torch.tensor(x, dtype=torch.float32)[None, None])[0].numpy()
    assert got.shape == ref.shape
    loud = ref > 1e-3 * ref.max()
    np.testing.assert_allclose(got[loud], ref[loud], rtol=1e-3)
    np.testing.assert_allclose(np.log(got + 1e-5), np.log(ref + 1e-5), atol=2e-3)
    w = torch.tensor(x, dtype=torch.float32)[None, None].requires_grad_(True)
    mel(w).mean().backward()
    assert torch.isfinite(w.grad).all() and w.grad.abs().sum() > 0


def test_the_views_losses_sum_with_their_weights():
    cfg = defaults("wavecyclegan2")
    m, loss = cfg["model"], {**cfg["loss"], "wave_weight": 0.7, "mel_weight": 0.3}
    m["wave_d"].update(scales=2, periods=[3])
    torch.manual_seed(0)
    d = build_discriminator(SR, m, loss)
    assert set(d.discs) == {"wave", "wave_down2", "period3", "mel"}
    x = 0.1 * torch.randn(2, 1, 4000)
    scores = d(x)
    assert isinstance(scores, ViewScores)
    adv = AdversarialLoss("lsgan")
    weights = (("wave", 0.7), ("wave_down2", 0.7), ("period3", 0.7), ("mel", 0.3))
    by_hand = sum(w * adv.g_loss(d.discs[k](d.view(k, x))) for k, w in weights)
    torch.testing.assert_close(adv.g_loss(scores), by_hand)
    real, fake = d(x), d(x.flip(-1))
    torch.testing.assert_close(adv.d_loss(real, fake), sum(w * adv.d_loss(real[k][1], fake[k][1]) for k, w in weights))
    assert d.view("period3", x).shape == (2, 1, 1334, 3)  # 4000 samples folded by 3, zero-padded
    # the log-mel view is a module: its filterbank moves with the discriminator
    assert "mel" in dict(d.named_children())["view_transforms"]


@pytest.mark.parametrize("version", [1, 2])
def test_chunked_postfiltering_equals_the_whole_file_and_has_no_jump_at_the_joins(version):
    g = _untrained(version, seed=1)
    meta = {"family": "wavecyclegan", "version": version, "sample_rate": SR, "gains": {"synthetic": 2.0, "natural": 1.0},
            "model": {}}
    pf = WavePostfilter(g, meta)
    rng = np.random.default_rng(0)
    x = 0.1 * rng.standard_normal(SR * 3 + 123)
    whole = pf.filter_wave(x, chunk_frames=0)
    chunked = pf.filter_wave(x, chunk_frames=100)  # 0.5-s windows: six joins or more
    window, overlap = pf.chunking(100)
    assert window == 8000 and overlap >= 2 * receptive_field(g) and len(chunked) == len(x)
    np.testing.assert_allclose(chunked, whole, atol=1e-5)
    # no jump at a join: the sample-to-sample step there is no larger than anywhere else
    assert np.abs(np.diff(chunked)).max() <= np.abs(np.diff(whole)).max() + 1e-5


def test_the_files_edges_are_filtered_with_mirrored_context_not_zeros():
    """A steady input gives a steady output up to the file's first and last samples: the edges
    see the signal mirrored, not the zeros the convolutions pad with (a step there, which the
    network answers with a transient: a click)."""
    g = _untrained(2, seed=3)
    meta = {"family": "wavecyclegan", "version": 2, "sample_rate": SR, "gains": {"synthetic": 1.0, "natural": 1.0},
            "model": {}}
    x = 0.1 + 1e-4 * np.random.default_rng(0).standard_normal(SR)
    with torch.no_grad():  # the bare network: its edges jump by about the level itself
        bare = g(torch.tensor(x, dtype=torch.float32)[None, None])[0, 0].numpy()
    assert np.abs(bare[:200] - bare[SR // 2]).max() > 0.05
    y = WavePostfilter(g, meta).filter_wave(x)
    inside = y[SR // 4: 3 * SR // 4]
    edges = np.concatenate([y[:200], y[-200:]])
    assert np.abs(edges - inside.mean()).max() < 10 * inside.std() + 1e-4


@pytest.fixture(scope="module")
def pairs_root(tmp_path_factory, demo_corpus) -> Path:
    """Four unpaired training files per side, two test pairs."""
    return make_unpaired_root(tmp_path_factory.mktemp("wave_pairs"), 4, 2, demo_corpus)


def _config(root, out, task="wavecyclegan2", *extra):
    return resolve_config(None, [
        f"task={task}", f"data.root={root}", f"out_dir={out}", "data.crop=2048", "data.batch_size=2",
        "model.channels=8", "model.res_blocks=2", "model.wave_d.channels=4", "model.wave_d.downsamplings=2",
        "model.mel_d.channels=4", "model.mel_d.downsamplings=2", "model.mel.n_fft=512", "model.mel.n_mels=40",
        "train.steps=2", "train.log_every=1", "train.checkpoint_every=0", "train.progress=false",
        "train.precision=fp32", *extra])


@pytest.mark.parametrize("task", ["wavecyclegan", "wavecyclegan2"])
def test_one_training_step_updates_both_generators_and_discriminators(pairs_root, tmp_path, task):
    cfg = _config(pairs_root, tmp_path, task)
    model, data = build(cfg)
    assert model.gains["synthetic"] > 0 and model.gains["natural"] > 0
    views = set(model.discriminators["b"].discs)
    assert views == ({"wave", "mel"} if task == "wavecyclegan2" else {"wave"})
    before = {k: v.detach().clone() for k, v in model.state_dict().items()}
    trainer = Trainer(model, data, cfg["train"], tmp_path, cfg)
    scalars = trainer.train_step(data.next_batch())
    assert all(np.isfinite(v) for v in scalars.values())
    assert {"g/adv", "g/cycle", "g/identity", "d/adv_a", "d/adv_b"} <= set(scalars)
    changed = {k.split(".")[0] + "." + k.split(".")[1] for k, v in model.state_dict().items()
               if v.dtype.is_floating_point and not torch.equal(v, before[k])}
    assert {"generators.ab", "generators.ba", "discriminators.a", "discriminators.b"} <= changed


def test_the_modulation_term_compares_the_outputs_log_mel_trajectories_with_the_natural_batchs(pairs_root, tmp_path):
    from vcgan.nn import modulation_loss

    cfg = _config(pairs_root, tmp_path, "wavecyclegan2", "loss.ms_weight=2.0")
    model, data = build(cfg)
    batch = data.next_batch()
    out = model.generate(batch, 0)
    losses = model.generator_losses(batch, out, 0)
    traj = lambda x: model.ms_mel(x).transpose(1, 2).unsqueeze(1)  # noqa: E731
    by_hand = modulation_loss(traj(out["fake_b"]), traj(batch["b"]))
    torch.testing.assert_close(losses["ms"], by_hand)
    without = {k: v for k, v in losses.items() if k not in ("ms", "total")}
    torch.testing.assert_close(losses["total"], without["adv"] + 10 * without["cycle"] + 5 * without["identity"]
                               + 2.0 * by_hand)
    assert by_hand > 0 and traj(batch["b"]).shape[2] == 2048 // 80 + 1  # 5-ms frames
    with pytest.raises(ConfigError, match="config key 'data.crop': too short for the modulation spectrum"):
        build(_config(pairs_root, tmp_path, "wavecyclegan2", "loss.ms_weight=1.0", "data.crop=512",
                      "loss.mel_weight=0"))


def test_the_gv_term_is_the_batch_log_gv_distance_and_the_mean_term_keeps_the_inputs_average(pairs_root, tmp_path):
    from scipy.fft import dct

    from vcgan.metrics.oversmoothing import log_gv_distance
    from vcgan.nn import gv_loss

    cfg = _config(pairs_root, tmp_path, "wavecyclegan2", "loss.gv_weight=3.0", "model.ms_mel.cepstra=24")
    model, data = build(cfg)
    batch = data.next_batch()
    out = model.generate(batch, 0)
    losses = model.generator_losses(batch, out, 0)
    assert "ms" not in losses
    # the trajectories are coefficients 1..24 of the orthonormal DCT of the log-mel frames
    log_mel = model.ms_mel(batch["b"]).transpose(1, 2).detach().numpy()
    cep = model.trajectories(batch["b"]).detach().numpy()[:, 0]
    np.testing.assert_allclose(cep, dct(log_mel, norm="ortho", axis=-1)[..., 1:25], atol=1e-4)
    # the term is the squared log-GV distance of the two batches (per-crop variance, batch mean)
    fake = model.trajectories(out["fake_b"]).detach().numpy()[:, 0]
    gv = lambda t: t.var(axis=1).mean(axis=0)  # noqa: E731
    torch.testing.assert_close(losses["gv"].double(), torch.tensor(log_gv_distance(gv(fake), gv(cep), slice(None)) ** 2,
                                                                   dtype=torch.float64), rtol=1e-3, atol=1e-6)
    without = {k: v for k, v in losses.items() if k not in ("gv", "total")}
    torch.testing.assert_close(losses["total"], without["adv"] + 10 * without["cycle"] + 5 * without["identity"]
                               + 3.0 * losses["gv"])
    # its gradient on an over-smoothed trajectory raises the variance towards the reference's
    smooth = torch.tensor(cep[:, None] * 0.5, requires_grad=True)
    gv_loss(smooth, torch.tensor(cep[:, None])).backward()
    centred = smooth.detach() - smooth.detach().mean(2, keepdim=True)
    assert (smooth.grad * centred).sum() < 0  # descending the loss spreads the trajectories out
    # the mean term compares the output's average cepstra with its own input's, crop by crop
    model, data = build(_config(pairs_root, tmp_path, "wavecyclegan2", "loss.mean_weight=4.0",
                                "model.ms_mel.cepstra=24"))
    batch = data.next_batch()
    with torch.no_grad():
        torch.nn.init.normal_(model.generators["ab"].net[-1].weight, std=0.05)  # an output that differs
    out = model.generate(batch, 0)
    losses = model.generator_losses(batch, out, 0)
    fake, source = model.trajectories(out["fake_b"]), model.trajectories(batch["a"])
    by_hand = ((fake.mean(2) - source.mean(2)) ** 2).mean()
    torch.testing.assert_close(losses["mean"], by_hand)
    assert by_hand > 0 and "gv" not in losses and "ms" not in losses
    torch.testing.assert_close(losses["total"], losses["adv"] + 10 * losses["cycle"] + 5 * losses["identity"]
                               + 4.0 * by_hand)
    with pytest.raises(ConfigError, match="config key 'model.ms_mel.cepstra': a whole number from 0 to n_mels - 1"):
        build(_config(pairs_root, tmp_path, "wavecyclegan2", "model.ms_mel.cepstra=40"))


def test_crops_use_one_gain_per_corpus_not_per_crop(pairs_root, tmp_path):
    model, data = build(_config(pairs_root, tmp_path))
    crops, wave = data.dataset, data.dataset.a[0]
    a = crops.get(0, np.random.default_rng(0))["a"][0]
    start = int(np.random.default_rng(0).integers(0, len(wave) - crops.crop + 1))  # the crop's first draw
    np.testing.assert_allclose(a, wave[start:start + crops.crop] * crops.gain_a, rtol=1e-6)
    levels = {round(float(np.sqrt(np.mean(crops.get(0, np.random.default_rng(s))["a"] ** 2))), 4) for s in range(6)}
    assert len(levels) > 1  # crops keep their own level


def test_resume_gives_identical_next_step(pairs_root, tmp_path):
    cfg = _config(pairs_root, tmp_path / "run", "wavecyclegan2", "train.checkpoint_every=2")

    def fresh():
        model, data = build(cfg)
        return Trainer(model, data, cfg["train"], cfg["out_dir"], cfg)

    t = fresh()
    t.fit()
    expected = t.train_step(t.data.next_batch())
    r = fresh()
    assert r.resume(tmp_path / "run" / "checkpoints" / "latest.pt") and r.step == 2
    assert r.train_step(r.data.next_batch()) == expected


def test_cli_trains_and_postfilters_keeping_length_and_level(pairs_root, tmp_path, capsys):
    out = tmp_path / "run"
    cfg = _config(pairs_root, out)
    (tmp_path / "c.yaml").write_text(__import__("yaml").safe_dump({k: v for k, v in cfg.items() if k != "out_dir"}))
    assert run(["train", "--config", tmp_path / "c.yaml", f"out_dir={out}"]) == 0
    ckpt = out / "checkpoints" / "latest.pt"
    pf = vcgan.load(ckpt)
    assert pf.command == "vcgan postfilter" and pf.task == "wavecyclegan2"
    assert "receptive field" not in pf.describe() and "receptive_field" in pf.describe()
    src = pairs_root / "synthetic" / "test"
    assert run(["postfilter", "--checkpoint", ckpt, src, "-o", tmp_path / "pf", "--chunk-frames", "200"]) == 0
    for f in sorted(src.glob("*.flac")):
        x, _ = sf.read(f)
        y, sr = sf.read(tmp_path / "pf" / f"{f.stem}.wav")
        assert sr == SR and len(y) == len(x)
        # two steps from the identity: the output is the input, changed a little
        assert np.corrcoef(x, y)[0, 1] > 0.95
        assert 0.8 < np.sqrt(np.mean(y ** 2)) / np.sqrt(np.mean(x ** 2)) < 1.25
        assert np.abs(y - x).max() > 1e-4
    assert run(["info", ckpt]) == 0
    assert "receptive field" in capsys.readouterr().out
    # options of the GAN postfilters are refused by name, before anything is written
    assert run(["postfilter", "--checkpoint", ckpt, "--synthesis", "world", src, "-o", tmp_path / "no"]) == 2
    assert "--synthesis: not an option of a waveform postfilter" in capsys.readouterr().err
    assert not (tmp_path / "no").exists()
    # the other commands refuse it in one sentence
    assert run(["convert", "--checkpoint", ckpt, "--source", "a", "--target", "b", src, "-o", tmp_path / "c"]) == 2
    assert "is a wavecyclegan2 checkpoint" in capsys.readouterr().err


def test_config_errors_name_the_key(pairs_root, tmp_path):
    with pytest.raises(ConfigError, match="config key 'model.norm': WaveCycleGAN2 normalises nothing over time"):
        build(_config(pairs_root, tmp_path, "wavecyclegan2", "model.norm=instance"))
    with pytest.raises(ConfigError, match=r"config key 'data.crop': a multiple of the generator's stride 4"):
        build(_config(pairs_root, tmp_path, "wavecyclegan", "data.crop=2050"))
    with pytest.raises(ConfigError, match=r"config keys 'data.root' and 'data.natural': .*nope/train is missing \(expected ROOT/nope/train/\*.wav\)"):
        build(_config(pairs_root, tmp_path, "wavecyclegan2", "data.natural=nope"))
