import copy

import pytest
import torch

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
    d1 = DiscriminatorVC1(24, channels=8)(torch.randn(2, 24, frames))
    assert d1.shape[:2] == (2, 1) and d1.shape[-1] == -(-frames // 16)


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


def test_bf16_autocast_step_runs(tiny_feats, tmp_path):
    cfg = tiny_config(tiny_feats, tmp_path, **{"train.precision": "bf16"})
    task, sampler = build(cfg)
    trainer = Trainer(task, sampler, cfg["train"], tmp_path, cfg)
    out = trainer.train_step(sampler.next_batch())
    assert all(torch.isfinite(torch.tensor(v)) for v in out.values())
