"""Image families on the engine: networks, data layouts, one step and exact resume per
model, the classification losses, on the committed Fashion-MNIST subset."""
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from image_gans.data import ImageDataError, load_fashion_mnist, read_idx, write_image
from image_gans.networks import PatchDiscriminator, ResnetGenerator, StarGANDiscriminator, StarGANGenerator, UnetGenerator
from conftest import train_log_rows

FMNIST = Path(__file__).parent / "data" / "fashion-mnist"
TINY = {
    "image_cyclegan": ["model.ngf=4", "model.ndf=4", "model.blocks=1", "loss.pool_size=3"],
    "pix2pix": ["model.ngf=4", "model.ndf=4"],
    "image_stargan": ["model.conv_dim=4", "model.blocks=1", "train.optim.g.every=2"],
}


def image_config(task, out, *extra):
    from vcgan.training import resolve_config

    return resolve_config(None, [f"task={task}", f"data.root={FMNIST}", f"out_dir={out}", "data.batch_size=2",
                                 "train.steps=4", "train.log_every=1", "train.checkpoint_every=2",
                                 "train.progress=false", "train.precision=fp32", *TINY[task], *extra])


def test_committed_subset_reads_like_the_system_package():
    images, labels = load_fashion_mnist("train", FMNIST)
    assert images.shape == (200, 28, 28) and images.dtype == np.uint8
    assert np.bincount(labels).tolist() == [20] * 10
    assert load_fashion_mnist("test", FMNIST)[0].shape == (100, 28, 28)


def test_missing_or_corrupt_fashion_mnist_names_the_package_or_file(tmp_path):
    with pytest.raises(ImageDataError, match="dataset-fashion-mnist"):
        load_fashion_mnist("train", tmp_path)
    bad = tmp_path / "train-images-idx3-ubyte"
    bad.write_bytes(b"\x00\x00\x08\x03\x00\x00")
    with pytest.raises(ImageDataError, match="train-images-idx3-ubyte: not a readable IDX"):
        read_idx(bad)


@pytest.mark.parametrize("size", [(28, 28), (27, 33), (64, 48)])
@pytest.mark.parametrize("channels", [1, 3])
def test_networks_keep_any_image_size_and_channel_count(size, channels):
    x = torch.randn(2, channels, *size)
    assert ResnetGenerator(channels, channels, 4, 1)(x).shape == x.shape
    assert UnetGenerator(channels, channels, 4, 3)(x).shape == x.shape
    assert StarGANGenerator(channels, 3, 4, 1)(x, None, torch.tensor([0, 2])).shape == x.shape
    assert StarGANGenerator(channels, 3, 4, 1)(x, None, torch.tensor([[1.0, 0, 1], [0, 1, 0]])).shape == x.shape
    scores = PatchDiscriminator(channels, 4, 2)(x)
    assert scores.shape[:2] == (2, 1) and min(scores.shape[-2:]) >= 1
    s, logits = StarGANDiscriminator(channels, 3, 4, 3)(x)
    assert s.shape[:2] == (2, 1) and logits.shape == (2, 3)


def test_stargan_generator_sees_the_target_code_through_instance_norm():
    """A tiled code is constant over the image; reflection-padded, its convolution is a
    per-channel offset that instance norm removes. The generator must still respond to it,
    freshly initialised and for every target."""
    torch.manual_seed(0)
    g = StarGANGenerator(1, 4, 8, 1)
    x = torch.randn(3, 1, 28, 28)
    with torch.no_grad():
        outs = [g(x, None, torch.full((3,), k)) for k in range(4)]
    for a in range(4):
        for b in range(a + 1, 4):
            assert (outs[a] - outs[b]).abs().mean() > 1e-3 * outs[a].abs().mean()
    # gradient reaches the code: the classification term can steer the translation
    code = torch.eye(4)[[0, 1, 2]].requires_grad_(True)
    g(x, None, code).pow(2).mean().backward()
    assert code.grad.abs().sum() > 0


def test_stargan_discriminator_classifies_from_the_whole_feature_map():
    """The paper's classification head: one kernel over the trunk's whole output (128 px,
    6 layers: 2x2), so the logits depend on where things are, not only on their average."""
    assert StarGANDiscriminator(3, 5, 4, 6, 128).classes.kernel_size == (2, 2)
    d = StarGANDiscriminator(1, 4, 4, 3, (28, 28))
    assert d.classes.kernel_size == (3, 3)
    x = torch.randn(2, 1, 28, 28)
    with torch.no_grad():
        _, logits = d(x)
        _, moved = d(torch.roll(x, 8, dims=3))
        _, small = d(torch.randn(2, 1, 9, 9))  # smaller than the training size: padded up
    assert not torch.allclose(logits, moved) and small.shape == (2, 4)


def test_unet_skips_connect_mirrored_levels():
    torch.manual_seed(0)
    net = UnetGenerator(1, 1, 4, 3, dropout=0.0).eval()
    x = torch.randn(1, 1, 16, 16)
    seen = {}
    net.enc[0].register_forward_hook(lambda m, i, o: seen.__setitem__("enc0", o))
    net.enc[1].register_forward_hook(lambda m, i, o: seen.__setitem__("enc1", o))
    net.dec[1].register_forward_hook(lambda m, i, o: seen.__setitem__("dec1_in", i[0]))
    net.dec[2].register_forward_hook(lambda m, i, o: seen.__setitem__("dec2_in", i[0]))
    assert net(x).shape == x.shape
    # each decoder level reads ReLU([its upsampled input, the mirrored encoder level])
    relu = torch.nn.functional.relu
    assert seen["dec1_in"].shape[1] == 2 * 8 and torch.equal(seen["dec1_in"][:, 8:], relu(seen["enc1"]))
    assert seen["dec2_in"].shape[1] == 2 * 4 and torch.equal(seen["dec2_in"][:, 4:], relu(seen["enc0"]))


@pytest.mark.parametrize("task", sorted(TINY))
def test_one_step_and_exact_resume_per_model(task, tmp_path):
    from vcgan.engine import Trainer
    from vcgan.training import build

    def fresh(out):
        cfg = image_config(task, out)
        model, data = build(cfg)
        return Trainer(model, data, cfg["train"], out, cfg)

    full = fresh(tmp_path / "full")
    full.fit()
    resumed = fresh(tmp_path / "resumed")
    resumed.fit(resume=tmp_path / "full" / "checkpoints" / "step_00000002.pt")
    want = train_log_rows(tmp_path / "full")
    assert train_log_rows(tmp_path / "resumed") == want[2:]
    assert all(np.isfinite(v) for r in want for v in r.values())
    if task == "image_stargan":  # D first, G every 2nd step here
        assert ["g/total" in r for r in want] == [False, True, False, True] and all("d/total" in r for r in want)
    if task == "image_cyclegan":
        assert len(resumed.model.pools["a"].items) == 3  # the pool came back with the checkpoint
    if task == "pix2pix":
        assert any(isinstance(m, torch.nn.BatchNorm2d) for m in resumed.model.discriminators.modules())


def test_stargan_multi_label_classification_is_binary_cross_entropy_per_attribute():
    from vcgan.engine.objectives import MultiDomainObjective

    logits = torch.tensor([[2.0, -1.0, 0.5], [0.0, 3.0, -2.0]])
    target = torch.tensor([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]])
    p = torch.sigmoid(logits)
    by_hand = -(target * p.log() + (1 - target) * (1 - p).log()).sum() / 2
    torch.testing.assert_close(MultiDomainObjective._cls_loss(logits, target), by_hand)
    labels = torch.tensor([0, 1])
    torch.testing.assert_close(MultiDomainObjective._cls_loss(logits, labels),
                               -(torch.log_softmax(logits, 1)[[0, 1], [0, 1]]).mean())


def test_gradient_penalty_on_a_hand_computed_case():
    from vcgan.engine import gradient_penalty

    w = torch.tensor([3.0, 4.0])  # a linear critic: its gradient norm is |w| = 5 everywhere

    def critic(x):
        return (x.flatten(1) * w).sum(1, keepdim=True)

    real, fake = torch.randn(4, 2), torch.randn(4, 2)
    torch.testing.assert_close(gradient_penalty(critic, real, fake), torch.tensor((5.0 - 1.0) ** 2))


def _write_images(folder, n, size=(12, 10), channels=3, seed=0):
    rng = np.random.default_rng(seed)
    for i in range(n):
        shape = (channels, *size)
        write_image(folder / f"{i:03d}.png", torch.from_numpy(rng.uniform(-1, 1, shape).astype(np.float32)))


def test_junyanz_unaligned_layout_trains(tmp_path):
    from vcgan.training import build, resolve_config

    for sub in ("trainA", "trainB", "testA", "testB"):
        _write_images(tmp_path / "data" / sub, 3)
    cfg = resolve_config(None, ["task=image_cyclegan", "data.layout=folders", f"data.root={tmp_path / 'data'}",
                                "data.domains=[horse, zebra]", "model.ngf=4", "model.ndf=4", "model.blocks=1",
                                "data.batch_size=2"])
    model, data = build(cfg)
    batch = data.next_batch()
    assert batch["a"].shape == (2, 3, 12, 10) and model.image == {"channels": 3, "height": 12, "width": 10}
    (tmp_path / "data" / "trainB" / "001.png").write_bytes(b"not a png")
    with pytest.raises(ImageDataError, match=r"trainB/001\.png: not a readable image"):
        build(cfg)


def test_per_domain_folders_and_celeba_attributes(tmp_path):
    from vcgan.training import build, resolve_config

    for split in ("train", "test"):
        for d in ("cat", "dog", "fox"):
            _write_images(tmp_path / "folders" / split / d, 2, channels=1)
    cfg = resolve_config(None, ["task=image_stargan", "data.layout=folders", f"data.root={tmp_path / 'folders'}",
                                "data.domains=[cat, dog, fox]", "model.conv_dim=4", "model.blocks=1"])
    model, data = build(cfg)
    b = data.next_batch()
    assert b["src"].dtype == torch.long and not (b["src"] == b["trg"]).any()

    celeba = tmp_path / "celeba"
    _write_images(celeba / "img_align_celeba", 10, size=(16, 16))
    names = [f"{i:03d}.png" for i in range(10)]
    rows = [f"{n} {'1' if i % 2 else '-1'} {'1' if i % 3 == 0 else '-1'} -1" for i, n in enumerate(names)]
    (celeba / "list_attr_celeba.txt").write_text("10\nBlack_Hair Male Smiling\n" + "\n".join(rows) + "\n")
    cfg = resolve_config(None, ["task=image_stargan", "data.layout=celeba", f"data.root={celeba}",
                                "data.domains=[Black_Hair, Male]", "model.conv_dim=4", "model.blocks=1",
                                "data.batch_size=2"])
    model, data = build(cfg)
    b = data.next_batch()
    assert model.attributes and b["trg"].dtype == torch.float32 and b["trg"].shape == (2, 2)
    assert ((b["trg"] != b["src"]).sum(1) >= 1).all()  # at least one attribute changes
    out = model.losses("g", b, model.generate(b, 0), 0)
    assert torch.isfinite(out["cls"]) and out["cls"] > 0
    cfg["data"]["domains"] = ["Blond_Hair"]
    with pytest.raises(Exception):
        build(cfg)


def test_paired_layouts_aligned_and_a_b_folders(tmp_path):
    from image_gans.pix2pix import load_pairs
    from vcgan.training import resolve_config

    _write_images(tmp_path / "aligned" / "train", 2, size=(8, 16))
    cfg = resolve_config(None, ["task=pix2pix", "data.layout=aligned", f"data.root={tmp_path / 'aligned'}"])
    x, y = load_pairs(cfg, "train")
    assert x.shape == y.shape == (2, 8, 8, 3)
    for side in "AB":
        _write_images(tmp_path / "ab" / "train" / side, 2, seed=ord(side))
    cfg = resolve_config(None, ["task=pix2pix", "data.layout=folders", f"data.root={tmp_path / 'ab'}"])
    x, y = load_pairs(cfg, "train")
    assert x.shape == (2, 12, 10, 3) and not np.array_equal(x, y)
    (tmp_path / "ab" / "train" / "B" / "001.png").unlink()
    with pytest.raises(ImageDataError, match="no target for 1 input"):
        load_pairs(cfg, "train")


def test_fashion_mnist_edges_are_the_pix2pix_inputs():
    from image_gans.pix2pix import edge_map
    from vcgan.training import resolve_config
    from image_gans.pix2pix import load_pairs

    cfg = resolve_config(None, ["task=pix2pix", f"data.root={FMNIST}", "data.domains=[sneaker]"])
    x, y = load_pairs(cfg, "test")
    assert x.shape == y.shape == (10, 28, 28) and set(np.unique(x)) <= {0, 255}
    assert np.array_equal(x[0], edge_map(y[0])) and (x > 0).mean() > 0.05


def test_fid_kid_and_psnr_behave():
    from image_gans.metrics import fid, kid, psnr_ssim_l1

    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(400, 8)), rng.normal(size=(400, 8))
    shifted = rng.normal(size=(400, 8)) + 1.0
    assert fid(a, a) == pytest.approx(0.0, abs=1e-6)
    assert fid(a, b) < 0.5 < 7.0 < fid(a, shifted) < 9.5  # a unit shift in 8 dims adds 8
    assert abs(kid(a, b)) < 0.1 < 5.0 < kid(a, shifted)  # unbiased: near 0 for one distribution
    x = torch.rand(3, 1, 16, 16) * 2 - 1
    noisy = (x + 0.05 * torch.randn_like(x)).clamp(-1, 1)
    s = psnr_ssim_l1(noisy, x)
    assert 25 < s["psnr"] < 40 and 0.5 < s["ssim"] < 1.0 and 0 < s["l1"] < 0.1


def test_paired_fd_interval_resamples_items_together():
    """Two completions of the same images: drawing the images once for both (and for the
    originals) resolves a difference that independent draws bury in the noise of the images."""
    from image_gans.metrics import fd_interval

    rng = np.random.default_rng(1)
    real = rng.normal(size=(600, 8)) * rng.uniform(0.5, 3, size=(600, 1))  # items of varied scale
    closer = real + 0.30 * rng.normal(size=real.shape)
    farther = real + 0.45 * rng.normal(size=real.shape)
    paired = fd_interval(closer, farther, real, resamples=200, paired=True)
    unpaired = fd_interval(closer, farther, real, resamples=200)
    assert paired["difference"] == unpaired["difference"] < 0
    assert paired["high"] < 0 < unpaired["high"]  # only the paired interval excludes zero
    assert paired["high"] - paired["low"] < 0.2 * (unpaired["high"] - unpaired["low"])
    with pytest.raises(ValueError, match="a paired FD interval needs as many rows in each set, got 600, 599, 600"):
        fd_interval(closer, farther[:599], real, paired=True)


def test_cli_trains_translates_and_evaluates_an_image_model(tmp_path, capsys):
    from vcgan.cli import main as cli

    def main(args):
        return cli([str(a) for a in args])

    run = tmp_path / "run"
    assert main(["train", "task=image_cyclegan", f"data.root={FMNIST}", f"out_dir={run}", "model.ngf=4",
                 "model.ndf=4", "model.blocks=1", "data.batch_size=2", "train.steps=2", "train.progress=false"]) == 0
    ckpt = run / "checkpoints" / "latest.pt"
    cls = tmp_path / "classifier.pt"
    assert main(["classifier", "--out", cls, "--fashion-mnist", FMNIST]) == 0
    inputs = tmp_path / "sneakers"
    images, labels = load_fashion_mnist("test", FMNIST)
    for i, im in enumerate(images[labels == 7][:3]):
        write_image(inputs / f"s{i}.png", torch.from_numpy(im[None] / 127.5 - 1.0).float())
    assert main(["translate", "--checkpoint", ckpt, "--target", "ankle-boot", inputs, "-o", tmp_path / "boots"]) == 0
    assert sorted(p.name for p in (tmp_path / "boots").iterdir()) == ["s0.png", "s1.png", "s2.png"]
    assert main(["translate", "--checkpoint", ckpt, "--target", "bag", inputs, "-o", tmp_path / "x"]) == 2
    assert "give --target ankle-boot" in capsys.readouterr().err
    out = tmp_path / "eval"
    assert main(["evaluate-images", "--checkpoint", ckpt, "-o", out, "--classifier", cls,
                 "--fashion-mnist", FMNIST, "--max-images", 10]) == 0
    report = json.loads((out / "scores.json").read_text())
    assert set(report["systems"]) == {"model", "untrained generator", "identity mapping", "real vs real (floor)"}
    row = report["systems"]["model"]["sneaker->ankle-boot"]
    assert 0.0 <= row["target_accuracy"] <= 1.0 and row["fid"] > 0
    assert (out / "grid.png").stat().st_size > 200 and "not comparable" in (out / "scores.md").read_text()
    assert abs(sum(row["classified_as"].values()) - 1.0) < 0.05
    # a multi-domain model: target accuracy per source domain, and what the translations were taken for
    star = tmp_path / "star"
    assert main(["train", "task=image_stargan", f"data.root={FMNIST}", f"out_dir={star}", "model.conv_dim=4",
                 "model.blocks=1", "data.batch_size=2", "train.steps=2", "train.progress=false"]) == 0
    assert main(["evaluate-images", "--checkpoint", star / "checkpoints" / "latest.pt", "-o", tmp_path / "star_eval",
                 "--classifier", cls, "--fashion-mnist", FMNIST, "--max-images", 6]) == 0
    report = json.loads((tmp_path / "star_eval" / "scores.json").read_text())
    row = report["systems"]["model"]["->pullover"]
    assert list(row["target_accuracy_by_source"]) == ["t-shirt", "shirt", "coat"]
    assert abs(sum(row["target_accuracy_by_source"].values()) / 3 - row["target_accuracy"]) < 1e-6  # 6 of each
    assert "target_accuracy_by_source" not in report["systems"]["identity mapping"]["->pullover"]
    assert 0.0 <= report["systems"]["real vs real (floor)"]["->pullover"]["target_accuracy"] <= 1.0
    assert "| ->pullover | from t-shirt " in (tmp_path / "star_eval" / "scores.md").read_text()
    # weights that do not fit this version's networks: a clear error naming the file, not a traceback
    state = torch.load(ckpt, weights_only=True)
    state["model"].pop(next(k for k in state["model"] if k.startswith("generators.")))
    old = tmp_path / "old.pt"
    torch.save(state, old)
    assert main(["translate", "--checkpoint", old, "--target", "ankle-boot", inputs, "-o", tmp_path / "y"]) != 0
    err = capsys.readouterr().err
    assert f"{old}: its image_cyclegan weights do not fit" in err and "Traceback" not in err
