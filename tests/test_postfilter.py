"""GAN postfilters: measures, STFT bands, networks, training and the postfilter command."""
import numpy as np
import pytest
import torch

from vcgan.errors import ConfigError, VcganError
from vcgan.features.stft import BandLayout, STFTConfig, band_merge, band_split, stft_analyze, stft_synthesize
from vcgan.metrics.oversmoothing import (global_variance, gv_scaling, log_gv_distance, log_spectral_distance,
                                      modulation_frequencies, modulation_spectrum, ms_distance)


# ---------------------------------------------------------------- measures

def test_global_variance_by_hand():
    a = np.array([[0.0, 1.0], [2.0, 1.0], [4.0, 1.0]])  # variances 8/3 and 0
    b = np.array([[1.0, 0.0], [-1.0, 2.0]])  # variances 1 and 1
    np.testing.assert_allclose(global_variance([a, b]), [(8 / 3 + 1) / 2, 0.5])
    # log distance: RMS over dims 1.. of ln ratios
    assert log_gv_distance(np.array([9.0, 1.0, 4.0]), np.array([1.0, np.e, 4 * np.e ** 2])) == pytest.approx(
        np.sqrt((1 + 4) / 2))


def test_modulation_spectrum_peaks_at_the_modulation_frequency():
    frames = 600
    t = np.arange(frames) * 0.005  # 5 ms frames
    f_mod = modulation_frequencies(128)[8]  # 12.5 Hz
    traj = np.stack([np.zeros(frames) + 3.0, np.sin(2 * np.pi * f_mod * t), 0.1 * np.sin(2 * np.pi * 3.125 * t)], 1)
    ms = modulation_spectrum([traj], 128)
    assert ms.shape == (65, 3)
    assert int(np.argmax(ms[:, 1])) == 8
    assert int(np.argmax(ms[:, 2])) == 2
    # a constant trajectory has no modulation at all (its mean is removed)
    assert ms[:, 0].max() <= -119
    # power scales with amplitude squared: 20 dB for 10x
    assert ms[8, 1] - modulation_spectrum([traj * 10], 128)[8, 1] == pytest.approx(-20, abs=1e-6)


def test_ms_distance_and_short_utterances():
    rng = np.random.default_rng(0)
    x = [rng.standard_normal((n, 4)) for n in (40, 300)]  # 40 frames: shorter than one segment, zero-padded
    ms = modulation_spectrum(x, 64)
    assert np.isfinite(ms).all()
    assert ms_distance(ms, ms) == 0
    assert ms_distance(ms + 3.0, ms) == pytest.approx(3.0)


def test_log_spectral_distance_in_db():
    a = np.zeros((5, 7))
    assert log_spectral_distance(a + np.log(10.0), a) == pytest.approx(20.0)  # 10x amplitude = 20 dB
    with pytest.raises(ValueError, match="aligned"):
        log_spectral_distance(a, np.zeros((4, 7)))


def test_gv_scaling_reaches_the_target_variance_and_keeps_c0():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((200, 5)) * 0.3 + 2.0
    target = np.array([7.0, 1.0, 2.0, 0.5, 4.0])
    y = gv_scaling(x, target)
    np.testing.assert_array_equal(y[:, 0], x[:, 0])
    np.testing.assert_allclose(y[:, 1:].var(0), target[1:])
    np.testing.assert_allclose(y.mean(0), x.mean(0))


# ---------------------------------------------------------------- STFT and bands

@pytest.mark.parametrize("layout", [
    BandLayout.even(257, 4, 16), BandLayout.even(257, 3, 0), BandLayout.even(100, 5, 7), BandLayout.even(257, 1, 0),
    BandLayout(257, ((0, 70), (60, 200), (150, 257))),  # uneven, with overlaps of 10 and 50 bins
])
def test_band_split_merge_is_exact(layout):
    spec = np.random.default_rng(0).standard_normal((33, layout.bins))
    np.testing.assert_allclose(band_merge(band_split(spec, layout), layout), spec, rtol=0, atol=1e-12)
    t = torch.from_numpy(spec)
    torch.testing.assert_close(band_merge(band_split(t, layout), layout), t, rtol=0, atol=1e-12)


def test_band_merge_blends_overlaps_without_a_step():
    layout = BandLayout.even(64, 2, 16)
    lo, hi = np.zeros((1, layout.widths[0])), np.ones((1, layout.widths[1]))
    merged = band_merge([lo, hi], layout)[0]
    (a0, a1), (b0, b1) = layout.edges
    assert merged[:b0].max() == 0 and merged[a1:].min() == 1
    ramp = merged[b0:a1]
    assert np.all(np.diff(ramp) > 0) and np.diff(merged).max() < 0.2  # a ramp, not a jump


def test_bad_band_layouts_are_config_errors():
    with pytest.raises(ConfigError, match="belong to no band"):
        BandLayout(100, ((0, 40), (50, 100)))
    with pytest.raises(ConfigError, match="cover"):
        BandLayout(100, ((0, 40), (30, 90)))
    with pytest.raises(ConfigError, match="too narrow"):
        BandLayout.even(40, 4, 12)


def test_stft_round_trip_with_own_phase_and_griffin_lim():
    sr = 16000
    t = np.arange(sr // 2) / sr
    x = 0.5 * np.sin(2 * np.pi * 220 * t) * np.hanning(len(t))
    cfg = STFTConfig()
    logamp, phase = stft_analyze(x, cfg)
    assert logamp.shape == phase.shape == (len(x) // cfg.hop_length + 1, 257)
    y = stft_synthesize(logamp, phase, cfg, length=len(x))
    assert np.max(np.abs(y - x)) < 1e-4
    g = stft_synthesize(logamp, None, cfg, length=len(x), griffin_lim_iters=16)
    assert log_spectral_distance(stft_analyze(g, cfg)[0], logamp) < 3.0  # magnitudes agree to a few dB
    np.random.seed(1)  # Griffin-Lim's random start is its own: the global generator does not change it
    assert np.array_equal(stft_synthesize(logamp, None, cfg, length=len(x), griffin_lim_iters=16), g)


# ---------------------------------------------------------------- networks

from pathlib import Path  # noqa: E402

from vcgan.models.gan_postfilter import TextureDiscriminator, TexturePostfilter, load_postfilter  # noqa: E402
from vcgan.models.gan_postfilter.networks import postfilter_in_chunks  # noqa: E402

FESTIVAL = Path(__file__).parent / "data" / "festival"


def _randomised(g):
    torch.manual_seed(0)
    with torch.no_grad():
        for p in g.parameters():
            p.copy_(0.1 * torch.randn_like(p))
    return g


@pytest.mark.parametrize("shape", [(1, 1, 37, 36), (2, 1, 5, 3), (1, 1, 128, 25)])
def test_zeroed_last_layer_returns_its_input_for_any_noise(shape):
    g = TexturePostfilter(passthrough=1, channels=(4, 8, 4))
    x = torch.randn(shape)
    for _ in range(2):
        torch.testing.assert_close(g(x), x, rtol=0, atol=0)


@pytest.mark.parametrize("passthrough", [1, 2])
def test_passed_through_dims_are_bit_identical_and_others_change(passthrough):
    g = _randomised(TexturePostfilter(passthrough=passthrough, channels=(4, 8, 4), zero_last=False))
    x = torch.randn(2, 1, 41, 13)
    y = g(x)
    assert y.shape == x.shape
    assert torch.equal(y[..., :passthrough], x[..., :passthrough])
    assert (y[..., passthrough:] - x[..., passthrough:]).abs().mean() > 1e-3
    # corrections go both ways: no ReLU on the residual
    delta = y[..., passthrough:] - x[..., passthrough:]
    assert (delta > 0).any() and (delta < 0).any()


def test_noise_matters_and_chunks_equal_the_whole():
    g = _randomised(TexturePostfilter(passthrough=1, channels=(4, 8, 4), zero_last=False)).eval()
    x = torch.randn(1, 1, 301, 20)
    z = torch.randn(g.noise_shape(x))
    whole = g(x, z)
    assert (whole - g(x, torch.randn_like(z))).abs().max() > 1e-3
    torch.testing.assert_close(postfilter_in_chunks(g, x, z, 50), whole, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(postfilter_in_chunks(g, x, z, 7), whole, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("frames,dims", [(32, 35), (17, 9), (64, 64)])
def test_discriminator_scores_any_shape(frames, dims):
    d = TextureDiscriminator(2, passthrough=1, channels=(4, 8, 8, 4))
    out = d(torch.randn(3, 2, frames, dims))
    assert out.shape[:2] == (3, 1) and out.numel() >= 3


def test_discriminator_delta_channel_sees_frame_to_frame_differences():
    torch.manual_seed(0)
    d = TextureDiscriminator(1, passthrough=1, channels=(4, 8, 8, 4), delta=True)
    assert d.net[0].in_channels == 2
    x = torch.randn(2, 1, 24, 10)
    h = d._input(x)
    torch.testing.assert_close(h[:, :1], x[..., 1:])  # the features, passed-through dims dropped
    torch.testing.assert_close(h[:, 1:, 1:], x[:, :, 1:, 1:] - x[:, :, :-1, 1:])
    assert (h[:, 1:, 0] == 0).all()
    # a constant offset changes the plain channel only
    torch.testing.assert_close(d._input(x + 3.0)[:, 1:], h[:, 1:])
    assert d(x).shape[:2] == (2, 1) and len(d.features(x)) == 4
    # conditional: both channels get their difference
    assert TextureDiscriminator(2, channels=(4, 8, 8, 4), delta=True)(torch.randn(1, 2, 16, 9)).shape[1] == 1


# ---------------------------------------------------------------- data, training, the command

@pytest.fixture(scope="module")
def postfilter_corpus(tmp_path_factory):
    """natural: festival kal utterances; synthetic: the same with temporally smoothed
    mel-cepstra (over-smoothed, as statistical synthesis makes them), resynthesised with
    the natural F0 and aperiodicity; one synthetic file is 6 frames longer (DTW pairing)."""
    from scipy.ndimage import uniform_filter1d

    from vcgan.features.audio import list_audio, load_audio, save_audio
    from vcgan.features.world import FeatureConfig, WorldFeatures, analyze, synthesize

    root = tmp_path_factory.mktemp("pf_corpus")
    cfg = FeatureConfig()
    for i, path in enumerate(list_audio(FESTIVAL)):
        x = load_audio(path, 16000)
        feats = analyze(x, cfg)
        smooth = feats.spectral.copy()
        smooth[:, 1:] = uniform_filter1d(smooth[:, 1:], 9, axis=0)
        f0, ap = feats.f0, feats.coded_ap
        if i == 0:  # hold the first frame a little longer
            f0, ap, smooth = (np.concatenate([a[:1].repeat(6, 0), a]) for a in (f0, ap, smooth))
        y = synthesize(WorldFeatures(f0, smooth, ap), cfg)
        save_audio(root / "natural" / f"{path.stem}.wav", x, 16000)
        save_audio(root / "synthetic" / f"{path.stem}.wav", y, 16000)
    feats_dir = root / "feats"
    from vcgan.cli import main

    assert main(["prepare", "--corpus", str(root), "--out", str(feats_dir), "--jobs", "1"]) == 0
    return root, feats_dir


def _cfg(task, feats_dir, out_dir, **extra):
    from vcgan.training import resolve_config

    over = [f"task={task}", f"data.feats_dir={feats_dir}", f"out_dir={out_dir}", "model.g_channels=[4,8,4]",
            "model.d_channels=[4,8,8,4]", "data.segment_frames=32", "data.batch_size=2", "train.steps=2",
            "train.log_every=1", "train.checkpoint_every=0", "train.progress=false"]
    return resolve_config(None, over + [f"{k}={v}" for k, v in extra.items()])


def test_pairs_are_aligned_by_frames_or_dtw_with_a_report(postfilter_corpus):
    from vcgan.features.cache import FeatureStore
    from vcgan.models.gan_postfilter.data import paired_utterances

    _, feats_dir = postfilter_corpus
    pairs, report = paired_utterances(FeatureStore(feats_dir), "synthetic", "natural")
    assert report["pairs"] == 4 and report["dtw_pairs"] == 1
    first = report["utterances"]["kal_001"]
    assert first["method"] == "dtw" and first["frames"] - first["ref_frames"] in (5, 6, 7) and first["stretch"] > 0
    for name, x, y in pairs:
        assert x.shape == y.shape  # natural frames gathered onto the synthetic time axis
    # the held frames at the start map onto the natural start; later frames follow diagonally
    name, x, y = pairs[0]
    nat = FeatureStore(feats_dir).utterances("natural")[0].spectral
    np.testing.assert_array_equal(y[-1], nat[-1])
    # natural is the target, synthetic the input (not swapped): natural has the larger GV
    assert global_variance([p[2] for p in pairs])[1:].mean() > global_variance([p[1] for p in pairs])[1:].mean()


@pytest.mark.parametrize("task", ["gan_postfilter_mcep", "gan_postfilter_stft"])
def test_train_resume_exactly_and_postfilter_files(postfilter_corpus, tmp_path, task):
    from vcgan.cli import main
    from vcgan.engine.trainer import Trainer
    from vcgan.training import build

    root, feats_dir = postfilter_corpus
    extra = {"model.n_bands": 3, "model.band_overlap": 8} if task.endswith("stft") else {}
    cfg = _cfg(task, feats_dir, tmp_path / "run", **extra)

    def fresh():
        model, data = build(cfg)
        return Trainer(model, data, cfg["train"], cfg["out_dir"], cfg)

    t = fresh()
    t.fit()
    assert (Path(cfg["out_dir"]) / "alignment.json").is_file()
    expected = t.train_step(t.data.next_batch())
    r = fresh()
    assert r.resume(Path(cfg["out_dir"]) / "checkpoints" / "latest.pt")
    assert r.train_step(r.data.next_batch()) == expected  # the noise, the crops and the weights all resume
    # the command: a directory of synthetic speech, and one file
    ckpt = Path(cfg["out_dir"]) / "checkpoints" / "latest.pt"
    out = tmp_path / "pf"
    assert main(["postfilter", "--checkpoint", str(ckpt), str(root / "synthetic"), "-o", str(out)]) == 0
    from vcgan.features.audio import list_audio, load_audio

    files = list_audio(out)
    assert [p.stem for p in files] == [p.stem for p in list_audio(root / "synthetic")]
    for p in files:
        y, x = load_audio(p, 16000), load_audio(root / "synthetic" / p.name, 16000)
        assert abs(len(y) - len(x)) < 200 and np.isfinite(y).all()
    one = tmp_path / "one.wav"
    assert main(["postfilter", "--checkpoint", str(ckpt), "--chunk-frames", "40",
                 str(root / "synthetic" / "kal_002.wav"), "-o", str(one)]) == 0
    assert one.is_file()


def test_modulation_loss_by_hand_and_in_training(postfilter_corpus, tmp_path):
    from vcgan.engine.trainer import Trainer
    from vcgan.nn import modulation_loss
    from vcgan.training import build

    torch.manual_seed(0)
    y = torch.randn(4, 1, 64, 6)
    assert modulation_loss(y, y) == 0
    # twice the amplitude: 4x the power at every modulation frequency, (ln 4)^2 in squared nepers
    assert modulation_loss(2 * y, y).item() == pytest.approx(np.log(4) ** 2, rel=1e-5)
    # a constant offset has no modulation; skipped dims do not count
    assert modulation_loss(y + 5.0, y).item() == pytest.approx(0, abs=1e-8)
    z = y.clone()
    z[..., 0] *= 10
    assert modulation_loss(z, y, skip=1).item() == pytest.approx(0, abs=1e-10)
    # smoothing over time takes the fast modulations away; the loss sees it and has a gradient
    smooth = torch.nn.functional.avg_pool2d(y, (5, 1), 1, (2, 0), count_include_pad=False).requires_grad_()
    loss = modulation_loss(smooth, y)
    loss.backward()
    assert loss.item() > 0.5 and smooth.grad.abs().sum() > 0

    _, feats_dir = postfilter_corpus
    cfg = _cfg("gan_postfilter_mcep", feats_dir, tmp_path / "run", **{"loss.ms_weight": 2.0})
    model, data = build(cfg)
    batch = data.next_batch()
    out = model.generate(batch, 0)
    with_ms = model.losses("g", batch, out, 0)
    assert with_ms["ms"] > 0
    model.ms_weight = type(model.ms_weight)(0.0, "loss.ms_weight")
    without = model.losses("g", batch, out, 0)
    assert "ms" not in without
    assert with_ms["total"].item() == pytest.approx(without["total"].item() + 2.0 * with_ms["ms"].item(), rel=1e-5)
    Trainer(model, data, cfg["train"], cfg["out_dir"], cfg).fit()
    # the GV term (carried over from WaveCycleGAN): the batch log-GV ratio to the natural frames'
    from vcgan.nn import gv_loss

    cfg = _cfg("gan_postfilter_mcep", feats_dir, tmp_path / "gv", **{"loss.gv_weight": 3.0})
    model, data = build(cfg)
    batch = data.next_batch()
    out = model.generate(batch, 0)
    with_gv = model.losses("g", batch, out, 0)
    skip = cfg["model"]["passthrough"]
    assert with_gv["gv"].item() == pytest.approx(gv_loss(out["fake"], batch["y"], skip).item(), rel=1e-6)
    model.gv_weight = type(model.gv_weight)(0.0, "loss.gv_weight")
    assert with_gv["total"].item() == pytest.approx(model.losses("g", batch, out, 0)["total"].item()
                                                    + 3.0 * with_gv["gv"].item(), rel=1e-5)
    assert "gv" not in model.losses("d", batch, out, 0)


def test_checkpoint_from_before_d_delta_resumes(postfilter_corpus, tmp_path):
    from vcgan.engine.trainer import Trainer
    from vcgan.training import build

    _, feats_dir = postfilter_corpus
    cfg = _cfg("gan_postfilter_mcep", feats_dir, tmp_path / "run")
    model, _ = build(cfg)
    old = model.metadata()
    del old["model"]["d_delta"]  # as written before the key existed
    assert model.resume_conflicts(old) == {}
    old["model"]["d_delta"] = True
    assert "model" in model.resume_conflicts(old)
    cfg_delta = _cfg("gan_postfilter_mcep", feats_dir, tmp_path / "delta", **{"model.d_delta": "true"})
    m2, data = build(cfg_delta)
    assert m2.discriminators["d"].delta
    Trainer(m2, data, cfg_delta["train"], cfg_delta["out_dir"], cfg_delta).fit()


def test_untrained_postfilter_returns_the_input_features(postfilter_corpus, tmp_path):
    from vcgan.features.cache import FeatureStore
    from vcgan.training import build

    _, feats_dir = postfilter_corpus
    model, _ = build(_cfg("gan_postfilter_mcep", feats_dir, tmp_path / "run"))
    pf = load_postfilter(model.metadata(), None)
    feats = FeatureStore(feats_dir).utterances("synthetic")[1].spectral
    np.testing.assert_allclose(pf.apply(feats), feats, rtol=1e-5, atol=1e-4)


def test_envelope_change_filter_keeps_the_waveform_and_applies_the_change():
    from vcgan.features.audio import list_audio, load_audio
    from vcgan.features.world import FeatureConfig, analyze, filter_by_envelope_change

    cfg = FeatureConfig()
    x = load_audio(list_audio(FESTIVAL)[1], 16000)
    feats = analyze(x, cfg)
    np.testing.assert_allclose(filter_by_envelope_change(x, feats.spectral, feats.spectral, cfg), x, atol=1e-12)
    changed = feats.spectral.copy()
    changed[:, 2] += 0.2  # a spectral tilt change the analysis must see again, and nothing else
    again = analyze(filter_by_envelope_change(x, feats.spectral, changed, cfg), cfg)
    voiced = feats.f0 > 0
    assert abs(np.median(again.spectral[voiced, 2] - feats.spectral[voiced, 2]) - 0.2) < 0.02
    assert np.median(np.abs(again.spectral[voiced, 4:12] - feats.spectral[voiced, 4:12])) < 0.01
    assert np.median(np.abs(again.f0[voiced] - feats.f0[voiced]) / feats.f0[voiced]) < 0.005  # F0 kept
    with pytest.raises(ValueError, match="frames"):
        filter_by_envelope_change(x, feats.spectral, changed[:-1], cfg)


def test_untrained_postfilter_filter_synthesis_returns_the_input_waveform(postfilter_corpus, tmp_path):
    from vcgan.features.audio import list_audio, load_audio
    from vcgan.models.gan_postfilter.apply import SpeechPostfilter
    from vcgan.training import build

    root, feats_dir = postfilter_corpus
    model, _ = build(_cfg("gan_postfilter_mcep", feats_dir, tmp_path / "run"))
    meta = model.metadata()
    pf = SpeechPostfilter(load_postfilter(meta, None), meta)
    path = list_audio(root / "synthetic")[1]
    x = load_audio(path, 16000)
    np.testing.assert_allclose(pf.filter_file(path, synthesis="filter"), x, atol=1e-4)  # the generator's float32
    world = pf.filter_file(path, synthesis="world")  # a resynthesis: the same length, not the same samples
    assert abs(len(world) - len(x)) < 100 and np.abs(world[:len(x)] - x[:len(world)]).max() > 1e-3
    with pytest.raises(VcganError, match="synthesis"):
        pf.filter_file(path, synthesis="mlsa")


def test_postfilter_errors_name_the_problem(postfilter_corpus, tmp_path):
    from vcgan.cli import main
    from vcgan.training import build

    _, feats_dir = postfilter_corpus
    with pytest.raises(ConfigError, match="model.kernel"):
        build(_cfg("gan_postfilter_mcep", feats_dir, tmp_path / "a", **{"model.kernel": 4}))
    with pytest.raises(ConfigError, match="band"):
        build(_cfg("gan_postfilter_stft", feats_dir, tmp_path / "b", **{"model.band_edges": "[[0, 100], [120, 257]]"}))
    with pytest.raises(VcganError, match="missing"):
        build(_cfg("gan_postfilter_mcep", feats_dir, tmp_path / "c", **{"data.natural": "missing"}))
    assert main(["postfilter", "--checkpoint", str(tmp_path / "nope.pt"), str(tmp_path), "-o", str(tmp_path / "o")]) == 2
    root, _ = postfilter_corpus  # --synthesis is the mel-cepstrum model's; the STFT model keeps the input's phase
    assert main(["postfilter", "--gv-scaling", str(feats_dir), "--kind", "stft", "--synthesis", "world",
                 str(root / "synthetic"), "-o", str(tmp_path / "s")]) == 2
    assert not (tmp_path / "s").exists()


def test_gv_scaling_baseline_and_postfilter_evaluation(postfilter_corpus, tmp_path):
    import json

    from vcgan.cli import main

    root, feats_dir = postfilter_corpus
    gv_dir = tmp_path / "gv"
    assert main(["postfilter", "--gv-scaling", str(feats_dir), str(root / "synthetic"), "-o", str(gv_dir)]) == 0
    out = tmp_path / "eval" / "pf"
    assert main(["evaluate", "--postfilter", str(root / "natural"), str(root / "synthetic"), str(gv_dir),
                 "--names", "synthetic,gv", "-o", str(out), "--jobs", "1"]) == 0
    result = json.loads(out.with_suffix(".json").read_text())
    syn, gv = result["systems"]["synthetic"], result["systems"]["gv"]
    assert result["files"] == 4
    # the smoothed input lacks variance; scaling to the natural GV restores most of it
    assert gv["log_gv_distance"] < 0.5 * syn["log_gv_distance"]
    assert syn["mcd"] > 0 and syn["lsd"] > 0 and syn["ms_distance"] > 0
    for suffix in ("_gv.png", "_ms.png", "_spectrograms.png"):
        assert (out.parent / f"pf{suffix}").stat().st_size > 1000
    assert "| gv |" in out.with_suffix(".md").read_text()
    # GV scaling changes the envelope, not the excitation: F0 stays the input's
    moved = gv["f0_vs_input"]
    assert "f0_vs_input" not in syn and moved["log_f0_rmse"] < 0.03 and moved["vuv_disagreement"] < 0.05
    assert "| gv | " in out.with_suffix(".md").read_text().split("F0 of each system against its input's")[1]
    # both a checkpoint and the baseline, or neither, is an error
    assert main(["postfilter", str(root / "synthetic"), "-o", str(tmp_path / "x")]) == 2
    assert main(["evaluate", str(root / "natural"), str(root / "synthetic"), str(gv_dir)]) == 2


def test_feature_matching_compares_discriminator_features(postfilter_corpus, tmp_path):
    from vcgan.training import build

    _, feats_dir = postfilter_corpus
    model, data = build(_cfg("gan_postfilter_mcep", feats_dir, tmp_path / "run", **{"loss.fm_weight": 10.0}))
    batch = data.next_batch()
    out = model.generate(batch, 0)
    losses = model.losses("g", batch, out, 0)
    d = model.discriminators["d"]
    want = sum((f - r).abs().mean() for f, r in zip(d.features(out["fake"]), d.features(batch["y"]))) / 4
    torch.testing.assert_close(losses["fm"], want)
    torch.testing.assert_close(losses["total"], losses["adv"] + 10.0 * losses["fm"])


@pytest.mark.parametrize("task", ["gan_postfilter_mcep", "gan_postfilter_stft"])
def test_reconstruction_in_feature_units_weighs_dims_by_their_natural_spread(postfilter_corpus, tmp_path, task):
    from vcgan.training import build

    _, feats_dir = postfilter_corpus
    extra = {"model.n_bands": 3, "model.band_overlap": 8} if task.endswith("stft") else {}
    model, data = build(_cfg(task, feats_dir, tmp_path / "run", **{"loss.recon_weight": 2.0,
                                                                     "loss.recon_units": "features", **extra}))
    meta = model.metadata()
    std = np.asarray(meta["norm"]["std"])
    p = meta["model"]["passthrough"]
    weight = std.copy()
    weight[:p] = 0
    weight /= np.sqrt(np.mean(weight[p:] ** 2))
    parts = [model] if task.endswith("mcep") else list(model.parts.values())
    split = model.split_batch if task.endswith("stft") else (lambda b: {"": b})
    batch = data.next_batch()
    for part, (sub, edges) in zip(parts, zip(split(batch).values(), meta["bands"] or [[0, len(std)]])):
        w = torch.tensor(weight[edges[0]:edges[1]], dtype=torch.float32)
        torch.testing.assert_close(part.recon_scale, w)
        out = part.generate(sub, 0)
        losses = part.losses("g", sub, out, 0)
        want = (((out["fake"] - sub["y"]) * w) ** 2).mean()  # L2 in feature units, passthrough weighed 0
        torch.testing.assert_close(losses["recon"], want)
        torch.testing.assert_close(losses["total"], losses["adv"] + 2.0 * want)
        assert "recon_scale" not in part.state_dict()  # rebuilt from the metadata, not checkpointed
    if task.endswith("mcep"):  # the default weighs every normalised dim alike
        plain, _ = build(_cfg(task, feats_dir, tmp_path / "plain"))
        assert plain.recon_scale is None
    with pytest.raises(ConfigError, match="loss.recon_units"):
        build(_cfg(task, feats_dir, tmp_path / "bad", **{"loss.recon_units": "db", **extra}))


def test_f0_against_the_input_by_hand():
    from vcgan.metrics.postfilter_report import f0_against

    ref = [{"f0": np.array([0.0, 100.0, 100.0, 200.0])}]
    same = f0_against(ref, ref)
    assert same == {"log_f0_rmse": 0.0, "gross_error_rate": 0.0, "log_f0_rmse_fine": 0.0, "vuv_disagreement": 0.0}
    moved = f0_against([{"f0": np.array([100.0, 200.0, 200.0, 0.0])}], ref)
    assert moved["log_f0_rmse"] == pytest.approx(np.log(2.0))  # the two frames voiced in both, an octave up
    assert moved["vuv_disagreement"] == pytest.approx(0.5)  # the first and last frames flip
    assert moved["gross_error_rate"] == 1.0 and np.isnan(moved["log_f0_rmse_fine"])  # both octave jumps: no rest
    # an octave jump on one frame in ten dominates the RMSE; the rest, moved by 1%, is what the filter did
    ref = [{"f0": np.full(10, 100.0)}]
    jump = f0_against([{"f0": np.r_[200.0, np.full(9, 101.0)]}], ref)
    assert jump["gross_error_rate"] == pytest.approx(0.1)
    assert jump["log_f0_rmse_fine"] == pytest.approx(np.log(1.01))
    assert jump["log_f0_rmse"] == pytest.approx(np.sqrt((np.log(2.0) ** 2 + 9 * np.log(1.01) ** 2) / 10))


def test_band_edge_jump_sees_a_seam():
    from vcgan.metrics.postfilter_report import band_edge_bins, edge_jump

    layout = BandLayout.even(64, 2, 8)
    assert band_edge_bins([list(e) for e in layout.edges]) == [28, 36]
    smooth = np.tile(np.linspace(0, 1, 64), (10, 1))
    seam = smooth.copy()
    seam[:, 36:] += 0.5  # a step where the upper band ends its overlap
    assert edge_jump([seam], [28, 36]) > 5 * edge_jump([smooth], [28, 36])


def test_envelope_bound_script_measures_features_speech_and_the_oracle(postfilter_corpus, tmp_path, capsys):
    import importlib.util
    import json

    from vcgan.engine.trainer import Trainer
    from vcgan.training import build

    root, feats_dir = postfilter_corpus
    cfg = _cfg("gan_postfilter_mcep", feats_dir, tmp_path / "run" / "train")
    model, data = build(cfg)
    Trainer(model, data, cfg["train"], cfg["out_dir"], cfg).fit()
    script = Path(__file__).resolve().parents[1] / "recipes" / "gan_postfilter" / "local" / "envelope_bound.py"
    spec = importlib.util.spec_from_file_location("envelope_bound", script)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    out = tmp_path / "bound.json"
    mod.main(["--pairs", str(root), "--split", "", "--feats", str(feats_dir), "--out", str(out), str(tmp_path / "run")])
    res = json.loads(out.read_text())
    assert res["oracle/features"]["ms_distance"] == 0 and res["oracle/features"]["log_gv_distance"] == 0
    # the fixture's synthetic side is the natural envelope smoothed over time: the natural envelope restores most GV
    assert res["oracle/waveform"]["log_gv_distance"] < 0.5 * res["synthetic/features"]["log_gv_distance"]
    assert res["synthetic/waveform"] == res["synthetic/features"]
    assert {"run/features", "run/waveform", "GV scaling/features"} <= set(res)
    assert "| oracle | waveform |" in capsys.readouterr().out
