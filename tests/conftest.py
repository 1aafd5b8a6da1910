import os
import shutil
import warnings
from pathlib import Path

import pytest

warnings.filterwarnings("ignore", message="pkg_resources is deprecated")

# `pytest -n 2` (pytest-xdist): one compute thread per worker process and per process a test
# starts, so two workers share two cores instead of contending with two threads each
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("MKL_NUM_THREADS", "1")

ROOT = Path(__file__).resolve().parents[1]
DEMO_CORPUS = ROOT / "recipes" / "demo" / "corpus"


@pytest.fixture(scope="session")
def demo_corpus() -> Path:
    assert DEMO_CORPUS.is_dir(), "the bundled demo corpus is missing"
    return DEMO_CORPUS


def make_tiny_corpus(root: Path, demo_corpus: Path = DEMO_CORPUS) -> Path:
    """kal, ked and slt with 3 training and 2 test utterances each (real Festival speech)."""
    for spk in ("kal", "ked", "slt"):
        for split, n in (("train", 3), ("test", 2)):
            dst = root / spk / split
            dst.mkdir(parents=True)
            for f in sorted((demo_corpus / spk / split).glob("*.flac"))[:n]:
                shutil.copy(f, dst / f.name)
    return root


def make_unpaired_root(root: Path, n_train: int, n_test: int, demo_corpus: Path = DEMO_CORPUS) -> Path:
    """ROOT/{synthetic,natural}/{train,test}: the festival kal voice as 'synthetic', slt as
    'natural'; the training sentences disjoint (nothing paired), the test ones shared."""
    for side, spk, first in (("synthetic", "kal", 0), ("natural", "slt", n_train)):
        for split, files in (("train", sorted((demo_corpus / spk / "train").glob("*.flac"))[first:first + n_train]),
                             ("test", sorted((demo_corpus / spk / "test").glob("*.flac"))[:n_test])):
            (root / side / split).mkdir(parents=True)
            for f in files:
                shutil.copy(f, root / side / split / f.name)
    return root


def train_log_rows(run_dir: Path) -> list[dict]:
    """The rows of a run's train_log.jsonl without their timing (which differs between runs)."""
    import json

    return [{k: v for k, v in json.loads(line).items() if k != "time/sec_per_step"}
            for line in (Path(run_dir) / "train_log.jsonl").read_text().splitlines()]


def need_programs(*programs, packages: str) -> list[str]:
    """The path of each program (a name, or a tuple of alternative names). Where one is missing:
    a skip naming the Debian packages that provide it, or a failure where `.ci/run` installed
    them (VCGAN_REQUIRE_PROGRAMS=1), so that a check meant to run there cannot quietly skip."""
    found, missing = [], []
    for alternatives in programs:
        names = (alternatives,) if isinstance(alternatives, str) else alternatives
        path = next((p for p in map(shutil.which, names) if p), None)
        found.append(path)
        if not path:
            missing.append(" or ".join(names))
    if missing:
        message = f"{', '.join(missing)} not found: apt-get install {packages}"
        if os.environ.get("VCGAN_REQUIRE_PROGRAMS") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return found


def festival_split(root: Path) -> Path:
    """ROOT/train (kal_001-003) and ROOT/test (kal_004): festival speech with its segment files."""
    fixture = Path(__file__).parent / "data" / "festival"
    for split, names in (("train", ["kal_001", "kal_002", "kal_003"]), ("test", ["kal_004"])):
        (root / split).mkdir(parents=True, exist_ok=True)
        for n in names:
            for ext in (".flac", ".seg"):
                shutil.copy(fixture / f"{n}{ext}", root / split / f"{n}{ext}")
    return root


@pytest.fixture(scope="session")
def festival_pairs(tmp_path_factory) -> Path:
    """A synthetic/natural pair corpus made by `vcgan tts-pairs` from the festival fixture (two
    training sentences, one development, one test; 40 steps of the acoustic model). Read only."""
    from vcgan.cli import main

    src = festival_split(tmp_path_factory.mktemp("festival"))
    out = tmp_path_factory.mktemp("festival_pairs") / "pairs"
    assert main(["tts-pairs", "--train", str(src / "train"), "--test", str(src / "test"), "--out", str(out),
                 "--folds", "2", "--dev", "1", "--steps", "40", "--jobs", "1"]) == 0
    return out


@pytest.fixture(scope="session")
def tiny_corpus(tmp_path_factory, demo_corpus) -> Path:
    return make_tiny_corpus(tmp_path_factory.mktemp("corpus"), demo_corpus)


@pytest.fixture(scope="session")
def tiny_feats(tmp_path_factory, tiny_corpus) -> Path:
    from vcgan.features import FeatureConfig, discover_corpus, prepare_features

    out = tmp_path_factory.mktemp("feats")
    prepare_features(discover_corpus(tiny_corpus), out, FeatureConfig(), jobs=2, progress=False)
    return out


def tiny_config(feats_dir, out_dir, task="cyclegan_vc2", **extra) -> dict:
    from vcgan.training import resolve_config

    overrides = [
        f"task={task}", f"data.feats_dir={feats_dir}", f"out_dir={out_dir}",
        "data.segment_frames=32", "data.batch_size=2", "model.channels=8", "model.disc_channels=8",
        "train.steps=3", "train.log_every=1", "train.checkpoint_every=0", "train.progress=false",
    ] + [f"{k}={v}" for k, v in extra.items()]
    return resolve_config(None, overrides)


@pytest.fixture(scope="session")
def applied_kinds(tiny_feats, tmp_path_factory) -> dict:
    """One small checkpoint per command that applies checkpoints, each trained a step or two:
    voice conversion (kal, slt; real features, so its calibration is stored), an image CycleGAN,
    a GLCIC completion network (both groups updated), a DCGAN sampler and a mel-cepstrum postfilter."""
    from vcgan.cli import main as cli
    from vcgan.engine.registry import family_for_task
    from vcgan.engine.trainer import Trainer
    from vcgan.training import resolve_config, train

    fmnist = Path(__file__).parent / "data" / "fashion-mnist"
    root = tmp_path_factory.mktemp("applied_kinds")
    train(tiny_config(tiny_feats, root / "vc", **{"train.steps": 2, "train.precision": "fp32"}))
    common = ["train.progress=false", "train.precision=fp32", f"data.root={fmnist}"]
    for args in (["task=image_cyclegan", f"out_dir={root / 'img'}", "model.ngf=4", "model.ndf=4", "model.blocks=1",
                  "data.batch_size=2", "train.steps=1"],
                 ["task=glcic", f"out_dir={root / 'fill'}", "data.batch_size=2", "train.steps=2", "model.width=8",
                  "model.d_width=8", "model.d_max_width=16", "model.d_fc=16", "train.optim.g.every=1",
                  "train.optim.d.every=1", "loss.alpha=0.0004"],
                 ["task=dcgan", f"out_dir={root / 'gen'}", "data.batch_size=4", "train.steps=1"]):
        assert cli(["train", *args, *common]) == 0
    cfg = resolve_config(None, ["task=gan_postfilter_mcep", f"out_dir={root / 'pf'}", "train.steps=1",
                                "train.progress=false", "train.precision=fp32", "model.g_channels=[8,8]"])
    model, data = family_for_task("gan_postfilter_mcep").synthetic(cfg)
    Trainer(model, data, cfg["train"], root / "pf", cfg).fit()
    return {k: root / k / "checkpoints" / "latest.pt" for k in ("vc", "img", "fill", "gen", "pf")}
