"""GLCIC on the engine: what the discriminators see (the composite), the loss inside the hole
only, the three phases as per-group update schedules (each leaves the frozen network
bit-identical), exact resume, `vcgan complete` on rectangles, free-form strokes and border
holes, and the CLI end to end, on the committed Fashion-MNIST subset."""
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from image_gans.glcic.masks import free_form_mask, rectangle_mask
from image_gans.glcic.networks import dilations, local_crops
from vcgan.errors import ConfigError, VcganError
from conftest import train_log_rows

FMNIST = Path(__file__).parent / "data" / "fashion-mnist"
TINY = ["model.width=8", "model.d_width=8", "model.d_max_width=16", "model.d_fc=16"]
# phases by step: 1 (completion network alone) at steps 0-2, 2 (discriminator alone) 3-4, 3 (both) from 5
PHASES = ["train.optim.g.every=[[0, 1], [3, 0], [5, 1]]", "train.optim.d.every=[[0, 0], [3, 1]]",
          "loss.alpha=[[0, 0.0], [5, 0.0004]]"]


def config(out, *extra):
    from vcgan.training import resolve_config

    return resolve_config(None, ["task=glcic", f"data.root={FMNIST}", f"out_dir={out}", "data.batch_size=4",
                                 "train.steps=7", "train.log_every=1", "train.checkpoint_every=2", "train.keep_checkpoints=10",
                                 "train.progress=false", "train.precision=fp32", *TINY, *PHASES, *extra])


def built(out, *extra):
    from vcgan.training import build

    cfg = config(out, *extra)
    model, data = build(cfg)
    return cfg, model, data


def test_discriminators_see_the_composite_and_the_loss_counts_hole_pixels_only(tmp_path):
    _, model, data = built(tmp_path)
    batch = data.next_batch()
    x, mask = batch["x"], batch["mask"]
    assert ((mask.sum((1, 2, 3)) > 0) & (mask.sum((1, 2, 3)) < mask[0].numel())).all()
    out = model.generate(batch, 10)
    outside = mask == 0
    assert torch.equal(out["composite"][outside], x[outside])  # the input itself outside the hole
    assert torch.equal(out["composite"][~outside], out["out"][~outside])
    seen = []
    d = model.discriminators["d"]
    d.register_forward_pre_hook(lambda mod, args: seen.append(args[0].detach().clone()))
    model.discriminator_losses(batch, out, 10)
    model.generator_losses(batch, out, 10)  # phase 3: the adversarial term is on
    assert len(seen) == 3 and torch.equal(seen[0], x)
    for s in seen[1:]:  # never the raw output: outside the hole D sees the real image
        assert torch.equal(s[outside], x[outside]) and torch.equal(s, out["composite"])
    # the reconstruction loss ignores pixels outside the hole and is their mean squared error inside
    changed = dict(out, out=torch.where(outside, out["out"] + 5.0, out["out"]))
    before = model.generator_losses(batch, out, 0)["mse"]
    assert torch.equal(model.generator_losses(batch, changed, 0)["mse"], before)
    want = ((out["out"] - x) ** 2)[(~outside).expand_as(x)].mean()
    assert torch.allclose(before, want)
    inside = dict(out, out=torch.where(outside, out["out"], out["out"] + 0.1))
    assert model.generator_losses(batch, inside, 0)["mse"] != before
    assert "adversarial" not in model.generator_losses(batch, out, 0)  # phase 1: MSE only


def test_the_local_crop_holds_the_whole_hole_also_at_the_borders(tmp_path):
    _, model, data = built(tmp_path, "data.batch_size=64")
    at_border = torch.zeros(4, dtype=torch.long)  # holes touching the top, bottom, left, right edge
    for _ in range(4):
        batch = data.next_batch()
        side = model.discriminators["d"].local_size
        crops = local_crops(batch["mask"], batch["crop"], side)
        assert torch.equal(crops.sum((1, 2, 3)), batch["mask"].sum((1, 2, 3)))  # all of each hole inside its crop
        x = batch["x"]
        i, (t, left) = 0, batch["crop"][0].tolist()
        assert torch.equal(local_crops(x, batch["crop"], side)[i], x[i, :, t:t + side, left:left + side])
        rows, cols = batch["mask"].amax(3)[:, 0], batch["mask"].amax(2)[:, 0]  # (n, h), (n, w): the hole's extent
        at_border += torch.stack([rows[:, 0], rows[:, -1], cols[:, 0], cols[:, -1]]).sum(1).long()
    assert (at_border > 0).all(), at_border  # the crops above included holes at every edge
    assert dilations(8) == (2, 4, 4, 4) and dilations(64) == (2, 4, 8, 16)


def snapshot(module):
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def same(a, b):
    return all(torch.equal(a[k], b[k]) for k in a)


def test_three_phases_freeze_what_they_should_and_keep_the_phase_one_checkpoint(tmp_path):
    from vcgan.engine import Trainer

    cfg, model, data = built(tmp_path)
    trainer = Trainer(model, data, cfg["train"], tmp_path, cfg)
    g, d = model.generators, model.discriminators
    history = []
    for step in range(7):
        before_g, before_d = snapshot(g), snapshot(d)
        logged = trainer.train_step(data.next_batch())
        history.append((step, same(before_g, snapshot(g)), same(before_d, snapshot(d)), logged))
    for step, g_same, d_same, logged in history:
        phase = 1 if step < 3 else 2 if step < 5 else 3
        assert (g_same, d_same) == {1: (False, True), 2: (True, False), 3: (False, False)}[phase], step
        assert ("g/adversarial" in logged) == (phase == 3) and ("d/total" in logged) == (phase > 1)
    # a checkpoint at the end of each phase: the MSE-only network is the baseline GLCIC is judged beside
    ends = sorted(p.name for p in (tmp_path / "checkpoints").glob("phase_end_*.pt"))
    assert ends == ["phase_end_00000003.pt", "phase_end_00000005.pt"]
    phase1 = torch.load(tmp_path / "checkpoints" / ends[0], weights_only=True)
    assert phase1["step"] == 3


def test_a_config_that_trains_against_an_untrained_discriminator_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="config key 'loss.alpha': the adversarial term starts"):
        config(tmp_path, "loss.alpha=0.0004")
    with pytest.raises(ConfigError, match="config key 'data.image_size': a power of two from 16"):
        config(tmp_path, "data.image_size=24")
    with pytest.raises(ConfigError, match="config key 'model.prefill': one of mean, harmonic, biharmonic, biharmonic\\+harmonic, got 'zeros'"):
        config(tmp_path, "model.prefill=zeros")


@pytest.mark.parametrize("prefill", ["harmonic", "biharmonic+harmonic"])
def test_a_prefilled_network_starts_as_the_fill_and_learns_a_correction_inside_the_hole(tmp_path, prefill):
    from vcgan.engine import Trainer
    from image_gans.glcic.prefill import biharmonic_fill, harmonic_fill

    cfg, model, data = built(tmp_path, f"model.prefill={prefill}", "train.steps=3")
    # grey images: with two fills the network sees both and the mask, 3 input channels
    assert model.generators["g"].net[0][0].in_channels == len(prefill.split("+")) + 1
    batch = data.next_batch()
    x, mask = batch["x"], batch["mask"]
    start = model.generate(batch, 0)
    fill = (harmonic_fill if prefill == "harmonic" else biharmonic_fill)(x, mask)
    assert torch.equal(start["out"], fill.clamp(-1, 1))  # untrained: exactly the (first) fill
    assert torch.equal(start["composite"][mask == 0], x[mask == 0])
    Trainer(model, data, cfg["train"], tmp_path, cfg).fit()  # phase 1: MSE only
    after = model.generate(batch, 0)
    moved = (after["out"] - fill).abs()
    assert moved[(mask > 0).expand_as(x)].max() > 1e-3  # the network's correction
    assert torch.equal(after["composite"][mask == 0], x[mask == 0])


def test_a_gate_between_two_fills_starts_near_the_first_and_is_learned(tmp_path):
    from vcgan.engine import Trainer
    from image_gans.glcic.prefill import biharmonic_fill, harmonic_fill

    with pytest.raises(ConfigError, match="config key 'model.gate': weighs two fills, so it needs model.prefill: "
                                          "biharmonic\\+harmonic, got 'harmonic'"):
        config(tmp_path, "model.prefill=harmonic", "model.gate=true")
    with pytest.raises(ConfigError, match="config key 'model.upsample': one of transposed, nearest, got 'bilinear'"):
        config(tmp_path, "model.upsample=bilinear")
    cfg, model, data = built(tmp_path, "model.prefill=biharmonic+harmonic", "model.gate=true", "train.steps=3")
    batch = data.next_batch()
    x, mask = batch["x"], batch["mask"]
    bi, harm = biharmonic_fill(x, mask), harmonic_fill(x, mask)
    start = model.generate(batch, 0)["out"]
    # untrained: 5% of the way from the biharmonic towards the harmonic fill, everywhere
    assert torch.allclose(start, (bi + torch.sigmoid(torch.tensor(-3.0)) * (harm - bi)).clamp(-1, 1), atol=1e-5)
    last = model.generators["g"].net[-1]
    gate_before = last.bias[1:].detach().clone()
    Trainer(model, data, cfg["train"], tmp_path, cfg).fit()  # phase 1: MSE only
    assert not torch.equal(last.bias[1:], gate_before) and last.weight[1:].abs().max() > 0


def test_one_step_and_exact_resume(tmp_path):
    from vcgan.engine import Trainer

    def fresh(out):
        cfg, model, data = built(out)
        return Trainer(model, data, cfg["train"], out, cfg)

    full = fresh(tmp_path / "full")
    full.fit()
    resumed = fresh(tmp_path / "resumed")
    resumed.fit(resume=tmp_path / "full" / "checkpoints" / "step_00000004.pt")  # inside phase 2
    want = train_log_rows(tmp_path / "full")
    assert train_log_rows(tmp_path / "resumed") == want[4:] and all(np.isfinite(v) for r in want for v in r.values())
    for k, v in full.model.state_dict().items():
        assert torch.equal(v, resumed.model.state_dict()[k]), k


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    from vcgan.cli import main

    out = tmp_path_factory.mktemp("glcic")
    assert main(["train", "task=glcic", f"data.root={FMNIST}", f"out_dir={out}", "data.batch_size=8",
                 "train.steps=40", "train.progress=false", "train.precision=fp32", "train.optim.g.optimizer=adam",
                 "train.g_lr=2e-3", "train.optim.d.optimizer=adam", "train.d_lr=2e-4", *TINY,
                 "train.optim.g.every=[[0, 1], [30, 0], [32, 1]]", "train.optim.d.every=[[0, 0], [30, 1]]",
                 "loss.alpha=[[0, 0.0], [32, 0.0004]]"]) == 0
    return out / "checkpoints" / "latest.pt"


def fm_image(tmp_path, i=0) -> Path:
    from image_gans.data import load_fashion_mnist
    from image_gans.stylegan.family import pad_to

    path = tmp_path / f"garment{i}.png"
    Image.fromarray(pad_to(load_fashion_mnist("test", FMNIST)[0][i:i + 1], 32)[0]).save(path)
    return path


def save_mask(path, mask) -> Path:
    Image.fromarray((mask * 255).astype(np.uint8)).save(path)
    return path


def test_complete_keeps_the_known_pixels_and_fills_rectangles_strokes_and_border_holes(trained, tmp_path):
    import vcgan

    model = vcgan.load(trained)
    untrained = type(model)(model.path, model.checkpoint, model.family, untrained=True)
    assert model.describe()["purpose"] == "image completion"
    img = np.asarray(Image.open(fm_image(tmp_path)))
    x = torch.from_numpy(img.astype(np.float32) / 127.5 - 1)[None, None]
    rng = np.random.default_rng(0)
    masks = {"rectangle": rectangle_mask((32, 32), 10, 9, 12, 14), "free-form": free_form_mask(32, rng),
             "border": rectangle_mask((32, 32), 20, 0, 12, 10)}
    for name, m in masks.items():
        mt = torch.from_numpy(m)[None, None]
        y = model.complete(x, mt)
        assert torch.equal(y[mt.expand_as(y) == 0], x[mt.expand_as(x) == 0]), name  # exactly the input outside
        err = lambda z: ((z - x) ** 2)[mt.bool()].mean()  # noqa: E731
        assert err(y) < 0.75 * err(untrained.complete(x, mt)), name  # 30 steps of MSE already help
    # odd sizes are padded for the network and cropped back
    y = model.complete(x[..., :30, :27], torch.from_numpy(masks["rectangle"])[None, None, :30, :27])
    assert y.shape == (1, 1, 30, 27)
    with pytest.raises(VcganError, match="this model completes 1-channel images, got 3"):
        model.complete(x.expand(-1, 3, -1, -1), torch.from_numpy(masks["rectangle"])[None, None])


def test_cli_completes_evaluates_and_refuses_bad_input(trained, tmp_path, capsys):
    from vcgan.cli import main as cli

    def main(args):
        return cli([str(a) for a in args])

    imgs = [fm_image(tmp_path, i) for i in range(3)]
    mask = save_mask(tmp_path / "mask.png", rectangle_mask((64, 64), 0, 20, 24, 30))  # resized to each image
    assert main(["complete", "--checkpoint", trained, *imgs, "--mask", mask, "-o", tmp_path / "out"]) == 0
    outs = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert outs == ["garment0.png", "garment1.png", "garment2.png"]
    small = np.asarray(Image.fromarray(np.asarray(Image.open(mask))).resize((32, 32), Image.NEAREST)) > 127
    for p in imgs:
        a, b = np.asarray(Image.open(p)), np.asarray(Image.open(tmp_path / "out" / p.name))
        assert np.array_equal(a[~small], b[~small]) and not np.array_equal(a[small], b[small])
    assert main(["complete", "--checkpoint", trained, imgs[0], "--mask", mask, "--blend", "poisson",
                 "-o", tmp_path / "one.png"]) == 0
    blended = np.asarray(Image.open(tmp_path / "one.png"))
    assert np.array_equal(blended[~small], np.asarray(Image.open(imgs[0]))[~small])
    # bad input: a mask without a hole, a corrupt image, a checkpoint of another kind
    empty = save_mask(tmp_path / "empty.png", np.zeros((32, 32), np.float32))
    assert main(["complete", "--checkpoint", trained, imgs[0], "--mask", empty, "-o", tmp_path / "x"]) == 2
    assert f"{empty}: the mask has no hole" in capsys.readouterr().err
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not a png")
    assert main(["complete", "--checkpoint", trained, imgs[0], bad, "--mask", mask, "-o", tmp_path / "y"]) == 2
    assert f"{bad}: not a readable image" in capsys.readouterr().err
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()  # nothing written
    assert main(["complete", "--checkpoint", trained, imgs[0], bad, "--mask", mask, "-o", tmp_path / "z",
                 "--skip-bad"]) == 0
    assert [p.name for p in (tmp_path / "z").iterdir()] == ["garment0.png"]
    assert main(["sample", "--checkpoint", trained, "-o", tmp_path / "s"]) == 2
    assert "apply it with `vcgan complete`, not `vcgan sample`" in capsys.readouterr().err
    # evaluation beside the baselines, the phase-1 checkpoint as another system
    phase1 = sorted(trained.parent.glob("phase_end_*.pt"))[0]
    cls = tmp_path / "classifier.pt"
    assert main(["classifier", "--out", cls, "--fashion-mnist", FMNIST]) == 0
    assert main(["evaluate-images", "--checkpoint", trained, "--checkpoint", phase1, "--names", "glcic,phase 1",
                 "--max-images", 40, "-o", tmp_path / "eval", "--blend", "--classifier", cls,
                 "--fashion-mnist", FMNIST]) == 0
    report = json.loads((tmp_path / "eval" / "scores.json").read_text())
    assert list(report["systems"]) == ["mean fill", "telea", "biharmonic", "harmonic", "untrained network", "phase 1",
                                       "model", "model + Poisson blending"]
    s = report["systems"]
    assert s["model"]["psnr"] > s["untrained network"]["psnr"] and s["model"]["psnr"] > s["mean fill"]["psnr"] - 3
    assert all(np.isfinite(v["fd"]) for v in s.values())
    assert set(report["intervals"]) == {f"model - {k}" for k in s if k != "model"}
    assert (tmp_path / "eval" / "grid.png").is_file() and "| biharmonic |" in (tmp_path / "eval" / "scores.md").read_text()
