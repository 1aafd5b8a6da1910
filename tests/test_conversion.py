import numpy as np
import pytest
import torch

import vcgan
from conftest import tiny_config
from vcgan.engine.chunking import apply_in_chunks
from vcgan.engine.trainer import Trainer
from vcgan.features import FeatureConfig, analyze, load_audio
from vcgan.errors import CheckpointError
from vcgan.models.voice_conversion.converter import Converter
from vcgan.models.voice_conversion.pipeline import SpeakerStats, convert_features
from vcgan.training import build


def test_chunked_application_is_exact_for_framewise_maps():
    x = torch.randn(1, 36, 1000)
    f = lambda t: 2 * t + 1  # noqa: E731
    for chunk, overlap in [(128, 32), (100, 0), (333, 64)]:
        torch.testing.assert_close(apply_in_chunks(f, x, chunk, overlap), f(x))


def test_chunked_cnn_has_no_seams():
    torch.manual_seed(0)
    conv = torch.nn.Conv1d(36, 36, 5, padding=2)
    x = torch.randn(1, 36, 700)
    with torch.no_grad():
        whole, chunked = conv(x), apply_in_chunks(conv, x, 128, 32)
    # frames within a receptive field of a window edge get zero weight: the result is exact
    assert torch.allclose(whole, chunked, atol=1e-5)


def test_statistics_are_used_for_the_right_speaker(demo_corpus):
    cfg = FeatureConfig()
    feats = analyze(load_audio(demo_corpus / "kal" / "test" / "test_002.flac", 16000), cfg)
    src = SpeakerStats(np.zeros(36), np.ones(36), np.log(100.0), 0.1)
    tgt = SpeakerStats(np.full(36, 0.5), np.full(36, 2.0), np.log(200.0), 0.2)
    out = convert_features(feats, src, tgt)  # identity model: statistics transform
    np.testing.assert_allclose(out.spectral, feats.spectral * 2.0 + 0.5, rtol=1e-5, atol=1e-5)
    v = feats.f0 > 0
    np.testing.assert_allclose(np.log(out.f0[v]), (np.log(feats.f0[v]) - np.log(100.0)) / 0.1 * 0.2 + np.log(200.0))


@pytest.fixture(scope="module")
def tiny_checkpoint(tiny_feats, tmp_path_factory):
    out = tmp_path_factory.mktemp("ckpt")
    cfg = tiny_config(tiny_feats, out, **{"train.steps": 2})
    task, sampler = build(cfg)
    Trainer(task, sampler, cfg["train"], out, cfg).fit()
    return out / "checkpoints" / "latest.pt"


@pytest.mark.parametrize("seconds", [0.37, 2.013, 9.5])
def test_convert_any_length(tiny_checkpoint, demo_corpus, seconds, tmp_path):
    """Short, odd and long inputs keep their length; chunked and whole conversion agree closely."""
    conv = vcgan.load(tiny_checkpoint).raw
    speech = np.concatenate([load_audio(p, 16000) for p in sorted((demo_corpus / "kal" / "test").glob("*.flac"))[:4]])
    x = speech[: int(seconds * 16000)]
    whole = conv.convert_array(x, "kal", "slt")
    assert abs(len(whole) - len(x)) <= 80 + 1  # within one 5 ms frame
    assert np.isfinite(whole).all() and np.abs(whole).max() <= 1.0
    if seconds > 5:
        chunked = conv.convert_array(x, "kal", "slt", chunk_frames=400, chunk_overlap=64)
        assert len(chunked) == len(whole) and np.isfinite(chunked).all()
        # in feature space, chunking changes the output far less than the conversion does
        feats = analyze(x, conv.features)
        src, tgt = (SpeakerStats.from_dict(conv.stats[s]) for s in ("kal", "slt"))
        mapping = conv._mapping_for("kal", "slt")
        a = convert_features(feats, src, tgt, mapping).spectral
        b = convert_features(feats, src, tgt, mapping, chunk_frames=400, chunk_overlap=64).spectral
        stats_only = convert_features(feats, src, tgt).spectral
        assert np.abs(a - b)[:, 1:].mean() < 0.5 * np.abs(a - stats_only)[:, 1:].mean()
    reverse = conv.convert_array(x, "slt", "kal")
    assert len(reverse) == len(whole)


def test_convert_single_file_to_path(tiny_checkpoint, demo_corpus, tmp_path):
    conv = vcgan.load(tiny_checkpoint).raw
    out = conv.convert_paths(demo_corpus / "kal" / "test" / "test_001.flac", tmp_path / "one.wav", "kal", "slt",
                             progress=False)
    assert out == [tmp_path / "one.wav"] and out[0].is_file()


def test_weights_that_do_not_fit_the_networks_name_the_checkpoint(tiny_checkpoint, tmp_path):
    state = torch.load(tiny_checkpoint, weights_only=True)
    key = next(k for k in state["model"] if k.startswith("generators."))
    state["model"][key] = torch.zeros(3)  # misshapen, as from another layout of the model
    old = tmp_path / "other.pt"
    torch.save(state, old)
    conv = vcgan.load(old).raw
    with pytest.raises(CheckpointError, match=f"{old}: its .* weights do not fit"):
        conv.convert_array(np.zeros(16000, np.float32), "kal", "slt")


def test_checkpoint_loads_weights_only_and_is_atomic(tiny_checkpoint, tmp_path, monkeypatch):
    from vcgan.engine import checkpoint as ckpt_module
    from vcgan.engine import load_checkpoint, save_checkpoint

    ckpt = torch.load(tiny_checkpoint, weights_only=True)
    assert ckpt["step"] == 2 and ckpt["meta"]["speakers"] == ["kal", "slt"]
    assert not list(tiny_checkpoint.parent.glob("*.tmp"))
    # a write interrupted half-way (crash, full disk) leaves the previous checkpoint intact
    path = tmp_path / "latest.pt"
    save_checkpoint({"model": {"w": torch.ones(3)}, "step": 1}, path)
    real_save = torch.save

    def dies_half_way(obj, f, *args, **kwargs):
        real_save(obj, f, *args, **kwargs)
        with open(f, "r+b") as fh:
            fh.truncate(fh.seek(0, 2) // 2)
        raise OSError("No space left on device")

    monkeypatch.setattr(ckpt_module.torch, "save", dies_half_way)
    with pytest.raises(OSError, match="No space left"):
        save_checkpoint({"model": {"w": torch.zeros(3)}, "step": 2}, path)
    monkeypatch.undo()
    back = load_checkpoint(path)
    assert back["step"] == 1 and torch.equal(back["model"]["w"], torch.ones(3))
    assert [p.name for p in tmp_path.iterdir()] == ["latest.pt"]  # no half-written temp file left
