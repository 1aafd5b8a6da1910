import pytest
import torch

import vcgan
from conftest import tiny_config
from vcgan.engine.trainer import Trainer
from vcgan.errors import CheckpointError, ConfigError, VcganError
from vcgan.models.voice_conversion.converter import Converter
from vcgan.nn import ConditionalInstanceNorm, pair_code
from vcgan.models.stargan_vc import (DiscriminatorStarVC, DomainClassifier, GeneratorStarVC, GeneratorStarVC2,
                              ProjectionDiscriminator)
from vcgan.training import build


def _perturb(module):
    """Randomise every parameter so that conditioning paths start non-trivial."""
    torch.manual_seed(0)
    with torch.no_grad():
        for p in module.parameters():
            p.add_(0.3 * torch.randn_like(p))
    return module.eval()


def codes(*idx):
    return torch.tensor(idx, dtype=torch.long)


@pytest.mark.parametrize("gen", [GeneratorStarVC(36, 3, 8), GeneratorStarVC2(36, 3, 8, num_blocks=2)])
def test_different_targets_give_different_outputs(gen):
    gen = _perturb(gen)
    x = torch.randn(1, 36, 64)
    with torch.no_grad():
        to1 = gen(x, codes(0), codes(1))
        to2 = gen(x, codes(0), codes(2))
    assert to1.shape == x.shape
    assert (to1 - to2).abs().mean() > 1e-3


def test_stargan_vc2_generator_depends_on_source_code_too():
    gen = _perturb(GeneratorStarVC2(36, 3, 8, num_blocks=2))
    x = torch.randn(1, 36, 64)
    with torch.no_grad():
        assert (gen(x, codes(0), codes(2)) - gen(x, codes(1), codes(2))).abs().mean() > 1e-3


@pytest.mark.parametrize("version", [1, 2])
def test_residual_generator_starts_at_identity_with_pair_specific_features(version):
    torch.manual_seed(0)
    if version == 1:
        gen = GeneratorStarVC(36, 3, 8, residual=True).eval()
        last = gen.out.weight
    else:
        gen = GeneratorStarVC2(36, 3, 8, num_blocks=2, residual=True).eval()
        last = gen.body.out.weight
    x, probe = torch.randn(1, 36, 61), torch.randn(1, 36, 61)  # a length the network pads internally
    grads = {}
    for pair in ((0, 1), (1, 0)):
        out = gen(x, codes(pair[0]), codes(pair[1]))
        torch.testing.assert_close(out, x)  # training starts at the statistics transform
        (grads[pair],) = torch.autograd.grad((out * probe).sum(), last)
    # the shared last layer sees different features for opposite directions, so their
    # updates do not cancel (with unconditioned features they would be equal)
    assert (grads[(0, 1)] - grads[(1, 0)]).abs().max() > 1e-3 * grads[(0, 1)].abs().max()


def test_stargan_vc2_middle_width_is_set_apart_from_the_2d_width():
    """model.middle_channels widens the 1D CIN blocks only; None keeps the papers' 2c."""
    torch.manual_seed(0)
    x, s, t = torch.randn(2, 36, 40), torch.tensor([0, 1]), torch.tensor([2, 0])
    default, wide = GeneratorStarVC2(36, 3, 8, 2), GeneratorStarVC2(36, 3, 8, 2, middle_channels=48)
    assert default.body.middle_channels == 16 and wide.body.middle_channels == 48
    assert [b.conv.in_channels for b in wide.blocks] == [48, 48]
    assert wide.body.inp[0].weight.shape == default.body.inp[0].weight.shape  # 2D layers unchanged
    assert wide.body.to_2d[0].out_channels == default.body.to_2d[0].out_channels
    y = wide(x, s, t)
    assert y.shape == x.shape and torch.isfinite(y).all()
    y.sum().backward()
    assert wide.blocks[0].conv.weight.grad.abs().sum() > 0


def test_stargan_vc_generator_ignores_source_code():
    gen = _perturb(GeneratorStarVC(36, 3, 8))
    x = torch.randn(1, 36, 64)
    with torch.no_grad():
        torch.testing.assert_close(gen(x, codes(0), codes(2)), gen(x, codes(1), codes(2)))


def test_cin_scale_and_bias_use_both_codes():
    cin = ConditionalInstanceNorm(4, 2 * 3)  # as initialised: every pair is modulated differently
    h = torch.randn(1, 4, 20)
    out = {(s, t): cin(h, pair_code(codes(s), codes(t), 3)) for s in range(3) for t in range(3)}
    assert not torch.allclose(out[(0, 2)], out[(1, 2)])  # same target, other source
    assert not torch.allclose(out[(0, 1)], out[(0, 2)])  # same source, other target
    # with zero modulation weights it is plain instance norm
    with torch.no_grad():
        cin.gamma.weight.zero_()
        cin.beta.weight.zero_()
    torch.testing.assert_close(cin(h, pair_code(codes(0), codes(1), 3)), torch.nn.functional.instance_norm(h))


@pytest.mark.parametrize("patch", [False, True])
def test_projection_discriminator_depends_on_the_pair(patch):
    d = _perturb(ProjectionDiscriminator(36, 3, 8, patch=patch))
    x = torch.randn(1, 36, 64)
    with torch.no_grad():
        s02, s12, s01 = d(x, codes(0), codes(2)), d(x, codes(1), codes(2)), d(x, codes(0), codes(1))
    assert s02.shape[:2] == (1, 1) and (s02.shape[2] > 1) == patch  # one score, or one per region
    assert not torch.allclose(s02, s12) and not torch.allclose(s02, s01)
    if patch:  # the average of the region scores is the whole-segment score of the same weights
        whole = ProjectionDiscriminator(36, 3, 8, patch=False)
        whole.load_state_dict(d.state_dict())
        with torch.no_grad():
            torch.testing.assert_close(whole(x, codes(0), codes(2))[..., 0], s02.mean(-1), rtol=1e-4, atol=1e-5)


def test_segment_moments_are_the_per_dimension_mean_and_std_over_frames():
    from vcgan.models.voice_conversion.layers import with_segment_moments

    x = torch.randn(2, 36, 64) * torch.linspace(0.5, 2, 36)[:, None] + 3
    m = with_segment_moments(x)
    assert m.shape == (2, 3, 36, 64) and torch.equal(m[:, 0], x)
    torch.testing.assert_close(m[:, 1, :, 17], x.mean(-1))
    torch.testing.assert_close(m[:, 2, :, 5], x.std(-1, unbiased=False), rtol=1e-4, atol=1e-4)
    assert torch.equal(m[:, 1:, :, :1].expand_as(m[:, 1:]), m[:, 1:])  # constant over frames


def test_discriminator_with_moments_feeds_them_to_its_first_layer():
    from vcgan.models.voice_conversion.layers import with_segment_moments

    x = torch.randn(2, 36, 64)
    plain = _perturb(ProjectionDiscriminator(36, 3, 8, patch=True))
    d = _perturb(ProjectionDiscriminator(36, 3, 8, patch=True, moments=True))
    seen = []
    d.net[0].register_forward_hook(lambda m, inp, out: seen.append(inp[0]))
    with torch.no_grad():
        s = d(x, codes(0, 1), codes(2, 0))
    assert torch.equal(seen[0], with_segment_moments(x))
    assert s.shape == plain(x, codes(0, 1), codes(2, 0)).shape
    # only the first layer's input width differs: a plain D's weights fit everywhere else
    diff = {k for k, v in d.state_dict().items() if v.shape != plain.state_dict()[k].shape}
    assert diff == {"net.0.0.weight"}


def test_stargan_vc_discriminator_and_classifier_shapes():
    x = torch.randn(2, 36, 37)
    assert DiscriminatorStarVC(36, 3, 8)(x, codes(0, 1), codes(1, 2)).shape[:2] == (2, 1)
    assert DomainClassifier(36, 3, 8)(x).shape == (2, 3)


@pytest.mark.parametrize("task", ["stargan_vc", "stargan_vc2"])
def test_one_training_step_and_losses(tiny_feats, tmp_path, task):
    cfg = tiny_config(tiny_feats, tmp_path, task=task)
    model, sampler = build(cfg)
    assert model.speakers == ["kal", "ked", "slt"]
    batch = sampler.next_batch()
    assert (batch["src"] != batch["trg"]).all()
    trainer = Trainer(model, sampler, cfg["train"], tmp_path, cfg)
    out = trainer.train_step(batch)
    assert all(torch.isfinite(torch.tensor(v)) for v in out.values())
    if task == "stargan_vc":
        assert "g/cls" in out and "d/cls" in out
    else:
        assert "g/cls" not in out and "c" not in model.discriminators


def test_classification_loss_reaches_generator_through_converted_sample(tiny_feats, tmp_path):
    cfg = tiny_config(tiny_feats, tmp_path, task="stargan_vc")
    model, sampler = build(cfg)
    batch = sampler.next_batch()
    losses = model.losses("g", batch, model.generate(batch, 0), 0)
    model.zero_grad()
    out = model.generate(batch, 0)
    assert not torch.equal(batch["trg"], batch["src"])
    c = model.discriminators["c"]
    # against the requested target, not the source: C(G(x, src, trg)) ~ trg
    want = torch.nn.functional.cross_entropy(c(out["fake"]).float(), batch["trg"])
    torch.testing.assert_close(losses["cls"], want)
    assert not torch.allclose(losses["cls"], torch.nn.functional.cross_entropy(c(out["fake"]).float(), batch["src"]))
    losses["cls"].backward()
    g_grad = sum(p.grad.abs().sum() for p in model.generators.parameters() if p.grad is not None)
    assert g_grad > 0
    # the classifier itself learns on real samples of the target: its D-side loss uses y and trg
    d_losses = model.losses("d", batch, out, 0)
    torch.testing.assert_close(d_losses["cls"], torch.nn.functional.cross_entropy(c(batch["y"]).float(), batch["trg"]))


@pytest.mark.parametrize("mode", ["source", "target"])
def test_identity_mode_maps_the_right_data_with_the_right_codes(tiny_feats, tmp_path, mode):
    cfg = tiny_config(tiny_feats, tmp_path, task="stargan_vc2",
                      **{"loss.identity_weight": 1.0, "loss.identity_mode": mode})
    model, sampler = build(cfg)
    _perturb(model.generators["g"])  # a residual G starts as the identity: make every input matter
    batch = sampler.next_batch()
    g = model.generators["g"]
    with torch.no_grad():
        losses = model.losses("g", batch, model.generate(batch, 0), 0)
        x, y, src, trg = batch["x"], batch["y"], batch["src"], batch["trg"]
        # source: G(x, s, s) = x (the papers'); target: G(y, s, t) = y, y real speech of t
        ref, codes_used = (x, (src, src)) if mode == "source" else (y, (src, trg))
        want = torch.nn.functional.l1_loss(g(ref, *codes_used), ref)
    torch.testing.assert_close(losses["identity"], want, rtol=1e-4, atol=1e-5)


def test_bad_identity_mode_names_the_key(tiny_feats, tmp_path):
    with pytest.raises(ConfigError, match=r"loss\.identity_mode"):
        build(tiny_config(tiny_feats, tmp_path, task="stargan_vc2", **{"loss.identity_mode": "both"}))


def test_anchor_term_pulls_the_chosen_dimensions_of_the_conversion_towards_its_input(tiny_feats, tmp_path):
    cfg = tiny_config(tiny_feats, tmp_path, task="stargan_vc2",
                      **{"loss.anchor_weight": 2.0, "loss.anchor_dims": [1, 4], "loss.reconstruction": "l1"})
    model, sampler = build(cfg)
    _perturb(model.generators["g"])
    batch = sampler.next_batch()
    with torch.no_grad():
        out = model.generate(batch, 0)
        losses = model.losses("g", batch, out, 0)
    # normalised per speaker, the input is the statistics transform's output: c1-c4 only, c0 and c5+ free
    want = torch.nn.functional.l1_loss(out["fake"][:, 1:5], batch["x"][:, 1:5])
    torch.testing.assert_close(losses["anchor"], want)
    cfg_off = tiny_config(tiny_feats, tmp_path / "off", task="stargan_vc2", **{"loss.reconstruction": "l1"})
    model_off, _ = build(cfg_off)
    model_off.load_state_dict(model.state_dict())
    with torch.no_grad():
        off = model_off.losses("g", batch, model_off.generate(batch, 0), 0)
    assert "anchor" not in off  # off by default: the papers' objective
    torch.testing.assert_close(losses["total"], off["total"] + 2.0 * want)


@pytest.mark.parametrize("dims", [[0, 40], [4, 1], [1], "1-4", [1.0, 4]])
def test_bad_anchor_dims_name_the_key(tiny_feats, tmp_path, dims):
    with pytest.raises(ConfigError, match=r"loss\.anchor_dims"):
        build(tiny_config(tiny_feats, tmp_path, task="stargan_vc2", **{"loss.anchor_weight": 1.0, "loss.anchor_dims": dims}))


@pytest.mark.parametrize("adversarial", ["wgan-gp", "hinge"])
def test_wgan_gp_and_hinge_train_through_the_multi_domain_objective(tiny_feats, tmp_path, adversarial):
    cfg = tiny_config(tiny_feats, tmp_path, task="stargan_vc2", **{"loss.adversarial": adversarial})
    model, sampler = build(cfg)
    out = Trainer(model, sampler, cfg["train"], tmp_path, cfg).train_step(sampler.next_batch())
    assert all(torch.isfinite(torch.tensor(v)) for v in out.values())
    assert ("d/gp" in out) == (adversarial == "wgan-gp")


def test_r1_penalty_of_the_multi_domain_objective_on_a_hand_computed_case():
    """D(y, s, t) = <w_t, y> per sample: grad_y = w_t, so R1 = mean_i ||w_{t_i}||^2 and the
    D total gains r1_gamma / 2 times that."""
    from vcgan.engine.objectives import MultiDomainObjective

    class LinearD(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.tensor([[1.0, 2.0], [0.0, 3.0]]))

        def forward(self, x, src, trg):
            return (x * self.w[trg]).sum(1, keepdim=True)

    obj = MultiDomainObjective(_Gen(), LinearD(), adversarial="lsgan", cls_weight=0.0, r1_gamma=4.0)
    batch = {"x": torch.randn(3, 2), "y": torch.randn(3, 2), "src": torch.tensor([1, 0, 0]),
             "trg": torch.tensor([0, 1, 1])}
    losses = obj.discriminator_losses(batch, obj.generate(batch, 0), 0)
    torch.testing.assert_close(losses["r1"], torch.tensor((5.0 + 9.0 + 9.0) / 3))
    torch.testing.assert_close(losses["total"], losses["adv"] + 2.0 * losses["r1"])
    off = MultiDomainObjective(_Gen(), LinearD(), adversarial="lsgan", cls_weight=0.0)
    assert "r1" not in off.discriminator_losses(batch, off.generate(batch, 0), 0)
    lazy = MultiDomainObjective(_Gen(), LinearD(), adversarial="lsgan", cls_weight=0.0, r1_gamma=4.0, r1_every=4)
    for step in range(6):  # lazy R1: steps 0 and 4 only, four times as strong
        got = lazy.discriminator_losses(batch, lazy.generate(batch, step), step)
        assert ("r1" in got) == (step % 4 == 0)
        if step % 4 == 0:
            torch.testing.assert_close(got["total"], got["adv"] + 8.0 * got["r1"])
        else:
            torch.testing.assert_close(got["total"], got["adv"])


class _Gen(torch.nn.Module):
    def forward(self, x, src, trg):
        return x + trg.float()[:, None]


def test_r1_penalty_trains_and_a_negative_weight_names_the_key(tiny_feats, tmp_path):
    cfg = tiny_config(tiny_feats, tmp_path, task="stargan_vc2", **{"loss.r1_gamma": 1.0})
    model, sampler = build(cfg)
    out = Trainer(model, sampler, cfg["train"], tmp_path, cfg).train_step(sampler.next_batch())
    assert out["d/r1"] > 0 and all(torch.isfinite(torch.tensor(v)) for v in out.values())
    with pytest.raises(ConfigError, match=r"loss\.r1_gamma"):
        build(tiny_config(tiny_feats, tmp_path, task="stargan_vc2", **{"loss.r1_gamma": -1.0}))
    with pytest.raises(ConfigError, match=r"loss\.r1_every"):
        build(tiny_config(tiny_feats, tmp_path, task="stargan_vc2", **{"loss.r1_gamma": 1.0, "loss.r1_every": 0}))


def test_resume_gives_identical_next_step(tiny_feats, tmp_path):
    cfg = tiny_config(tiny_feats, tmp_path / "run", task="stargan_vc2", **{"train.steps": 2})

    def fresh():
        model, sampler = build(cfg)
        return Trainer(model, sampler, cfg["train"], cfg["out_dir"], cfg)

    t = fresh()
    t.fit()
    expected = t.train_step(t.data.next_batch())
    r = fresh()
    assert r.resume(tmp_path / "run" / "checkpoints" / "latest.pt")
    assert r.train_step(r.data.next_batch()) == expected


def test_checkpoint_without_newer_model_keys_resumes_and_converts(tiny_feats, tmp_path):
    """A checkpoint written before model.residual_blocks/patch_scores/disc_moments/middle_channels existed: same networks, still usable."""
    from vcgan.engine.checkpoint import load_checkpoint, save_checkpoint

    cfg = tiny_config(tiny_feats, tmp_path / "run", task="stargan_vc2", **{"train.steps": 1})
    model, sampler = build(cfg)
    Trainer(model, sampler, cfg["train"], cfg["out_dir"], cfg).fit()
    path = tmp_path / "run" / "checkpoints" / "latest.pt"
    state = load_checkpoint(path)
    for key in ("residual_blocks", "patch_scores", "disc_moments", "middle_channels"):
        del state["meta"]["model"][key]
    save_checkpoint(state, path)
    model, sampler = build(cfg)
    assert Trainer(model, sampler, cfg["train"], cfg["out_dir"], cfg).resume(path)
    assert vcgan.load(path).raw.speakers == ["kal", "ked", "slt"]
    # a real difference is still refused, naming the key and both values
    other = tiny_config(tiny_feats, tmp_path / "run", task="stargan_vc2", **{"model.patch_scores": "true"})
    model, sampler = build(other)
    with pytest.raises(CheckpointError, match=r"patch_scores=False \(config True\)"):
        Trainer(model, sampler, other["train"], other["out_dir"], other).resume(path)


def test_convert_by_speaker_name_and_unknown_name(tiny_feats, tmp_path, demo_corpus):
    cfg = tiny_config(tiny_feats, tmp_path, task="stargan_vc2", **{"train.steps": 1})
    model, sampler = build(cfg)
    Trainer(model, sampler, cfg["train"], tmp_path, cfg).fit()
    conv = vcgan.load(tmp_path / "checkpoints" / "latest.pt").raw
    assert conv.speakers == ["kal", "ked", "slt"]
    from vcgan.features import load_audio

    x = load_audio(demo_corpus / "ked" / "test" / "test_003.flac", 16000)[:16000]
    outs = {t: conv.convert_array(x, "ked", t) for t in ("kal", "slt")}
    assert all(len(y) > 15000 for y in outs.values())
    with pytest.raises(VcganError, match="kal, ked, slt"):
        conv.convert_array(x, "ked", "bdl")


def test_stargan_vc_with_the_papers_batch_norm(tiny_feats, tmp_path):
    cfg = tiny_config(tiny_feats, tmp_path, task="stargan_vc", **{"model.norm": "batch"})
    model, sampler = build(cfg)
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in model.discriminators["d"].modules())
    calls = []
    model.discriminators["d"].register_forward_hook(lambda m, i, o: calls.append(i[0].shape[0]))
    out = Trainer(model, sampler, cfg["train"], tmp_path, cfg).train_step(sampler.next_batch())
    assert all(torch.isfinite(torch.tensor(v)) for v in out.values())
    assert calls == [2, 2, 2]  # G's adversarial term, then real and fake in separate calls (BatchNorm)
    with pytest.raises(ConfigError, match="model.norm"):
        tiny_config(tiny_feats, tmp_path, task="stargan_vc2", **{"model.norm": "batch"})


@pytest.fixture(scope="module")
def tiny_stargan_vc2_ckpt(tiny_feats, tmp_path_factory):
    """A StarGAN-VC2 trained for 2 steps on the tiny features: the model the conversion tests convert with."""
    out = tmp_path_factory.mktemp("stargan_vc2_run")
    cfg = tiny_config(tiny_feats, out, task="stargan_vc2", **{"train.steps": 2})
    model, sampler = build(cfg)
    Trainer(model, sampler, cfg["train"], cfg["out_dir"], cfg).fit()
    return out / "checkpoints" / "latest.pt"


def test_calibrated_conversion_has_the_targets_moments_on_training_features(tiny_feats, tmp_path, demo_corpus,
        tiny_stargan_vc2_ckpt):
    """--calibrate: per pair, the output over the source's training features is re-standardised to mean 0 / std 1
    in the target's normalised units (what the statistics transform has by construction)."""
    import numpy as np

    from vcgan.cli import main
    from vcgan.models.voice_conversion.pipeline import SpeakerStats
    from vcgan.features import FeatureStore

    ckpt = tiny_stargan_vc2_ckpt
    conv = vcgan.load(ckpt).raw
    cal = conv.calibrated_on(tiny_feats)
    store = FeatureStore(tiny_feats)
    src = SpeakerStats.from_dict(conv.stats["kal"])
    xs = [torch.from_numpy(src.normalize(u.spectral).T.astype(np.float32))[None] for u in store.utterances("kal")]
    raw = torch.cat([conv._mapping_for("kal", "slt")(x)[0] for x in xs], 1)
    y = torch.cat([cal._mapping_for("kal", "slt")(x)[0] for x in xs], 1)
    assert raw.mean(1).abs().max() > 1e-3  # the raw output is not already standardised
    assert torch.allclose(y.mean(1), torch.zeros(y.shape[0]), atol=1e-4)
    assert torch.allclose(y.std(1), torch.ones(y.shape[0]), atol=1e-4)
    # the same affine map per dimension: order within a dimension is kept
    assert torch.allclose(torch.corrcoef(torch.stack([raw[1], y[1]]))[0, 1], torch.tensor(1.0), atol=1e-5)
    x = demo_corpus / "kal" / "test" / "test_003.flac"
    assert main(["convert", "--checkpoint", str(ckpt), "--calibrate", str(tiny_feats), "--source", "kal",
                 "--target", "slt", str(x), "-o", str(tmp_path / "c.wav")]) == 0
    assert (tmp_path / "c.wav").stat().st_size > 1000
    assert main(["convert", "--feats", str(tiny_feats), "--calibrate", str(tiny_feats), "--source", "kal",
                 "--target", "slt", str(x), "-o", str(tmp_path / "d.wav")]) == 2
    assert not (tmp_path / "d.wav").exists()
    # features of another analysis are refused, naming the directory
    import shutil

    import yaml

    other = tmp_path / "other_feats"
    shutil.copytree(tiny_feats, other)
    fy = yaml.safe_load((other / "features.yaml").read_text())
    fy["spectral_dim"] = 24
    (other / "features.yaml").write_text(yaml.safe_dump(fy))
    with pytest.raises(VcganError, match="other_feats: features .* differ"):
        conv.calibrated_on(other)


def test_anchored_calibration_averages_chosen_dimensions_with_the_statistics_transform(tiny_feats, tmp_path, demo_corpus,
        tiny_stargan_vc2_ckpt):
    """--anchor D=W: dimension D of the output becomes W x + (1 - W) y (x: the statistics transform's, in the
    target's normalised units) before the re-standardisation; W = 1 gives the transform itself, W = 0 plain
    calibration; other dimensions are untouched."""
    from vcgan.cli import main
    from vcgan.models.voice_conversion.pipeline import SpeakerStats
    from vcgan.features import FeatureStore
    from vcgan.models.voice_conversion.converter import format_anchor, parse_anchor

    ckpt = tiny_stargan_vc2_ckpt
    conv = vcgan.load(ckpt).raw
    src = SpeakerStats.from_dict(conv.stats["kal"])
    xs = [src.model_input(u.spectral) for u in FeatureStore(tiny_feats).utterances("kal")]

    def out(c):
        return torch.cat([c._mapping_for("kal", "slt")(x)[0] for x in xs], 1)

    plain, x = out(conv.calibrated_on(tiny_feats)), torch.cat([x[0] for x in xs], 1)
    full = out(conv.calibrated_on(tiny_feats, {1: 1.0}))
    torch.testing.assert_close(full[1], x[1], atol=2e-3, rtol=0)  # the input is standardised already (up to ddof)
    torch.testing.assert_close(full[2:], plain[2:])
    torch.testing.assert_close(out(conv.calibrated_on(tiny_feats, {1: 0.0})), plain)
    raw = torch.cat([conv._mapping_for("kal", "slt")(x)[0] for x in xs], 1)
    half = out(conv.calibrated_on(tiny_feats, {1: 0.5}))
    mixed = 0.5 * x[1] + 0.5 * raw[1]
    torch.testing.assert_close(half[1], (mixed - mixed.mean()) / mixed.std(), atol=1e-4, rtol=0)
    assert conv.calibrated_on(tiny_feats, {1: 0.5}).name.endswith("(calibrated, anchored 1=0.5)")
    assert parse_anchor("1=0.5, 2=0.25") == {1: 0.5, 2: 0.25}
    assert parse_anchor("1-4=0.5,6=1") == {1: 0.5, 2: 0.5, 3: 0.5, 4: 0.5, 6: 1.0}
    assert format_anchor(parse_anchor("1-4=0.5,5=0.25,7=0.25")) == "1-4=0.5,5=0.25,7=0.25"
    for bad in ("1", "c1=0.5", "1=half", "1=0.5,1=0.2", "4-1=0.5", "1-4=0.5,3=0.2", "-1=0.5", "1-=0.5"):
        with pytest.raises(VcganError, match="DIM=WEIGHT"):
            parse_anchor(bad)
    assert conv.calibrated_on(tiny_feats, parse_anchor("1-4=0.5")).name.endswith("(calibrated, anchored 1-4=0.5)")
    with pytest.raises(VcganError, match="dimensions 0 to"):
        conv.calibrated_on(tiny_feats, {99: 0.5})
    with pytest.raises(VcganError, match="anchor weight 1.5"):
        conv.calibrated_on(tiny_feats, {1: 1.5})
    wav = demo_corpus / "kal" / "test" / "test_003.flac"
    assert main(["convert", "--checkpoint", str(ckpt), "--calibrate", str(tiny_feats), "--anchor", "1=0.5",
                 "--source", "kal", "--target", "slt", str(wav), "-o", str(tmp_path / "a.wav")]) == 0
    assert (tmp_path / "a.wav").stat().st_size > 1000
    assert main(["convert", "--checkpoint", str(ckpt), "--anchor", "1=0.5", "--source", "kal", "--target", "slt",
                 str(wav), "-o", str(tmp_path / "b.wav")]) == 2
    assert not (tmp_path / "b.wav").exists()
    assert torch.isfinite(half).all()


def test_shift_average_makes_a_strided_mapping_shift_invariant():
    """shift_average(fn, 4) of a mapping that works in blocks of 4 frames (as the 2-1-2D generators' stride does):
    delaying the input by one frame delays the output by one frame (away from the edges); fn itself does not."""
    import torch.nn.functional as F

    from vcgan.models.voice_conversion.pipeline import shift_average
    from vcgan.nn import pad_time

    def blocky(x):  # (1, D, T): the mean of each 4-frame block, repeated
        xp, n = pad_time(x, 4)
        return F.avg_pool1d(xp, 4).repeat_interleave(4, -1)[..., :n]

    x = torch.randn(1, 3, 41, generator=torch.Generator().manual_seed(0))
    delayed = torch.cat([x[..., :1], x[..., :-1]], -1)
    inner = slice(8, 32)
    assert not torch.allclose(blocky(delayed)[..., 1:][..., inner], blocky(x)[..., :-1][..., inner])
    avg = shift_average(blocky, 4)
    torch.testing.assert_close(avg(delayed)[..., 1:][..., inner], avg(x)[..., :-1][..., inner])
    assert avg(x).shape == x.shape
    # pointwise mappings are unchanged, and one shift is the mapping itself
    torch.testing.assert_close(shift_average(lambda z: 2 * z + 1, 4)(x), 2 * x + 1)
    assert shift_average(blocky, 1) is blocky
    with pytest.raises(ValueError, match="at least 1"):
        shift_average(blocky, 0)


def test_shift_averaged_conversion_end_to_end(tiny_feats, tmp_path, demo_corpus,
        tiny_stargan_vc2_ckpt):
    """Converter.shift_averaged(N) / --shift-average N: the mean of the model's outputs over the input delayed by
    0..N-1 frames (first frame repeated, dropped again); composes with --calibrate and --anchor."""
    from vcgan.cli import main
    from vcgan.models.voice_conversion.pipeline import SpeakerStats
    from vcgan.features import FeatureStore

    ckpt = tiny_stargan_vc2_ckpt
    conv = vcgan.load(ckpt).raw
    x = SpeakerStats.from_dict(conv.stats["kal"]).model_input(FeatureStore(tiny_feats).utterances("kal")[0].spectral)
    g = conv._mapping_for("kal", "slt")
    manual = sum(g(torch.cat([x[..., :1].expand(-1, -1, k), x], -1))[..., k:] for k in range(3)) / 3
    spun = conv.shift_averaged(3)
    torch.testing.assert_close(spun._mapping_for("kal", "slt")(x), manual)
    assert spun.name.endswith("(averaged over 3 frame shifts)") and conv.shift_averaged(1) is conv
    with pytest.raises(VcganError, match="shift-average"):
        conv.shift_averaged(0)
    cal = spun.calibrated_on(tiny_feats, {1: 0.5})
    assert cal.name.endswith("(averaged over 3 frame shifts) (calibrated, anchored 1=0.5)")
    wav = demo_corpus / "kal" / "test" / "test_003.flac"
    args = ["--source", "kal", "--target", "slt", str(wav)]
    assert main(["convert", "--checkpoint", str(ckpt), "--shift-average", "4", "--calibrate", str(tiny_feats),
                 "--anchor", "1-4=0.5", *args, "-o", str(tmp_path / "a.wav")]) == 0
    assert (tmp_path / "a.wav").stat().st_size > 1000
    assert main(["convert", "--feats", str(tiny_feats), "--shift-average", "4", *args, "-o", str(tmp_path / "b.wav")]) == 2
    assert main(["convert", "--checkpoint", str(ckpt), "--shift-average", "0", *args, "-o", str(tmp_path / "c.wav")]) == 2
    assert not (tmp_path / "b.wav").exists() and not (tmp_path / "c.wav").exists()
