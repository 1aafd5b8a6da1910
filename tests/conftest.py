import shutil
import warnings
from pathlib import Path

import pytest

warnings.filterwarnings("ignore", message="pkg_resources is deprecated")

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
