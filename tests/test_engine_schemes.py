"""Training schemes written as config: update order and periods, phases, EMA, LR
multipliers, lazy R1, the history pool, BatchNorm discriminators, multi-view losses,
composition, exact resume, the registry, and the engine's place in the import graph."""
import ast
from pathlib import Path

import pytest
import torch
from torch import nn

from vcgan.engine import AdversarialLoss, Trainer
from vcgan.engine.objectives import (Composite, CycleConsistentObjective, HistoryPool, MultiViewDiscriminator,
                                     PairedObjective, UnconditionalObjective, score_real_fake)
from vcgan.errors import ConfigError
from conftest import train_log_rows

ROOT = Path(__file__).resolve().parents[1]


class Pairs:
    """Two-domain and paired batches of shape (batch, 4, 8) from a seeded generator."""

    def __init__(self, batch=4, seed=1):
        self.gen, self.batch = torch.Generator().manual_seed(seed), batch

    def next_batch(self):
        r = lambda: torch.randn(self.batch, 4, 8, generator=self.gen)  # noqa: E731
        a, b = r(), r() + 1.0
        return {"a": a, "b": b, "x": a, "y": b}

    def state_dict(self):
        return {"gen": self.gen.get_state()}

    def load_state_dict(self, state):
        self.gen.set_state(state["gen"])


def conv(cin=4, cout=4):
    return nn.Conv1d(cin, cout, 3, padding=1)


def cycle_model(pool_size=0):
    torch.manual_seed(0)
    return CycleConsistentObjective(conv(), conv(), conv(4, 1), conv(4, 1), cycle_weight=1.0, identity_weight=0.5,
                                    pool_size=pool_size)


def trainer_for(model, tmp_path, data=None, **train):
    cfg = {"steps": 10, "log_every": 1, "checkpoint_every": 0, "progress": False, "precision": "fp32", **train}
    return Trainer(model, data or Pairs(), cfg, tmp_path)


def weights(module):
    return [p.detach().clone() for p in module.parameters()]


def same(a, b):
    return all(torch.equal(x, y) for x, y in zip(a, b))


class Recording(CycleConsistentObjective):
    """Records the order of the groups' loss calls."""

    calls: list

    def losses(self, group, batch, out, step):
        self.calls.append((int(step), group))
        return super().losses(group, batch, out, step)


def test_n_critic_discriminator_first_generator_every_fifth_step(tmp_path):
    torch.manual_seed(0)
    model = Recording(conv(), conv(), conv(4, 1), conv(4, 1))
    model.calls = []
    t = trainer_for(model, tmp_path, update_order=["d", "g"],
                    optim={"g": {"every": 5}, "d": {"every": 1}})
    for step in range(10):
        g0, d0 = weights(model.generators), weights(model.discriminators)
        logged = t.train_step(t.data.next_batch())
        g_due = (step + 1) % 5 == 0
        assert ("g/total" in logged) == g_due and "d/total" in logged
        assert same(g0, weights(model.generators)) != g_due  # G weights bit-identical between its updates
        assert not same(d0, weights(model.discriminators))
    assert model.calls[:6] == [(0, "d"), (1, "d"), (2, "d"), (3, "d"), (4, "d"), (4, "g")]


def test_phases_freeze_a_side_and_change_optimizer_type(tmp_path):
    """GLCIC-style: G alone for 3 steps, D alone for 2, then both; D on Adadelta."""
    model = cycle_model()
    t = trainer_for(model, tmp_path, optim={"g": {"every": [[0, 1], [3, 0], [5, 1]]},
                                            "d": {"every": [[0, 0], [3, 1]], "optimizer": "adadelta", "lr": 1.0}})
    assert isinstance(t.groups["d"].optimizer, torch.optim.Adadelta)
    seen = []
    for _ in range(7):
        g0, d0 = weights(model.generators), weights(model.discriminators)
        logged = t.train_step(t.data.next_batch())
        seen.append(("g/total" in logged, "d/total" in logged))
        assert same(g0, weights(model.generators)) == (not seen[-1][0])
        assert same(d0, weights(model.discriminators)) == (not seen[-1][1])
    assert seen == [(True, False)] * 3 + [(False, True)] * 2 + [(True, True)] * 2


def test_discriminator_warm_up_is_a_phase_too(tmp_path):
    t = trainer_for(cycle_model(), tmp_path, g_start=2)
    assert [("g/total" in t.train_step(t.data.next_batch())) for _ in range(4)] == [False, False, True, True]


def test_ema_follows_its_formula(tmp_path):
    model = cycle_model()
    t = trainer_for(model, tmp_path, ema_decay=0.75, ema_start=1)
    expected = {k: v.clone() for k, v in model.generators.state_dict().items()}
    for step in range(4):
        t.train_step(t.data.next_batch())
        decay = 0.75 if step >= 1 else 0.0  # before ema_start the average copies the weights
        for k, v in model.generators.state_dict().items():
            expected[k] = decay * expected[k] + (1 - decay) * v
    for k, v in t.ema.state_dict().items():
        torch.testing.assert_close(v, expected[k])
    with t.ema.swapped():  # sampling uses the average, and the trained weights come back afterwards
        torch.testing.assert_close(model.generators["ab"].weight.detach(), expected["ab.weight"])
    assert (model.generators["ab"].weight - expected["ab.weight"]).abs().max() > 1e-4


def test_lr_multiplier_reaches_the_optimizer_and_decays_with_it(tmp_path):
    model = cycle_model()
    t = trainer_for(model, tmp_path, g_lr=1e-3, steps=4, lr_decay_start=2,
                    optim={"g": {"lr_mult": {"generators.ba": 0.01}}, "d": {}})
    groups = t.groups["g"].optimizer.param_groups
    assert [g["lr"] for g in groups] == pytest.approx([1e-3, 1e-5])
    assert {id(p) for p in groups[1]["params"]} == {id(p) for p in model.generators["ba"].parameters()}
    for _ in range(3):
        t.train_step(t.data.next_batch())
    t._apply_lr()  # step 3 of 4, decay from 2: factor 0.5
    assert [g["lr"] for g in groups] == pytest.approx([0.5e-3, 0.5e-5])
    with pytest.raises(ConfigError, match="no sub-module 'generators.nope'"):
        trainer_for(cycle_model(), tmp_path, optim={"g": {"lr_mult": {"generators.nope": 0.1}}, "d": {}})


def test_gradient_clipping_bounds_the_update(tmp_path):
    model = cycle_model()
    t = trainer_for(model, tmp_path, optim={"g": {"clip_grad": 1e-3, "optimizer": "sgd"}, "d": {}}, g_lr=1.0)
    before = torch.cat([p.detach().flatten() for p in model.generators.parameters()])
    t.train_step(t.data.next_batch())
    after = torch.cat([p.detach().flatten() for p in model.generators.parameters()])
    assert (after - before).norm() <= 1e-3 * 1.0001  # SGD with LR 1: the step is the clipped gradient


def test_update_order_must_name_every_group(tmp_path):
    with pytest.raises(ConfigError, match=r"train\.update_order"):
        trainer_for(cycle_model(), tmp_path, update_order=["g"])


class TinyG(nn.Module):
    def __init__(self, latent=3):
        super().__init__()
        self.net = nn.Linear(latent, 4 * 8)

    def forward(self, z):
        return self.net(z).view(-1, 4, 8)


def test_lazy_r1_is_computed_every_kth_step_and_scaled_by_k():
    torch.manual_seed(0)
    d = nn.Sequential(nn.Flatten(), nn.Linear(32, 1))
    model = UnconditionalObjective(TinyG(), d, latent_dim=3, r1_gamma=10.0, r1_every=4)
    batch = Pairs().next_batch()
    for step, lazy in ((0, True), (1, False), (4, True)):
        out = model.generate(batch, step)
        losses = model.losses("d", batch, out, step)
        assert ("r1" in losses) == lazy
        if lazy:
            torch.testing.assert_close(losses["total"], losses["adv"] + 0.5 * 10.0 * 4 * losses["r1"])
    # R1 of a linear D is the squared norm of its weight, whatever the sample
    torch.testing.assert_close(model.losses("d", batch, model.generate(batch, 0), 0)["r1"],
                               d[1].weight.pow(2).sum())


def test_history_pool_returns_history_half_of_the_time_and_survives_resume():
    torch.manual_seed(0)
    pool = HistoryPool(10)
    first = torch.arange(10.0).view(10, 1)
    assert torch.equal(pool.query(first), first)  # filling: the query comes back unchanged
    returned_old = 0
    n = 4000
    for i in range(n // 4):
        new = torch.full((4, 1), 100.0 + i)
        returned_old += int((pool.query(new) != new).sum())
    assert 0.46 < returned_old / n < 0.54  # each sample is swapped for a stored one with probability 1/2
    state = pool.state_dict()
    again = HistoryPool(10)
    again.load_state_dict(state)
    rng = torch.get_rng_state()
    want = pool.query(torch.full((4, 1), -1.0))
    torch.set_rng_state(rng)
    assert torch.equal(again.query(torch.full((4, 1), -1.0)), want)


class CountingBN(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Conv1d(8, 4, 3, padding=1), nn.BatchNorm1d(4), nn.Conv1d(4, 1, 1))
        self.batch_sizes = []

    def forward(self, x):
        self.batch_sizes.append(x.shape[0])
        return self.net(x)


def test_batchnorm_discriminator_scores_real_and_fake_in_separate_calls():
    torch.manual_seed(0)
    d = CountingBN()
    model = PairedObjective(conv(), d, conditional_d=True)  # D sees (input, output): 8 channels
    batch = Pairs().next_batch()
    model.losses("d", batch, model.generate(batch, 0), 0)
    assert d.batch_sizes == [4, 4]
    d.batch_sizes.clear()
    inst = nn.Sequential(nn.Conv1d(8, 1, 1), nn.InstanceNorm1d(1))
    real, fake = score_real_fake(inst, torch.randn(4, 8, 8), torch.randn(4, 8, 8))
    assert real.shape == fake.shape == (4, 1, 8)  # one joint call where samples stay independent


def test_paired_objective_weights_and_halved_discriminator_loss():
    torch.manual_seed(0)
    model = PairedObjective(conv(), conv(8, 1), adversarial="nonsaturating", recon_weight=100.0, d_scale=0.5,
                            adv_weight=[[0, 0.0], [2, 1.0]])
    batch = Pairs().next_batch()
    out = model.generate(batch, 0)
    early = model.losses("g", batch, out, 0)
    assert "adv" not in early and torch.allclose(early["total"], 100.0 * (out["fake"] - batch["y"]).abs().mean())
    late = model.losses("g", batch, out, 2)
    torch.testing.assert_close(late["total"], late["adv"] + 100.0 * late["recon"])
    d = model.losses("d", batch, out, 2)
    torch.testing.assert_close(d["total"], 0.5 * d["adv"])


def test_multi_view_losses_sum_with_their_weights():
    torch.manual_seed(0)
    d1, d2 = conv(4, 1), nn.Conv1d(4, 1, 1)
    mv = MultiViewDiscriminator({"whole": (None, d1, 1.0), "doubled": (lambda x: 2 * x, d2, 0.25)})
    adv = AdversarialLoss("lsgan")
    real, fake = torch.randn(3, 4, 8), torch.randn(3, 4, 8)
    want_g = adv.g_loss(d1(fake)) + 0.25 * adv.g_loss(d2(2 * fake))
    torch.testing.assert_close(adv.g_loss(mv(fake)), want_g)
    want_d = adv.d_loss(d1(real), d1(fake)) + 0.25 * adv.d_loss(d2(2 * real), d2(2 * fake))
    torch.testing.assert_close(adv.d_loss(*score_real_fake(mv, real, fake)), want_d)


def test_composite_trains_independent_parts_in_one_run(tmp_path):
    torch.manual_seed(0)
    parts = {"low": PairedObjective(conv(), conv(8, 1)), "high": PairedObjective(conv(), conv(8, 1))}
    model = Composite(parts)

    class Split(Pairs):
        def next_batch(self):
            b = super().next_batch()
            return {"low": b, "high": {"x": b["y"], "y": b["x"]}}

    t = trainer_for(model, tmp_path, data=Split())
    logged = t.train_step(t.data.next_batch())
    assert logged["g/total"] == pytest.approx(logged["g/low/total"] + logged["g/high/total"], rel=1e-5)
    assert {"d/low/adv", "d/high/adv"} <= set(logged)
    assert set(model.state_dict()) >= {"parts.low.generators.g.weight", "parts.high.discriminators.d.weight"}


def test_exact_resume_with_phases_ema_and_pool(tmp_path):
    def fresh(out):
        return trainer_for(cycle_model(pool_size=6), out, steps=8, checkpoint_every=4, ema_decay=0.9,
                           optim={"g": {}, "d": {"every": [[0, 0], [2, 1]]}})

    full = fresh(tmp_path / "full")
    full.fit()
    resumed = fresh(tmp_path / "resumed")
    resumed.fit(resume=tmp_path / "full" / "checkpoints" / "step_00000004.pt")
    assert train_log_rows(tmp_path / "resumed") == train_log_rows(tmp_path / "full")[4:]
    assert len(resumed.model.pools["a"].items) == 6
    for k, v in full.ema.state_dict().items():
        assert torch.equal(v, resumed.ema.state_dict()[k])


def test_registry_rejects_an_unknown_task_listing_the_known_ones():
    from vcgan.training import resolve_config

    with pytest.raises(ConfigError, match=r"unknown task 'pix3pix'; choose from .*cyclegan_vc2.*stargan_vc2"):
        resolve_config(None, ["task=pix3pix"])


def _imports(path: Path) -> set[str]:
    """Absolute module names a file imports (relative imports resolved)."""
    pkg = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = pkg.split(".")[: len(pkg.split(".")) - node.level + 1] if node.level else []
            mod = ".".join(base + ([node.module] if node.module else []))
            out |= {mod} | {f"{mod}.{a.name}" for a in node.names}
    return out


def test_import_graph_runs_cli_families_engine_and_never_back_up():
    speech = ("vcgan.features", "vcgan.metrics", "vcgan.models", "vcgan.plotting", "vcgan.demo", "vcgan.cli",
              "vcgan.training", "vcgan.families", "image_gans")
    for path in (ROOT / "vcgan" / "engine").rglob("*.py"):
        bad = [m for m in _imports(path) if m.startswith(speech)]
        assert not bad, f"{path.relative_to(ROOT)} imports {bad}: the engine imports no speech or image code"
    for path in (ROOT / "vcgan" / "models").rglob("*.py"):
        bad = [m for m in _imports(path) if m.startswith(("vcgan.cli", "vcgan.training", "vcgan.families",
                                                          "vcgan.demo"))]
        assert not bad, f"{path.relative_to(ROOT)} imports {bad}: families never import the layers above them"
    for path in (ROOT / "image_gans").rglob("*.py"):
        bad = [m for m in _imports(path) if m.startswith(speech[:-1]) and not m.startswith("image_gans")]
        assert not bad, f"{path.relative_to(ROOT)} imports {bad}: image families use the engine, never speech code"
    for path in (ROOT / "vcgan" / "features").rglob("*.py"):
        bad = [m for m in _imports(path) if m.startswith(("vcgan.engine", "vcgan.models", "vcgan.training"))]
        assert not bad, f"{path.relative_to(ROOT)} imports {bad}: features never import training code"


class Crops:
    """A tiny image-like dataset whose samples take a random crop (the loader's rng)."""

    def __init__(self, n=10):
        self.images = torch.arange(n * 36, dtype=torch.float32).view(n, 1, 6, 6)

    def __len__(self):
        return len(self.images)

    def get(self, index, rng):
        i, j = rng.integers(0, 3, size=2)
        return {"y": self.images[index, :, i:i + 4, j:j + 4], "index": torch.tensor(index)}


def test_resumable_loader_continues_exactly_with_or_without_workers():
    from vcgan.engine.data import ResumableLoader

    loader = ResumableLoader(Crops(), 3, seed=5)
    stream = [loader.next_batch() for _ in range(7)]  # 3 batches per epoch: crosses two epoch ends
    epoch1 = torch.cat([b["index"] for b in stream[:3]])
    assert len(set(epoch1.tolist())) == 9  # an epoch never repeats a sample
    assert not torch.equal(epoch1, torch.cat([b["index"] for b in stream[3:6]]))  # reshuffled each epoch
    again = ResumableLoader(Crops(), 3, seed=5)
    again.load_state_dict(ResumableLoader(Crops(), 3, seed=5).state_dict())
    for _ in range(4):
        again.next_batch()
    state = again.state_dict()
    assert state["epoch"] == 1 and state["position"] == 1
    for workers in (0, 2):
        resumed = ResumableLoader(Crops(), 3, seed=5, num_workers=workers)
        resumed.load_state_dict(state)
        for want in stream[4:]:
            got = resumed.next_batch()
            assert torch.equal(got["index"], want["index"]) and torch.equal(got["y"], want["y"])


def test_resumable_loader_ranks_draw_disjoint_batches():
    from vcgan.engine.data import ResumableLoader

    ranks = [ResumableLoader(Crops(12), 2, seed=0, rank=r, world=2) for r in range(2)]
    seen = [torch.cat([ranks[r].next_batch()["index"] for _ in range(3)]).tolist() for r in range(2)]
    assert not set(seen[0]) & set(seen[1]) and len(set(seen[0]) | set(seen[1])) == 12
    with pytest.raises(ValueError, match="fewer than one batch"):
        ResumableLoader(Crops(3), 2, world=2)


def test_logger_writes_scalars_audio_figures_and_images(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from vcgan.engine.logger import RunLogger

    log = RunLogger(tmp_path)
    log.scalars(1, {"g/adv": 1.0, "d/adv": 0.5, "lr/g": 1e-3})
    log.scalars(2, {"g/adv": 0.8, "d/adv": 0.6, "lr/g": 1e-3})
    fig = plt.figure()
    log.media(2, [("audio", "sample/wav", np.zeros(1600), 16000), ("figure", "sample/spec", fig),
                  ("image", "sample/grid", np.random.rand(3, 8, 12)), ("image", "sample/gray", np.random.rand(8, 8))])
    png = log.plot_curves()
    log.close()
    assert png.is_file() and png.stat().st_size > 1000
    events = EventAccumulator(str(tmp_path / "tensorboard"), size_guidance={"images": 0, "audio": 0})
    events.Reload()
    tags = events.Tags()
    assert {"sample/grid", "sample/gray", "sample/spec"} <= set(tags["images"]) and "sample/wav" in tags["audio"]
    assert [e.value for e in events.Scalars("g/adv")] == pytest.approx([1.0, 0.8])
    with pytest.raises(ValueError, match="unknown media kind"):
        RunLogger(tmp_path).media(3, [("video", "x", None)])


def test_inference_uses_the_generators_moving_average(tiny_feats, tmp_path):
    from conftest import tiny_config
    from vcgan.engine import inference_state, load_checkpoint
    from vcgan.models.cyclegan_vc import load_generator
    from vcgan.training import train

    cfg = tiny_config(tiny_feats, tmp_path, **{"train.ema_decay": 0.5})
    ckpt = load_checkpoint(train(cfg)["checkpoint"])
    assert ckpt["ema"] and set(ckpt["ema"]) == {k[len("generators."):] for k in ckpt["model"] if k.startswith("generators.")}
    gen = load_generator(ckpt["meta"], inference_state(ckpt), "kal", "slt")
    for k, v in gen.state_dict().items():
        assert torch.equal(v, ckpt["ema"][f"ab.{k}"])
    assert any(not torch.equal(ckpt["ema"][k], ckpt["model"][f"generators.{k}"]) for k in ckpt["ema"])


def test_no_module_outside_the_families_names_a_family_or_task():
    """CLI -> families -> engine: the generic modules (CLI, training, API, engine, reports,
    features, metrics) reach families and checkpoints through the registry and never name a
    family or task; below the CLI they import no family either."""
    from vcgan.engine.registry import families
    from vcgan.families import register_all

    register_all()
    names = {f.name for f in families()} | {t for f in families() for t in f.tasks}
    generic = [ROOT / "vcgan" / n for n in ("cli.py", "training.py", "families.py", "report.py", "__init__.py")]
    for folder in ("engine", "features", "metrics", "nn"):
        generic += list((ROOT / "vcgan" / folder).rglob("*.py"))
    for path in generic:
        tree = ast.parse(path.read_text())
        named = sorted({n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and n.value in names})
        assert not named, f"{path.relative_to(ROOT)} names {named}: ask the registry instead"
        if path.name != "cli.py":  # the CLI may import a family's baselines (statistics transform, GV scaling)
            imported = [m for m in _imports(path) if m.startswith(("vcgan.models.", "image_gans."))]
            assert not imported, f"{path.relative_to(ROOT)} imports {imported}: generic code imports no family"
