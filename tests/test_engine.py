import math

import pytest
import torch

from vcgan.engine import AdversarialLoss, Schedule, gradient_penalty, linear_decay, r1_penalty
from vcgan.engine.config import merge, parse_overrides
from vcgan.errors import ConfigError
from vcgan.nn import GLU, PixelShuffle1d

REAL = torch.tensor([0.5, 1.0, 2.0])
FAKE = torch.tensor([-1.0, 0.0, 0.5])


def test_lsgan_values():
    loss = AdversarialLoss("lsgan")
    # mean((r-1)^2) = (0.25 + 0 + 1)/3 ; mean(f^2) = (1 + 0 + 0.25)/3
    assert loss.d_loss(REAL, FAKE).item() == pytest.approx(1.25 / 3 + 1.25 / 3)
    # mean((f-1)^2) = (4 + 1 + 0.25)/3
    assert loss.g_loss(FAKE).item() == pytest.approx(5.25 / 3)


def test_nonsaturating_values():
    loss = AdversarialLoss("nonsaturating")
    sp = lambda x: math.log1p(math.exp(x))  # noqa: E731
    d = sum(sp(-r) for r in REAL.tolist()) / 3 + sum(sp(f) for f in FAKE.tolist()) / 3
    g = sum(sp(-f) for f in FAKE.tolist()) / 3
    assert loss.d_loss(REAL, FAKE).item() == pytest.approx(d, rel=1e-6)
    assert loss.g_loss(FAKE).item() == pytest.approx(g, rel=1e-6)


def test_hinge_values():
    loss = AdversarialLoss("hinge")
    # relu(1-r) = [0.5, 0, 0] ; relu(1+f) = [0, 1, 1.5]
    assert loss.d_loss(REAL, FAKE).item() == pytest.approx(0.5 / 3 + 2.5 / 3)
    assert loss.g_loss(FAKE).item() == pytest.approx(-(-0.5) / 3)


def test_wgan_values_and_gradient_penalty():
    loss = AdversarialLoss("wgan-gp")
    assert loss.d_loss(REAL, FAKE).item() == pytest.approx(FAKE.mean().item() - REAL.mean().item())
    assert loss.g_loss(FAKE).item() == pytest.approx(-FAKE.mean().item())
    # a linear critic w.x has gradient norm |w| everywhere: penalty (|w| - 1)^2
    w = torch.tensor([3.0, 4.0])
    critic = lambda x: x @ w  # noqa: E731
    gp = gradient_penalty(critic, torch.randn(5, 2), torch.randn(5, 2))
    assert gp.item() == pytest.approx((5.0 - 1.0) ** 2)


def test_penalties_treat_a_score_map_as_its_mean():
    # scores 3*x at each of P positions: the per-sample score is mean(3x), gradient 3/P per input
    P = 8
    x = torch.randn(4, P, requires_grad=True)
    assert r1_penalty((3 * x)[:, None, :], x).item() == pytest.approx(9.0 / P)
    gp = gradient_penalty(lambda v: (3 * v)[:, None, :], torch.randn(4, P), torch.randn(4, P))
    assert gp.item() == pytest.approx((3.0 / P**0.5 - 1.0) ** 2, rel=1e-4)


def test_unknown_adversarial_kind():
    with pytest.raises(ValueError, match="unknown adversarial"):
        AdversarialLoss("sigmoid")


def test_glu_gates_split_channels():
    x = torch.tensor([[[1.0, -2.0], [3.0, 0.5], [0.0, 1.0], [-1.0, 2.0]]])  # (1, 4, 2)
    a, b = x[:, :2], x[:, 2:]
    torch.testing.assert_close(GLU()(x), a * torch.sigmoid(b))
    assert not torch.allclose(GLU()(x), x[:, :2] * torch.sigmoid(x[:, :2]))


def test_pixel_shuffle_1d_interleaves_frames():
    x = torch.arange(12.0).view(1, 4, 3)  # channels (c*r + i), r=2 -> 2 output channels
    y = PixelShuffle1d(2)(x)
    assert y.shape == (1, 2, 6)
    # out[c, t*r + i] = in[c*r + i, t]
    for c in range(2):
        for t in range(3):
            for i in range(2):
                assert y[0, c, t * 2 + i] == x[0, c * 2 + i, t]
    torch.testing.assert_close(y[0, 0], torch.tensor([0.0, 3.0, 1.0, 4.0, 2.0, 5.0]))


def test_schedule_piecewise_and_lr_decay():
    s = Schedule([[0, 5.0], [10000, 0.0]])
    assert s(0) == 5.0 and s(9999) == 5.0 and s(10000) == 0.0
    assert Schedule(2.5)(123) == 2.5
    f = linear_decay(100, 50)
    assert f(0) == 1.0 and f(50) == 1.0 and f(75) == pytest.approx(0.5) and f(100) == 0.0
    with pytest.raises(ConfigError):
        Schedule("often")


def test_config_merge_rejects_unknown_and_mistyped_keys():
    defaults = {"train": {"steps": 10, "amp": False}, "name": "x"}
    assert merge(defaults, {"train": {"steps": 5}})["train"] == {"steps": 5, "amp": False}
    with pytest.raises(ConfigError, match="train.stpes"):
        merge(defaults, {"train": {"stpes": 5}})
    with pytest.raises(ConfigError, match="train.steps"):
        merge(defaults, {"train": {"steps": "many"}})
    assert parse_overrides(["train.steps=7", "name=y"]) == {"train": {"steps": 7}, "name": "y"}
    with pytest.raises(ConfigError, match="key=value"):
        parse_overrides(["train.steps"])


def test_training_config_validation():
    from vcgan.training import resolve_config

    cfg = resolve_config(None, ["train.g_lr=5e-4", "data.speakers=[kal, slt]", "task=stargan_vc2"])
    assert cfg["train"]["g_lr"] == 5e-4 and cfg["data"]["speakers"] == ["kal", "slt"]
    for bad, key in [("train.log_every=0", "train.log_every"), ("data.batch_size=2.5", "data.batch_size"),
                     ("train.lr_decay_start=soon", "train.lr_decay_start"), ("data.speakers=kal", "data.speakers"),
                     ("train.g_betas=0.5", "train.g_betas"), ("task=pix2pix", "task")]:
        with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
            resolve_config(None, [bad])
    with pytest.raises(ConfigError, match="two_step_weight"):
        resolve_config(None, ["task=cyclegan_vc", "loss.two_step_weight=1.0"])
    with pytest.raises(ConfigError, match="cls_weight"):
        resolve_config(None, ["task=stargan_vc2", "loss.cls_weight=1.0"])
    with pytest.raises(ConfigError, match=r"model\.patch_scores.*StarGAN-VC2"):
        resolve_config(None, ["task=stargan_vc", "model.patch_scores=true"])
    with pytest.raises(ConfigError, match=r"model\.patch_scores.*true/false"):
        resolve_config(None, ["task=stargan_vc2", "model.patch_scores=1"])
    with pytest.raises(ConfigError, match="spectral_dim"):
        from vcgan.cyclegan_vc import GeneratorVC2

        GeneratorVC2(35)


def test_mcd_on_hand_computed_inputs():
    import numpy as np

    from vcgan.metrics.mcd import MCD_CONST, score_features

    rng = np.random.default_rng(0)
    mc = rng.normal(size=(50, 25))
    f0 = np.where(rng.random(50) > 0.3, 120.0, 0.0)
    same = score_features("same", mc, f0, mc, f0)
    assert same.mcd == pytest.approx(0.0) and same.log_f0_rmse == pytest.approx(0.0) and same.vuv_error == 0.0
    shifted = mc.copy()
    shifted[:, 1:] += 0.1  # every frame differs by 0.1 in each of 24 coefficients; c0 changes do not count
    shifted[:, 0] += 5.0
    s = score_features("shift", mc, f0, shifted, f0 * 2)
    assert s.mcd == pytest.approx(MCD_CONST * np.sqrt(24 * 0.01), rel=1e-6)
    assert s.log_f0_rmse == pytest.approx(np.log(2.0))
