"""Corpus discovery for the supported layouts, built from the bundled real speech."""
import shutil

import pytest

from vcgan.errors import VcganError
from vcgan.features.corpus import discover_corpus


def _copy(src_dir, dst_dir, n, rename=None):
    dst_dir.mkdir(parents=True, exist_ok=True)
    files = sorted(src_dir.glob("*.flac"))[:n]
    for i, f in enumerate(files):
        shutil.copy(f, dst_dir / (rename(i) if rename else f.name))
    return files


def test_vcc2018_layout(demo_corpus, tmp_path):
    """vcc2018_training/<SPK>/ for training, vcc2018_evaluation + vcc2018_reference for testing."""
    for spk, vcc in (("kal", "VCC2SM1"), ("slt", "VCC2TF1")):
        _copy(demo_corpus / spk / "train", tmp_path / "vcc2018_training" / vcc, 2, lambda i: f"1000{i + 1}.flac")
    _copy(demo_corpus / "kal" / "test", tmp_path / "vcc2018_evaluation" / "VCC2SM1", 2, lambda i: f"3000{i + 1}.flac")
    _copy(demo_corpus / "slt" / "test", tmp_path / "vcc2018_reference" / "VCC2TF1", 2, lambda i: f"3000{i + 1}.flac")
    corpus = discover_corpus(tmp_path)
    assert sorted(corpus) == ["VCC2SM1", "VCC2TF1"]
    assert [p.name for p in corpus["VCC2SM1"]["train"]] == ["10001.flac", "10002.flac"]
    assert [p.parent.parent.name for p in corpus["VCC2SM1"]["test"]] == ["vcc2018_evaluation"] * 2
    assert [p.parent.parent.name for p in corpus["VCC2TF1"]["test"]] == ["vcc2018_reference"] * 2
    with pytest.raises(VcganError, match="VCC2SF3"):
        discover_corpus(tmp_path, speakers=["VCC2SF3"])


def test_generic_layout(demo_corpus, tmp_path):
    _copy(demo_corpus / "ked" / "train", tmp_path / "ked", 3)
    _copy(demo_corpus / "slt" / "train", tmp_path / "slt", 2)
    corpus = discover_corpus(tmp_path)
    assert {s: len(v["train"]) for s, v in corpus.items()} == {"ked": 3, "slt": 2}
    assert all(not v["test"] for v in corpus.values())


def test_split_layout_is_the_demo_corpus(demo_corpus):
    corpus = discover_corpus(demo_corpus)
    assert {"kal", "ked", "slt"} <= set(corpus)
    for spk in ("kal", "ked", "slt"):
        assert len(corpus[spk]["train"]) >= 40 and len(corpus[spk]["test"]) >= 10
    # non-parallel training data, parallel test data
    names = {s: {p.name for p in corpus[s]["train"]} for s in ("kal", "slt")}
    tests = {s: [p.name for p in corpus[s]["test"]] for s in ("kal", "ked", "slt")}
    assert tests["kal"] == tests["ked"] == tests["slt"]
    texts = {s: set(line.split("|", 1)[1] for line in (demo_corpus / s / "train.txt").read_text().splitlines())
             for s in ("kal", "ked", "slt")}
    assert not (texts["kal"] & texts["slt"]) and not (texts["kal"] & texts["ked"])
    assert names["kal"]


def test_missing_corpus_and_empty_corpus(tmp_path):
    with pytest.raises(VcganError, match="does not exist"):
        discover_corpus(tmp_path / "nope")
    (tmp_path / "empty" / "spk").mkdir(parents=True)
    with pytest.raises(VcganError, match="no speakers"):
        discover_corpus(tmp_path / "empty")
