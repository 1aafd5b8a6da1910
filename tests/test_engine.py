import math

import pytest
import torch

from vcgan.engine import AdversarialLoss, GANModel, Schedule, Step, gradient_penalty, lr_factor, r1_penalty
from vcgan.engine.config import merge, parse_overrides
from vcgan.errors import ConfigError
from vcgan.nn import GLU, NarrowConv2d, PixelShuffle1d

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


@pytest.mark.parametrize("c_in,c_out,kernel,padding,size", [
    (16, 1, (5, 15), (2, 7), (36, 64)),   # the 2-1-2D generators' output layer
    (8, 3, 7, 0, (13, 11)),               # an image generator's output after reflection padding, odd size
    (5, 1, 4, 1, (7, 9)),                 # even kernel: one row and column fewer
    (6, 2, (3, 5), (1, 2), (1, 8)),       # a one-row input
])
def test_narrow_conv2d_is_the_ordinary_convolution(c_in, c_out, kernel, padding, size):
    """Same weights, outputs and gradients (input, weight, bias) as nn.Conv2d; a state dict
    loads across the two."""
    torch.manual_seed(0)
    ref = torch.nn.Conv2d(c_in, c_out, kernel, padding=padding)
    fast = NarrowConv2d(c_in, c_out, kernel, padding=padding)
    fast.load_state_dict(ref.state_dict())
    x = torch.randn(3, c_in, *size, dtype=torch.float64)
    ref, fast = ref.double(), fast.double()
    outs = []
    for net in (ref, fast):
        xi = x.clone().requires_grad_()
        y = net(xi)
        (y * torch.linspace(-1, 1, y.numel(), dtype=y.dtype).view_as(y)).sum().backward()
        outs.append((y.detach(), xi.grad, net.weight.grad, net.bias.grad))
    for a, b in zip(*outs):
        assert a.shape == b.shape
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-9)


def test_narrow_conv2d_takes_the_ordinary_path_where_the_rewrite_does_not_apply():
    x = torch.randn(2, 4, 9, 9)
    for kw in ({"stride": 2, "padding": 1}, {"dilation": 2, "padding": 2}, {"padding": "same"},
               {"padding": 1, "padding_mode": "reflect"}):
        ref = torch.nn.Conv2d(4, 1, 3, **kw)
        fast = NarrowConv2d(4, 1, 3, **kw)
        fast.load_state_dict(ref.state_dict())
        torch.testing.assert_close(fast(x), ref(x))


def test_schedule_piecewise_and_lr_decay():
    s = Schedule([[0, 5.0], [10000, 0.0]])
    assert s(0) == 5.0 and s(9999) == 5.0 and s(10000) == 0.0
    assert Schedule(2.5)(123) == 2.5
    assert lr_factor(0.0, 0.5) == 1.0 and lr_factor(0.5, 0.5) == 1.0 and lr_factor(0.75, 0.5) == pytest.approx(0.5)
    assert lr_factor(1.0, 0.5) == 0.0
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
                     ("train.g_betas=0.5", "train.g_betas"), ("task=pix3pix", "task")]:
        with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
            resolve_config(None, [bad])
    with pytest.raises(ConfigError, match="two_step_weight"):
        resolve_config(None, ["task=cyclegan_vc", "loss.two_step_weight=1.0"])
    with pytest.raises(ConfigError, match="cls_weight"):
        resolve_config(None, ["task=stargan_vc2", "loss.cls_weight=1.0"])
    with pytest.raises(ConfigError, match=r"model\.patch_scores.*StarGAN-VC2"):
        resolve_config(None, ["task=stargan_vc", "model.patch_scores=true"])
    with pytest.raises(ConfigError, match=r"model\.disc_moments.*StarGAN-VC2"):
        resolve_config(None, ["task=stargan_vc", "model.disc_moments=true"])
    with pytest.raises(ConfigError, match=r"model\.middle_channels.*StarGAN-VC2"):
        resolve_config(None, ["task=stargan_vc", "model.middle_channels=64"])
    with pytest.raises(ConfigError, match=r"model\.middle_channels"):
        resolve_config(None, ["task=stargan_vc2", "model.middle_channels=1"])
    assert resolve_config(None, ["task=stargan_vc2", "model.middle_channels=64"])["model"]["middle_channels"] == 64
    with pytest.raises(ConfigError, match=r"model\.patch_scores.*true/false"):
        resolve_config(None, ["task=stargan_vc2", "model.patch_scores=1"])
    with pytest.raises(ConfigError, match="spectral_dim"):
        from vcgan.models.cyclegan_vc import GeneratorVC2

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


# ----------------------------------------------------------------- precision
def test_precision_auto_follows_the_hardware(monkeypatch):
    import warnings

    from vcgan.engine import precision

    cpu = torch.device("cpu")
    monkeypatch.setattr(precision, "native_bf16", lambda device: True)
    assert precision.resolve_precision("auto", cpu) == "bf16"
    monkeypatch.setattr(precision, "native_bf16", lambda device: False)
    assert precision.resolve_precision("auto", cpu) == "fp32"
    assert precision.resolve_precision("fp32", cpu) == "fp32"
    precision._warned.clear()
    with pytest.warns(RuntimeWarning, match=r"bf16 is emulated on this CPU .*10x slower.*precision: auto or fp32"):
        assert precision.resolve_precision("bf16", cpu) == "bf16"  # honoured, with a warning
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # only once per process
        assert precision.resolve_precision("bf16", cpu) == "bf16"
    with pytest.raises(ConfigError, match="fp16 needs CUDA"):
        precision.resolve_precision("fp16", cpu)
    with pytest.raises(ConfigError, match="train.precision"):
        precision.resolve_precision("half", cpu)


def test_native_bf16_reads_the_cpu_flags(monkeypatch):
    from vcgan.engine import precision

    precision.cpu_has_native_bf16.cache_clear()
    try:
        monkeypatch.setattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", lambda: True)
        monkeypatch.setattr(precision, "_cpu_flags", lambda: frozenset({"avx2", "avx512f", "avx512bw"}))
        assert not precision.cpu_has_native_bf16()  # AVX512 without BF16: oneDNN converts, no bf16 arithmetic
        precision.cpu_has_native_bf16.cache_clear()
        monkeypatch.setattr(precision, "_cpu_flags", lambda: frozenset({"avx2", "avx512f", "avx512_bf16"}))
        assert precision.cpu_has_native_bf16()
        precision.cpu_has_native_bf16.cache_clear()
        monkeypatch.setattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", lambda: False)
        assert not precision.cpu_has_native_bf16()
    finally:
        precision.cpu_has_native_bf16.cache_clear()
    assert "native bf16" in precision.hardware_summary(torch.device("cpu"))


def test_hardware_summary_names_the_bf16_instructions(monkeypatch):
    from vcgan.engine import precision

    cpu = torch.device("cpu")
    monkeypatch.setattr(precision, "native_bf16", lambda device: True)
    for flags, said in (({"avx512f", "avx512_bf16", "amx_bf16"}, "native bf16 yes (AMX)"),
                        ({"avx512f", "avx512_bf16"}, "native bf16 yes (AVX512-BF16)")):
        monkeypatch.setattr(precision, "_cpu_flags", lambda flags=flags: frozenset(flags))
        assert precision.hardware_summary(cpu).endswith(said)
    monkeypatch.setattr(precision, "native_bf16", lambda device: False)
    assert precision.hardware_summary(cpu).endswith("native bf16 no")


# ------------------------------------------------------- budget-following schedules
def test_schedule_percentage_breakpoints_follow_progress():
    s = Schedule([[0, 2.0], ["5%", 0.0]], "loss.identity_weight")
    assert s(Step(0, 0.0)) == 2.0 and s(Step(70, 0.049)) == 2.0 and s(Step(71, 0.05)) == 0.0
    assert s(3) == 2.0  # a plain step (progress unknown) has not reached 5%
    steps = Schedule([[0, 5.0], [100, 0.0]])
    assert steps(Step(99, 0.9)) == 5.0 and steps(Step(100, 0.1)) == 0.0  # step breakpoints ignore progress
    for bad in ([[0, 1.0], ["150%", 0.0]], [[0, 1.0], ["5%", 0.0], [100, 1.0]], [[0, 1.0], [2.5, 0.0]], [[0, "x"]]):
        with pytest.raises(ConfigError, match="loss.w"):
            Schedule(bad, "loss.w")
    assert lr_factor(0.25, 0.5) == 1.0 and lr_factor(0.75, 0.5) == pytest.approx(0.5) and lr_factor(1.0, 0.5) == 0.0


class ToyTask(GANModel):
    """Smallest adversarial task: G maps noise-free inputs, D scores them (for engine tests)."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.generators = torch.nn.ModuleDict({"g": torch.nn.Linear(4, 4)})
        self.discriminators = torch.nn.ModuleDict({"d": torch.nn.Linear(4, 1)})
        self.adv = AdversarialLoss("lsgan")
        self.weight = Schedule([[0, 1.0], ["50%", 0.0]], "loss.l1_weight")

    def generate(self, batch, step):
        return {"fake": self.generators["g"](batch["x"])}

    def losses(self, group, batch, out, step):
        d, fake = self.discriminators["d"], out["fake"]
        if group == "g":
            losses = {"adv": self.adv.g_loss(d(fake)), "l1": (fake - batch["y"]).abs().mean()}
            losses["total"] = losses["adv"] + self.weight(step) * losses["l1"]
        else:
            losses = {"adv": self.adv.d_loss(d(batch["y"]), d(fake))}
            losses["total"] = losses["adv"]
        return losses


class FakeClock:
    """Simulated time: every batch drawn costs ``seconds_per_batch``."""

    def __init__(self, start=1000.0):
        self.now = start

    def __call__(self):
        return self.now


class ToyData:
    def __init__(self, clock, seconds_per_batch=6.0):
        self.gen, self.clock, self.cost = torch.Generator().manual_seed(1), clock, seconds_per_batch

    def next_batch(self):
        self.clock.now += self.cost
        return {"x": torch.randn(8, 4, generator=self.gen), "y": torch.randn(8, 4, generator=self.gen) + 2}

    def state_dict(self):
        return {"gen": self.gen.get_state()}

    def load_state_dict(self, state):
        self.gen.set_state(state["gen"])


def _toy_trainer(out_dir, clock_start=1000.0, **train):
    from vcgan.engine import Trainer

    cfg = {"steps": 1000, "max_minutes": 1.0, "lr_decay_start": 0, "log_every": 1, "checkpoint_every": 0,
           "progress": False, **train}
    clock = FakeClock(clock_start)
    return Trainer(ToyTask(), ToyData(clock), cfg, out_dir, clock=clock)


def _log_rows(out_dir):
    import json

    return [json.loads(line) for line in (out_dir / "train_log.jsonl").read_text().splitlines()]


def test_time_budget_drives_lr_decay_to_zero_at_the_deadline(tmp_path):
    trainer = _toy_trainer(tmp_path)  # 1000 steps asked, 60 s of budget, 6 s per step
    summary = trainer.fit()
    assert summary["stopped_by_time_limit"] and summary["steps"] == 10
    assert summary["progress"] == 1.0 and summary["final_lr_factor"] == 0.0
    assert trainer.groups["g"].lr == 0.0 and trainer.groups["d"].lr == 0.0
    rows = _log_rows(tmp_path)
    # step k uses progress (k + 1) * 6 / 60 (its batch's time counts): linear decay on the clock, not on steps
    assert [r["progress"] for r in rows] == pytest.approx([(k + 1) / 10 for k in range(10)])
    assert [r["lr/g"] for r in rows] == pytest.approx([2e-4 * (1 - (k + 1) / 10) for k in range(10)])
    # a percentage loss schedule switches at half of the run's time, not at half of its 1000 steps
    assert [r["g/total"] > r["g/adv"] for r in rows] == [True] * 4 + [False] * 6


def test_time_budget_resume_gives_identical_steps(tmp_path):
    full = _toy_trainer(tmp_path / "full", checkpoint_every=4, lr_decay_start=300)
    full.fit()
    ckpt = tmp_path / "full" / "checkpoints" / "step_00000004.pt"
    assert ckpt.is_file()
    resumed = _toy_trainer(tmp_path / "resumed", clock_start=5.0, checkpoint_every=4, lr_decay_start=300)
    summary = resumed.fit(resume=ckpt)  # the elapsed training time comes back with the checkpoint
    assert summary["steps"] == 10 and summary["steps_this_run"] == 6 and summary["minutes_trained"] == pytest.approx(1.0)
    want, got = _log_rows(tmp_path / "full")[4:], _log_rows(tmp_path / "resumed")
    for r in want + got:
        r.pop("time/sec_per_step")
    assert got == want
    assert 0.0 < want[0]["lr/g"] < 2e-4  # the resume falls inside the decay


def test_generator_starts_after_discriminator_warm_up(tmp_path):
    trainer = _toy_trainer(tmp_path, g_start=3)
    g0 = [p.detach().clone() for p in trainer.model.generators.parameters()]
    d0 = [p.detach().clone() for p in trainer.model.discriminators.parameters()]
    for _ in range(3):
        assert "g/total" not in trainer.train_step(trainer.data.next_batch())
    assert all(torch.equal(a, b) for a, b in zip(g0, trainer.model.generators.parameters()))  # G untouched
    assert not any(torch.equal(a, b) for a, b in zip(d0, trainer.model.discriminators.parameters()))  # D learned
    assert "g/total" in trainer.train_step(trainer.data.next_batch())
    assert not any(torch.equal(a, b) for a, b in zip(g0, trainer.model.generators.parameters()))


def test_generator_start_as_a_share_of_the_time_budget(tmp_path):
    _toy_trainer(tmp_path, g_start="30%").fit()  # 10 steps of 6 s in 60 s; step k has progress (k + 1) / 10
    rows = _log_rows(tmp_path)
    assert [("g/total" in r) for r in rows] == [False] * 2 + [True] * 8
    assert all("d/total" in r for r in rows)


def test_loss_weight_keys_take_a_number_or_a_schedule():
    from vcgan.training import resolve_config

    cfg = resolve_config(None, ["loss.identity_weight=1.0", 'loss.cycle_weight=[[0, 1.0], ["10%", 3.0]]'])
    assert cfg["loss"]["identity_weight"] == 1.0 and cfg["loss"]["cycle_weight"] == [[0, 1.0], ["10%", 3.0]]
    with pytest.raises(ConfigError, match=r"loss\.identity_weight.*expected a number"):
        resolve_config(None, ["loss.identity_weight=often"])
    with pytest.raises(ConfigError, match=r"loss\.cycle_weight.*0%\.\.100%"):
        resolve_config(None, ['loss.cycle_weight=[[0, 1.0], ["500%", 3.0]]'])
