import numpy as np
import pytest
import torch

import vcgan
from conftest import tiny_config
from vcgan.models.cyclegan_vc import DiscriminatorVC1, GeneratorVC1, GeneratorVC2, PatchDiscriminator
from vcgan.engine.trainer import Trainer
from vcgan.training import build


@pytest.mark.parametrize("frames", [128, 131, 37, 9])
def test_generator_vc2_shapes(frames):
    g = GeneratorVC2(36, channels=8)
    assert g(torch.randn(2, 36, frames)).shape == (2, 36, frames)


@pytest.mark.parametrize("frames", [128, 131, 37])
def test_generator_vc1_shapes(frames):
    g = GeneratorVC1(24, channels=8)
    assert g(torch.randn(2, 24, frames)).shape == (2, 24, frames)


@pytest.mark.parametrize("frames", [128, 131, 37])
def test_discriminators_score_any_length(frames):
    d2 = PatchDiscriminator(36, channels=8)(torch.randn(2, 36, frames))
    assert d2.shape[:2] == (2, 1) and d2.shape[-1] == -(-frames // 8)
    d1 = DiscriminatorVC1(24, channels=8, scores="frame")(torch.randn(2, 24, frames))
    assert d1.shape[:2] == (2, 1) and d1.shape[-1] == -(-frames // 16)


@pytest.mark.parametrize("frames", [128, 37])
def test_cyclegan_vc_discriminator_gives_one_score_per_segment_as_in_the_paper(frames):
    d = DiscriminatorVC1(24, channels=8, frames=frames)
    x = torch.randn(3, 24, frames)
    assert d(x).shape == (3, 1)
    x2 = x.clone()
    x2[:, :, 0] += 1.0  # the first frame changes the one score (position-specific weights)
    assert not torch.allclose(d(x), d(x2))
    with pytest.raises(ValueError, match=f"segments of {frames} frames"):
        d(torch.randn(3, 24, frames + 16))


def test_cyclegan_vc_trains_end_to_end_and_converts(tiny_feats, demo_corpus, tmp_path):
    from vcgan.features.audio import load_audio
    from vcgan.models.voice_conversion.converter import Converter
    from vcgan.training import train

    cfg = tiny_config(tiny_feats, tmp_path, task="cyclegan_vc", **{"features.spectral_dim": 36})
    summary = train(cfg)
    assert summary["steps"] == 3
    rows = (tmp_path / "train_log.jsonl").read_text().splitlines()
    assert len(rows) == 3 and '"g/identity"' in rows[0] and '"g/adv2"' not in rows[0]
    conv = vcgan.load(summary["checkpoint"]).raw
    x = load_audio(sorted((demo_corpus / "kal" / "test").glob("*.flac"))[0], 16000)[:12000]
    y = conv.convert_array(x, "kal", "slt")
    assert np.isfinite(y).all() and abs(len(y) - len(x)) <= 81


def test_patch_discriminator_output_is_linear_and_uses_every_layer():
    d = PatchDiscriminator(36, channels=8)
    assert isinstance(d.net[-1], torch.nn.Conv2d)  # no sigmoid after the last layer
    out = d(torch.randn(1, 36, 64) * 50)
    out.sum().backward()
    unused = [n for n, p in d.named_parameters() if p.grad is None]
    assert not unused, unused


def test_two_step_discriminators_are_separate_and_reach_generator(tiny_feats, tmp_path):
    task, sampler = build(tiny_config(tiny_feats, tmp_path))
    assert set(task.discriminators) == {"a", "b", "a2", "b2"}
    assert task.discriminators["a"] is not task.discriminators["a2"]
    batch = sampler.next_batch()
    losses = task.losses("g", batch, task.generate(batch, 0), 0)
    assert {"adv", "adv2", "cycle", "identity", "total"} <= set(losses)
    task.zero_grad()
    losses["adv2"].backward()
    g_grads = [p.grad for p in task.generators["ab"].parameters() if p.grad is not None]
    assert g_grads and any(g.abs().sum() > 0 for g in g_grads)


def test_identity_loss_follows_step_schedule(tiny_feats, tmp_path):
    cfg = tiny_config(tiny_feats, tmp_path, **{"loss.identity_weight": "[[0, 5.0], [2, 0.0]]"})
    task, sampler = build(cfg)
    batch = sampler.next_batch()
    assert "identity" in task.losses("g", batch, task.generate(batch, 1), 1)
    assert "identity" not in task.losses("g", batch, task.generate(batch, 2), 2)


def test_one_step_lowers_discriminator_loss(tiny_feats, tmp_path):
    torch.manual_seed(0)
    cfg = tiny_config(tiny_feats, tmp_path, **{"train.d_lr": 1e-3})
    task, sampler = build(cfg)
    trainer = Trainer(task, sampler, cfg["train"], tmp_path, cfg)
    batch = sampler.next_batch()

    def d_loss():
        with torch.no_grad():
            return task.losses("d", batch, task.generate(batch, 0), 0)["total"].item()

    before = d_loss()
    trainer.train_step(batch)
    after = d_loss()
    assert after < before


def test_separate_learning_rates_and_schedules(tiny_feats, tmp_path):
    cfg = tiny_config(tiny_feats, tmp_path, **{"train.g_lr": 2e-4, "train.d_lr": 1e-4,
                                                 "train.steps": 4, "train.lr_decay_start": 2})
    task, sampler = build(cfg)
    trainer = Trainer(task, sampler, cfg["train"], tmp_path, cfg)
    lrs = []
    for _ in range(4):
        s = trainer.train_step(sampler.next_batch())
        lrs.append((s["lr/g"], s["lr/d"]))  # the LR this step's update used
    assert lrs[:3] == [pytest.approx((2e-4, 1e-4))] * 3
    assert lrs[3] == pytest.approx((1e-4, 0.5e-4))  # decayed, each from its own base


def test_resume_gives_identical_next_step(tiny_feats, tmp_path):
    cfg = tiny_config(tiny_feats, tmp_path / "run", **{"train.steps": 2, "train.checkpoint_every": 2})

    def fresh():
        task, sampler = build(cfg)
        return Trainer(task, sampler, cfg["train"], cfg["out_dir"], cfg)

    trainer = fresh()
    trainer.fit()
    ckpt = tmp_path / "run" / "checkpoints" / "latest.pt"
    assert ckpt.is_file()
    expected = trainer.train_step(trainer.data.next_batch())  # the step after the checkpoint

    resumed = fresh()  # a new process would start exactly like this
    assert resumed.resume(ckpt)
    assert resumed.step == 2
    got = resumed.train_step(resumed.data.next_batch())
    assert got == expected


def test_nan_loss_stops_with_clear_message(tiny_feats, tmp_path):
    from vcgan.engine.trainer import TrainingDiverged

    cfg = tiny_config(tiny_feats, tmp_path)
    task, sampler = build(cfg)
    trainer = Trainer(task, sampler, cfg["train"], tmp_path, cfg)
    batch = sampler.next_batch()
    batch["a"][0, 0, 0] = float("nan")
    with pytest.raises(TrainingDiverged, match=r"generator loss '\w+' became nan at step 0"):
        trainer.train_step(batch)


def test_bf16_autocast_step_runs_its_convolutions_in_bf16(tiny_feats, tmp_path):
    cfg = tiny_config(tiny_feats, tmp_path, **{"train.precision": "bf16"})
    task, sampler = build(cfg)
    trainer = Trainer(task, sampler, cfg["train"], tmp_path, cfg)
    dtypes = set()
    hooks = [m.register_forward_hook(lambda mod, inp, out: dtypes.add(out.dtype))
             for m in task.modules() if isinstance(m, (torch.nn.Conv1d, torch.nn.Conv2d))]
    weights = [p.detach().clone() for p in task.parameters()]
    out = trainer.train_step(sampler.next_batch())
    for h in hooks:
        h.remove()
    assert dtypes == {torch.bfloat16}  # autocast is on, for every convolution of G and D
    assert all(torch.isfinite(torch.tensor(v)) for v in out.values())
    assert all(p.dtype == torch.float32 for p in task.parameters())  # master weights stay fp32
    assert not all(torch.equal(a, b) for a, b in zip(weights, task.parameters()))


@pytest.mark.parametrize("adversarial", ["wgan-gp", "hinge", "nonsaturating"])
def test_every_adversarial_loss_trains_through_the_objective(tiny_feats, tmp_path, adversarial):
    cfg = tiny_config(tiny_feats, tmp_path, **{"loss.adversarial": adversarial})
    task, sampler = build(cfg)
    trainer = Trainer(task, sampler, cfg["train"], tmp_path, cfg)
    out = trainer.train_step(sampler.next_batch())
    assert all(np.isfinite(v) for v in out.values())
    assert ("d/gp_a" in out and "d/gp2_b" in out) == (adversarial == "wgan-gp")
    if adversarial == "hinge":  # hinge D loss: mean relu(1 - real) + mean relu(1 + fake) >= 0 per domain
        assert out["d/adv_a"] >= 0 and out["d/adv_b"] >= 0
