"""Reports: paired bootstrap intervals on every model-vs-baseline difference, and image
measures by a classifier of the dataset's own domains."""
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from vcgan.cli import main as cli
from vcgan.errors import VcganError
from vcgan.report import interval_text, paired_bootstrap

FMNIST = Path(__file__).parent / "data" / "fashion-mnist"


def run(args) -> int:
    return cli([str(a) for a in args])


def test_paired_bootstrap_interval_behaves():
    rng = np.random.default_rng(0)
    base = rng.normal(8.0, 0.5, 30)
    # a constant improvement: the interval is that constant
    ci = paired_bootstrap(base - 1.0, base)
    assert ci["difference"] == pytest.approx(-1.0) and ci["low"] == pytest.approx(-1.0)
    assert ci["high"] == pytest.approx(-1.0) and ci["excludes_zero"] and ci["items"] == ci["units"] == 30
    # no change on average, only noise: the interval holds 0 and is about 2 x 1.96 standard errors wide
    noisy = base + rng.normal(0, 0.3, 30)
    noisy += base.mean() - noisy.mean()
    ci = paired_bootstrap(noisy, base)
    assert ci["low"] < 0 < ci["high"] and not ci["excludes_zero"]
    se = 0.3 / np.sqrt(30)
    assert 2.5 * se < ci["high"] - ci["low"] < 5.5 * se
    # the same differences in 15 sentences x 20 directions: resampling sentences (units) widens the interval
    sentence_effect = np.repeat(rng.normal(0, 0.3, 15), 20)
    diff = -0.5 + sentence_effect + rng.normal(0, 0.05, 300)
    units = np.repeat(np.arange(15), 20)
    by_item = paired_bootstrap(diff, np.zeros(300))
    by_sentence = paired_bootstrap(diff, np.zeros(300), units=units)
    assert by_sentence["units"] == 15 and by_sentence["items"] == 300
    assert (by_sentence["high"] - by_sentence["low"]) > 2 * (by_item["high"] - by_item["low"])
    assert interval_text({"difference": -1.234, "low": -1.5, "high": -0.9}) == "-1.23 [-1.50, -0.90]"
    with pytest.raises(ValueError, match="equal-length"):
        paired_bootstrap([1.0, 2.0], [1.0])


def _vc_report(name, mcds: dict) -> dict:
    """A `vcgan evaluate` report of several directions with per-file MCDs."""
    dirs = {d: {"mcd": float(np.mean(v)), "log_f0_rmse": 0.2, "vuv_error": 0.1, "files": len(v),
                "per_file": [{"name": f"test_{i:03d}", "mcd": float(m)} for i, m in enumerate(v)]}
            for d, v in mcds.items()}
    return {"directions": dirs, "conv_dir": name}


def test_evaluate_compare_reports_each_directions_interval_and_whether_it_excludes_zero(tmp_path, capsys):
    rng = np.random.default_rng(1)
    base = {d: rng.normal(8, 0.4, 15) for d in ("a_to_b", "b_to_a", "a_to_c")}
    base["a_to_c"] = base["a_to_c"][:9]  # fewer sentences in one direction: directions weigh equally anyway
    model = {"a_to_b": base["a_to_b"] - 1.0 + rng.normal(0, 0.1, 15),   # clearly better
             "b_to_a": base["b_to_a"] + rng.normal(0, 0.4, 15),          # no different
             "a_to_c": base["a_to_c"] - 0.6 + rng.normal(0, 0.1, 9)}
    paths = []
    for name, mcds in (("stats", base), ("model", model)):
        paths.append(tmp_path / f"{name}.json")
        paths[-1].write_text(json.dumps(_vc_report(name, mcds)))
    assert run(["evaluate-compare", *paths, "--baseline", "stats", "-o", tmp_path / "cmp"]) == 0
    comp = json.loads((tmp_path / "cmp.json").read_text())
    iv = comp["intervals"]["model"]
    assert iv["a_to_b"]["excludes_zero"] and iv["a_to_b"]["high"] < 0
    assert not iv["b_to_a"]["excludes_zero"]
    assert iv["a_to_c"]["high"] < 0 and iv["average"]["units"] == 15 and iv["average"]["items"] == 39
    assert iv["average"]["difference"] == pytest.approx(comp["average"]["model"] - comp["average"]["stats"])
    assert comp["directions_interval_below_zero"]["model"] == 2
    md = (tmp_path / "cmp.md").read_text()
    assert "| b_to_a |" in md and "model: no" in md and "model: yes" in md
    assert "the interval lies wholly under 0 in 2 of 3 direction(s)" in md


def test_postfilter_report_carries_intervals_against_each_baseline(tmp_path, capsys):
    """Natural speech, a smoothed copy (the synthetic input) and a half-restored copy: the restored
    system's GV and MS distances fall against the synthetic input, with intervals that exclude 0."""
    import soundfile as sf
    from scipy.ndimage import uniform_filter1d

    from vcgan.features import FeatureConfig, analyze, load_audio, synthesize
    from vcgan.features.world import WorldFeatures

    corpus = Path(__file__).parents[1] / "recipes" / "demo" / "corpus" / "kal" / "test"
    cfg = FeatureConfig()
    dirs = {k: tmp_path / k for k in ("natural", "synthetic", "restored")}
    for f in sorted(corpus.glob("*.*"))[:6]:
        x = load_audio(f, 16000)
        w = analyze(x, cfg)
        smooth = uniform_filter1d(w.spectral, 9, axis=0)
        half = smooth.copy()
        half[:, 1:] = 0.5 * (smooth[:, 1:] + w.spectral[:, 1:])
        for k, sp in (("natural", w.spectral), ("synthetic", smooth), ("restored", half)):
            dirs[k].mkdir(exist_ok=True)
            sf.write(dirs[k] / f"{f.stem}.wav", synthesize(WorldFeatures(w.f0, sp, w.coded_ap), cfg), 16000)
    assert run(["evaluate", "--postfilter", dirs["natural"], dirs["synthetic"], dirs["restored"], "--names",
                "synthetic,restored", "-o", tmp_path / "pf", "--jobs", "2"]) == 0
    result = json.loads((tmp_path / "pf.json").read_text())
    assert result["baselines"] == ["synthetic"]
    ci = result["intervals"]["restored - synthetic"]
    assert ci["log_gv_distance"]["high"] < 0 and ci["ms_distance"]["high"] < 0
    assert ci["log_gv_distance"]["difference"] == pytest.approx(
        result["systems"]["restored"]["log_gv_distance"] - result["systems"]["synthetic"]["log_gv_distance"])
    assert "| restored - synthetic |" in (tmp_path / "pf.md").read_text()
    assert run(["evaluate", "--postfilter", dirs["natural"], dirs["synthetic"], "--baselines", "gv",
                "-o", tmp_path / "x"]) == 2
    assert "--baselines: ['gv'] are not among the systems" in capsys.readouterr().err


def _folder_dataset(root: Path) -> Path:
    """A two-domain RGB dataset in the folders layout (not Fashion-MNIST): sneakers tinted red
    (A) and ankle boots tinted blue (B), from the bundled Fashion-MNIST sample."""
    from PIL import Image

    from image_gans.data import load_fashion_mnist

    images, labels = load_fashion_mnist("test", FMNIST)
    for domain, cls, tint in (("A", 7, (1.0, 0.3, 0.3)), ("B", 9, (0.3, 0.3, 1.0))):
        sel = images[labels == cls]
        for split, part in (("train", sel[:6]), ("test", sel[6:10])):
            folder = root / f"{split}{domain}"
            folder.mkdir(parents=True, exist_ok=True)
            for i, im in enumerate(part):
                rgb = (im[..., None] * np.array(tint)[None, None]).astype(np.uint8)
                Image.fromarray(rgb).save(folder / f"{i}.png")
    return root


def test_image_measures_use_a_classifier_of_the_datasets_own_domains(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("VCGAN_CACHE", str(tmp_path / "cache"))
    data = _folder_dataset(tmp_path / "tinted")
    run_dir = tmp_path / "run"
    assert run(["train", "task=image_cyclegan", "data.layout=folders", f"data.root={data}", "data.domains=[red,blue]",
                "data.image_size=16", "data.channels=3", f"out_dir={run_dir}", "model.ngf=4", "model.ndf=4",
                "model.blocks=1", "data.batch_size=2", "train.steps=1", "train.progress=false"]) == 0
    ckpt = run_dir / "checkpoints" / "latest.pt"
    out = tmp_path / "eval"
    assert run(["evaluate-images", "--checkpoint", ckpt, "-o", out]) == 0
    report = json.loads((out / "scores.json").read_text())
    assert report["classifier_trained_on"].startswith(f"folders dataset {data}: the training images of its domains "
                                                      "red, blue (12 images)")
    assert report["classifier_test_accuracy"] >= 0.75  # red vs blue tint
    floor = report["systems"]["real vs real (floor)"]["red->blue"]
    assert floor["target_accuracy"] >= 0.75  # the classifier knows the target domain by its own name
    assert set(report["systems"]["model"]["red->blue"]["classified_as"]) <= {"red", "blue"}
    ci = report["intervals"]["model - identity mapping"]["red->blue"]["target_accuracy"]
    assert ci["items"] == 4 and ci["low"] <= ci["difference"] <= ci["high"]
    text = (out / "scores.md").read_text()
    assert "classifier trained on folders dataset" in text and "Fashion-MNIST" not in text
    assert not (tmp_path / "cache" / "fashion_mnist_classifier.pt").exists()  # never trained or applied here
    cached = list((tmp_path / "cache").glob("domain_classifier_*.pt"))
    assert len(cached) == 1
    # the Fashion-MNIST classifier is refused for another dataset
    assert run(["evaluate-images", "--checkpoint", ckpt, "-o", tmp_path / "e2", "--fashion-mnist", FMNIST]) == 2
    assert "a Fashion-MNIST classifier measures Fashion-MNIST only" in capsys.readouterr().err
    assert not (tmp_path / "e2").exists()
