"""StyleGAN and its DCGAN baseline on the engine: the style mechanics the paper defines
(mixing, truncation, noise, AdaIN, equalised learning rate, the mapping network's LR),
the moving averages, one step and exact resume, `vcgan sample` and the CLI end to end,
on the committed Fashion-MNIST subset."""
import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from image_gans.stylegan.family import pad_to
from image_gans.stylegan.networks import (EqualConv2d, EqualLinear, StyledEpilogue, StyleGenerator, crossover,
                                          instance_norm, minibatch_stddev)
from vcgan.errors import ConfigError, VcganError
from conftest import train_log_rows

FMNIST = Path(__file__).parent / "data" / "fashion-mnist"
TINY = {"stylegan": ["model.z_dim=16", "model.w_dim=16", "model.mapping_layers=2", "model.channel_base=128",
                     "model.channel_max=16"],
        "dcgan": ["model.z_dim=16", "model.g_channels=16", "model.d_channels=16"]}


def config(task, out, *extra):
    from vcgan.training import resolve_config

    return resolve_config(None, [f"task={task}", f"data.root={FMNIST}", f"out_dir={out}", "data.batch_size=4",
                                 "train.steps=4", "train.log_every=1", "train.checkpoint_every=2",
                                 "train.progress=false", "train.precision=fp32", *TINY[task], *extra])


def tiny_generator(**kw):
    torch.manual_seed(0)
    return StyleGenerator(size=16, img_channels=1, z_dim=8, w_dim=8, mapping_layers=2, channel_base=64,
                          channel_max=8, **kw)


def randomise_noise_weights(g):
    with torch.no_grad():
        for epi in g.synthesis.epilogues:
            epi.noise_weight.normal_()


def test_a_crossover_at_the_first_or_last_layer_gives_pure_styles():
    g = tiny_generator().eval()
    assert g.num_layers == 6  # two per resolution: 4, 8, 16
    w1, w2 = g.styles(torch.randn(3, 8)), g.styles(torch.randn(3, 8))
    noise = g.synthesis.make_noise(3)
    out = lambda ws: g.synthesis(ws, noise)  # noqa: E731
    assert torch.equal(out(crossover(w1, w2, 0)), out(w2))
    assert torch.equal(out(crossover(w1, w2, g.num_layers)), out(w1))
    mixed = crossover(w1, w2, 3)  # between the two convolutions of the 8x8 block
    assert torch.equal(mixed[:, :3], w1[:, :3]) and torch.equal(mixed[:, 3:], w2[:, 3:])
    assert not torch.equal(out(mixed), out(w1)) and not torch.equal(out(mixed), out(w2))


def test_mixing_draws_one_crossover_among_all_layers_with_its_probability():
    g = tiny_generator(mixing_prob=0.9)
    torch.manual_seed(1)
    draws = [g.mixing_cutoff() for _ in range(2000)]
    cut = [d for d in draws if d is not None]
    assert abs(len(cut) / len(draws) - 0.9) < 0.03
    assert set(cut) == set(range(1, g.num_layers))  # odd cut-offs split a resolution block too
    assert tiny_generator(mixing_prob=0.0).mixing_cutoff() is None


def test_psi_zero_makes_every_sample_the_average_image():
    g = tiny_generator().train()
    for _ in range(5):  # some training forward passes give w_avg a value
        g(torch.randn(4, 8))
    g.eval()
    noise = [n[:1].expand(6, -1, -1, -1) for n in g.synthesis.make_noise(1)]
    x = g(torch.randn(6, 8), psi=0.0, noise=noise)
    assert torch.allclose(x, x[:1].expand_as(x), atol=1e-6)
    y = g(torch.randn(6, 8), psi=1.0, noise=noise)
    assert (y - y[:1]).abs().amax() > 1e-3
    # psi on the first layers only: those styles move to the average, the others stay
    ws = g.styles(torch.randn(2, 8))
    t = g.truncate(ws, 0.0, 2)
    assert torch.allclose(t[:, :2], g.w_avg.expand(2, 2, -1)) and torch.equal(t[:, 2:], ws[:, 2:])


def test_w_avg_is_a_running_average_of_w_over_training_batches():
    g = tiny_generator(mixing_prob=0.0, w_avg_beta=0.995).train()
    expected = torch.zeros(8)
    for _ in range(3):
        z = torch.randn(5, 8)
        with torch.no_grad():
            w = g.mapping(z)
        g(z)
        expected = 0.995 * expected + 0.005 * w.mean(0)
    torch.testing.assert_close(g.w_avg, expected)
    before = g.w_avg.clone()
    g.eval()(torch.randn(5, 8))  # sampling leaves it alone
    assert torch.equal(g.w_avg, before)


def test_zero_noise_weights_make_the_noise_irrelevant_and_each_layer_has_its_own_noise():
    g = tiny_generator().eval()
    ws = g.styles(torch.randn(2, 8))
    a, b = g.synthesis.make_noise(2), g.synthesis.make_noise(2)
    assert len(a) == g.num_layers and [n.shape[-1] for n in a] == [4, 4, 8, 8, 16, 16]
    assert torch.equal(g.synthesis(ws, a), g.synthesis(ws, b))  # weights start at 0
    randomise_noise_weights(g)
    base = g.synthesis(ws, a)
    for i in range(g.num_layers):  # every layer reads its own image, the two of a block too
        changed = list(a)
        changed[i] = torch.randn_like(a[i])
        assert not torch.allclose(g.synthesis(ws, changed), base)


def test_adain_gives_each_channel_the_styles_mean_and_std_even_with_noise_before_it():
    torch.manual_seed(0)
    epi = StyledEpilogue(channels=5, w_dim=8)
    with torch.no_grad():
        epi.noise_weight.normal_()  # noise enters before the normalisation, so it cannot change the statistics
        epi.bias.normal_()
    x, w = torch.randn(3, 5, 16, 16) * 4 + 2, torch.randn(3, 8)
    y = epi(x, w, torch.randn(3, 1, 16, 16))
    scale, bias = epi.style(w).chunk(2, 1)
    torch.testing.assert_close(y.mean((2, 3)), bias, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(y.std((2, 3), unbiased=False), (1 + scale).abs(), atol=1e-3, rtol=1e-3)
    z = instance_norm(torch.randn(2, 3, 8, 8) * 7 - 1)
    torch.testing.assert_close(z.mean((2, 3)), torch.zeros(2, 3), atol=1e-5, rtol=0)


def test_equalised_learning_rate_stores_unit_normal_weights_scaled_at_run_time():
    torch.manual_seed(0)
    lin, conv = EqualLinear(256, 512), EqualConv2d(64, 128, 3)
    for layer, fan_in in ((lin, 256), (conv, 64 * 9)):
        w = layer.weight.detach()
        assert abs(float(w.mean())) < 0.01 and abs(float(w.std()) - 1.0) < 0.01
        assert layer.scale == pytest.approx(1 / math.sqrt(fan_in))
    x = torch.randn(4, 256)
    torch.testing.assert_close(lin(x), x @ (lin.weight / 16.0).T + lin.bias)
    g = StyleGenerator(size=32, z_dim=16, w_dim=16, mapping_layers=2, channel_base=256, channel_max=16)
    layers = [m for m in g.modules() if isinstance(m, (EqualLinear, EqualConv2d))]
    assert layers and not any(isinstance(m, (torch.nn.Linear, torch.nn.Conv2d)) for m in g.modules())


def test_the_mapping_network_learns_at_a_hundredth_of_the_rate(tmp_path):
    from vcgan.engine import Trainer
    from vcgan.training import build

    cfg = config("stylegan", tmp_path, "train.g_lr=0.002")
    model, data = build(cfg)
    t = Trainer(model, data, cfg["train"], tmp_path, cfg)
    mapping = {id(p) for p in model.generators["g"].mapping.parameters()}
    lrs = {}
    for group in t.groups["g"].optimizer.param_groups:
        kinds = {id(p) in mapping for p in group["params"]}
        assert len(kinds) == 1
        lrs[kinds.pop()] = group["lr"]
    assert lrs == {True: pytest.approx(2e-5), False: pytest.approx(2e-3)}
    # Adam's first step moves every weight by about its LR: 0.01x for the mapping network
    before = {n: p.detach().clone() for n, p in model.generators["g"].named_parameters()}
    t.train_step(t.data.next_batch())
    step = {n: (p.detach() - before[n]).abs().max().item() for n, p in model.generators["g"].named_parameters()}
    assert max(v for n, v in step.items() if n.startswith("mapping.")) == pytest.approx(2e-5, rel=0.05)
    assert max(v for n, v in step.items() if n.startswith("synthesis.convs")) == pytest.approx(2e-3, rel=0.05)


def test_the_moving_average_generator_averages_weights_and_copies_w_avg(tmp_path):
    from vcgan.engine import Trainer
    from vcgan.training import build

    cfg = config("stylegan", tmp_path, "train.ema_decay=0.5")
    model, data = build(cfg)
    t = Trainer(model, data, cfg["train"], tmp_path, cfg)
    g = model.generators["g"]
    expected = {k: v.clone() for k, v in g.named_parameters()}
    for _ in range(3):
        t.train_step(t.data.next_batch())
        expected = {k: 0.5 * expected[k] + 0.5 * v.detach() for k, v in g.named_parameters()}
    shadow = t.ema.state_dict()
    for k, v in expected.items():
        torch.testing.assert_close(shadow[f"g.{k}"], v)
    assert torch.equal(shadow["g.w_avg"], g.w_avg)  # a running mean already: copied, not averaged again


def test_minibatch_stddev_appends_the_group_standard_deviation():
    x = torch.randn(8, 3, 4, 4)
    y = minibatch_stddev(x, 4)
    assert y.shape == (8, 4, 4, 4) and torch.equal(y[:, :3], x)
    groups = x.reshape(4, 2, 3, 4, 4)  # sample i is in group i % 2
    want = groups.std(0, unbiased=False).mean((1, 2, 3))
    torch.testing.assert_close(y[:2, 3, 0, 0], want, atol=1e-4, rtol=1e-4)
    assert minibatch_stddev(torch.randn(6, 2, 4, 4), 4).shape == (6, 3, 4, 4)  # groups of 3


def test_fashion_mnist_is_padded_not_resized():
    im = np.arange(28 * 28, dtype=np.uint8).reshape(1, 28, 28)
    out = pad_to(im, 32)
    assert out.shape == (1, 32, 32) and np.array_equal(out[0, 2:30, 2:30], im[0]) and out[0, :2].sum() == 0


@pytest.mark.parametrize("task", sorted(TINY))
def test_one_step_and_exact_resume(task, tmp_path):
    from vcgan.engine import Trainer
    from vcgan.training import build

    def fresh(out):
        cfg = config(task, out, "train.ema_decay=0.9", "loss.r1_every=2", "loss.r1_gamma=1")
        model, data = build(cfg)
        return Trainer(model, data, cfg["train"], out, cfg)

    full = fresh(tmp_path / "full")
    full.fit()
    resumed = fresh(tmp_path / "resumed")
    resumed.fit(resume=tmp_path / "full" / "checkpoints" / "step_00000002.pt")
    want = train_log_rows(tmp_path / "full")
    assert train_log_rows(tmp_path / "resumed") == want[2:] and all(np.isfinite(v) for r in want for v in r.values())
    assert ["d/r1" in r for r in want] == [True, False, True, False]  # lazy R1 on every 2nd step
    for k, v in full.model.state_dict().items():
        assert torch.equal(v, resumed.model.state_dict()[k]), k
    for k, v in full.ema.state_dict().items():
        assert torch.equal(v, resumed.ema.state_dict()[k]), k


def test_dcgan_preset_matches_the_stylegan_presets_generator_size():
    from vcgan.training import resolve_config, build

    root = Path(__file__).resolve().parents[1] / "recipes" / "stylegan" / "conf"
    sizes = {}
    for name in ("stylegan_cpu", "dcgan"):
        cfg = resolve_config(root / f"{name}.yaml", [f"data.root={FMNIST}", "out_dir=unused"])
        model, _ = build(cfg)
        sizes[name] = sum(p.numel() for p in model.generators["g"].parameters())
    assert abs(sizes["dcgan"] / sizes["stylegan_cpu"] - 1) < 0.1, sizes


def test_bad_config_keys_are_named(tmp_path):
    with pytest.raises(ConfigError, match="config key 'data.image_size': a power of two"):
        config("stylegan", tmp_path, "data.image_size=48")
    with pytest.raises(ConfigError, match="config key 'model.truncation_layers': from 0 to the 8 style layers"):
        config("stylegan", tmp_path, "model.truncation_layers=9")
    with pytest.raises(ConfigError, match="config key 'model.mixing_prob': a probability"):
        config("stylegan", tmp_path, "model.mixing_prob=1.5")


def test_cli_trains_samples_reproducibly_and_evaluates(tmp_path, capsys):
    from PIL import Image

    from vcgan.cli import main as cli

    def main(args):
        return cli([str(a) for a in args])

    runs = {}
    for task in TINY:
        runs[task] = tmp_path / task
        assert main(["train", f"task={task}", f"data.root={FMNIST}", f"out_dir={runs[task]}", "data.batch_size=4",
                     "train.steps=2", "train.progress=false", *TINY[task]]) == 0
    sg = runs["stylegan"] / "checkpoints" / "latest.pt"
    assert main(["sample", "--checkpoint", sg, "-n", 5, "-o", tmp_path / "a", "--seed", 7, "--psi", 0.7, "--grids"]) == 0
    assert main(["sample", "--checkpoint", sg, "-n", 5, "-o", tmp_path / "b", "--seed", 7, "--psi", 0.7]) == 0
    assert main(["sample", "--checkpoint", sg, "-n", 5, "-o", tmp_path / "c", "--seed", 8, "--psi", 0.7]) == 0
    read = lambda d, i: np.asarray(Image.open(tmp_path / d / f"seed{7 if d != 'c' else 8}_{i:05d}.png"))  # noqa: E731
    assert all(np.array_equal(read("a", i), read("b", i)) for i in range(5))  # the same seed: the same images
    assert not all(np.array_equal(read("a", i), read("c", i)) for i in range(5))
    assert read("a", 0).shape == (32, 32)
    assert {p.name for p in (tmp_path / "a").iterdir()} >= {"grid.png", "mixing.png", "truncation.png",
                                                             "interpolation.png"}
    mixing = np.asarray(Image.open(tmp_path / "a" / "mixing.png"))
    assert mixing.shape[:2] == (6 * 34 + 2, 6 * 34 + 2)  # 5 rows and 5 columns of 32-px images plus the sources
    dc = runs["dcgan"] / "checkpoints" / "latest.pt"
    assert main(["sample", "--checkpoint", dc, "-n", 3, "-o", tmp_path / "d", "--psi", 0.5]) == 2
    assert "the truncation trick needs a style-based generator" in capsys.readouterr().err
    assert not (tmp_path / "d").exists()
    assert main(["translate", "--checkpoint", sg, tmp_path / "a", "-o", tmp_path / "e"]) == 2
    assert "apply it with `vcgan sample`, not `vcgan translate`" in capsys.readouterr().err
    cls = tmp_path / "classifier.pt"
    assert main(["classifier", "--out", cls, "--fashion-mnist", FMNIST]) == 0
    out = tmp_path / "eval"
    assert main(["evaluate-images", "--checkpoint", sg, "--checkpoint", dc, "--names", "StyleGAN,DCGAN", "-o", out,
                 "--samples", 60, "--classifier", cls, "--fashion-mnist", FMNIST]) == 0
    report = json.loads((out / "scores.json").read_text())
    assert list(report["systems"]) == ["StyleGAN", "DCGAN", "StyleGAN (untrained)", "real vs real (floor)"]
    floor = report["systems"]["real vs real (floor)"]
    assert floor["fd"] < report["systems"]["StyleGAN (untrained)"]["fd"]  # real images are closest to real images
    untrained = report["systems"]["StyleGAN (untrained)"]
    assert floor["classes_present"] > untrained["classes_present"]  # real images span the classes; noise does not
    assert floor["largest_class_share"] < untrained["largest_class_share"]
    assert 0 < floor["mean_confidence"] <= 1 and abs(sum(floor["class_shares"].values()) - 1) < 1e-3
    iv = report["fd_intervals"]["DCGAN - StyleGAN"]
    assert iv["low"] <= iv["difference"] <= iv["high"]
    assert "| StyleGAN |" in (out / "scores.md").read_text() and (out / "grid.png").stat().st_size > 200
    with pytest.raises(VcganError, match="-n: at least one image"):
        import vcgan

        vcgan.load(sg).sample(0)
