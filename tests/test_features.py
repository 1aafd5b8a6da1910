import numpy as np
import pytest

from vcgan.features import FeatureConfig, analyze, convert_f0, load_audio, log_f0_stats, synthesize
from vcgan.features.world import envelope_to_spectral, spectral_to_envelope
from vcgan.metrics.mcd import analysis_for_metrics, score_features


@pytest.fixture(scope="module")
def speech(demo_corpus):
    return load_audio(demo_corpus / "kal" / "test" / "test_001.flac", 16000)


@pytest.fixture(scope="module")
def world(speech):
    return analyze(speech, FeatureConfig())


def test_audio_is_mono_float_at_rate(speech):
    assert speech.ndim == 1 and speech.dtype == np.float64
    assert 1.0 < len(speech) / 16000 < 8.0
    assert np.abs(speech).max() <= 1.0


def test_world_round_trip_keeps_spectrum(speech, world):
    """analysis -> synthesis -> analysis stays close to the original, and the 36-dim
    mel-cepstrum costs (almost) nothing over resynthesis from the full envelope."""
    import pyworld

    y = synthesize(world, FeatureConfig())
    assert abs(len(y) - len(speech)) < 16000 * 0.02
    ref = analysis_for_metrics(speech, 16000)
    score = score_features("mcep", *ref, *analysis_for_metrics(y, 16000))
    f0, t = pyworld.harvest(speech, 16000)
    full = pyworld.synthesize(f0, pyworld.cheaptrick(speech, f0, t, 16000), pyworld.d4c(speech, f0, t, 16000), 16000)
    floor = score_features("full", *ref, *analysis_for_metrics(full, 16000))
    # WORLD's own resynthesis floor on this voice is ~2.7 dB (speakers differ by 8-10 dB)
    assert score.mcd < 3.2, score
    assert score.mcd < floor.mcd + 0.2, (score, floor)
    assert score.log_f0_rmse < 0.2, score


def test_mcep_spectrum_round_trip(world):
    cfg = FeatureConfig()
    sp = spectral_to_envelope(world.spectral.astype(np.float64), cfg)
    assert sp.shape == (world.num_frames, cfg.fft_size // 2 + 1)
    mc2 = envelope_to_spectral(sp, cfg)
    np.testing.assert_allclose(mc2, world.spectral, atol=1e-6)


def test_coded_envelope_round_trip(speech):
    cfg = FeatureConfig(spectral="coded_sp", spectral_dim=36)
    f = analyze(speech, cfg)
    assert f.spectral.shape[1] == 36
    y = synthesize(f, cfg)
    score = score_features("coded", *analysis_for_metrics(speech, 16000), *analysis_for_metrics(y, 16000))
    assert score.mcd < 3.0, score


def test_feature_shapes_and_alpha(world):
    cfg = FeatureConfig()
    assert world.spectral.shape == (world.num_frames, 36)
    assert world.coded_ap.shape[0] == world.num_frames
    assert cfg.alpha == pytest.approx(0.41, abs=0.01)
    assert FeatureConfig(sample_rate=22050).alpha == pytest.approx(0.455, abs=0.01)
    assert np.mean(world.f0 > 0) > 0.3  # speech is largely voiced


def test_dio_and_harvest_agree_roughly(speech):
    h = analyze(speech, FeatureConfig(f0_method="harvest")).f0
    d = analyze(speech, FeatureConfig(f0_method="dio")).f0
    both = (h > 0) & (d > 0)
    assert both.mean() > 0.3
    assert np.median(np.abs(np.log(h[both] / d[both]))) < 0.05


def test_f0_transform_maps_statistics():
    rng = np.random.default_rng(0)
    f0 = np.exp(rng.normal(np.log(110), 0.15, 2000))
    f0[rng.random(2000) < 0.3] = 0.0
    src = log_f0_stats(f0)
    tgt = (np.log(220.0), 0.25)
    out = convert_f0(f0, src, tgt)
    assert np.all(out[f0 == 0] == 0) and np.all(out[f0 > 0] > 0)
    mu, sd = log_f0_stats(out)
    assert mu == pytest.approx(tgt[0], abs=1e-9)
    assert sd == pytest.approx(tgt[1], abs=1e-9)


def test_feature_config_rejects_bad_values():
    from vcgan.errors import ConfigError

    with pytest.raises(ConfigError, match="f0_method"):
        FeatureConfig(f0_method="yin")
    with pytest.raises(ConfigError, match="unknown key"):
        FeatureConfig.from_dict({"sample_rate": 16000, "hop": 80})


def test_feature_cache_reanalyses_a_changed_or_other_audio_file(demo_corpus, tmp_path):
    """Two corpora with the same file names prepared into one directory: no stale features."""
    import shutil

    from vcgan.features import FeatureConfig, discover_corpus, prepare_features
    from vcgan.features.cache import FeatureStore

    def corpus(root, src_name):
        (root / "kal" / "train").mkdir(parents=True)
        shutil.copy(demo_corpus / "kal" / "train" / src_name, root / "kal" / "train" / "utt.flac")
        return discover_corpus(root)

    out, cfg = tmp_path / "feats", FeatureConfig()
    prepare_features(corpus(tmp_path / "a", "kal_train_001.flac"), out, cfg, jobs=1, progress=False)
    first = FeatureStore(out).utterances("kal")[0]
    npz = out / "kal" / "train" / "utt.npz"
    mtime = npz.stat().st_mtime_ns
    prepare_features(discover_corpus(tmp_path / "a"), out, cfg, jobs=1, progress=False)
    assert npz.stat().st_mtime_ns == mtime  # same audio, unchanged: reused
    prepare_features(corpus(tmp_path / "b", "kal_train_002.flac"), out, cfg, jobs=1, progress=False)
    second = FeatureStore(out).utterances("kal")[0]
    assert second.f0.shape != first.f0.shape or not np.allclose(second.f0, first.f0)


def test_evaluation_analyses_each_distinct_file_once_and_caches(demo_corpus, tmp_path, monkeypatch):
    """Directions sharing a reference, and unconverted copies of references, cost one
    analysis; a cache serves a second call without analysing anything, a damaged entry
    is analysed again, and the scores equal the uncached ones file by file."""
    import shutil

    from vcgan.metrics import mcd
    from vcgan.metrics.report import evaluate

    ref_root, conv = tmp_path / "refs", tmp_path / "conv"
    files = sorted((demo_corpus / "slt" / "test").iterdir())[:2]
    for spk in ("slt", "kal"):
        (ref_root / spk).mkdir(parents=True)
        for f in sorted((demo_corpus / spk / "test").iterdir())[:2]:
            shutil.copy(f, ref_root / spk / f.name)
    # two directions into slt whose files are slt's own references (identical bytes), one into kal
    for d, src in (("kal_to_slt", "slt"), ("ked_to_slt", "slt"), ("slt_to_kal", "slt")):
        (conv / d).mkdir(parents=True)
        for f in sorted((demo_corpus / src / "test").iterdir())[:2]:
            shutil.copy(f, conv / d / f.name)

    calls = []
    real = mcd.analysis_for_metrics
    monkeypatch.setattr(mcd, "analysis_for_metrics", lambda x, sr: calls.append(1) or real(x, sr))
    plain = evaluate(ref_root, conv, jobs=1, progress=False)
    assert len(calls) == 4  # 2 slt files + 2 kal files, though 12 pairs are scored
    assert plain["directions"]["kal_to_slt"]["mcd"] == 0.0  # identical files score zero
    assert plain["directions"]["slt_to_kal"]["mcd"] > 3.0

    cache = tmp_path / "cache"
    calls.clear()
    first = evaluate(ref_root, conv, jobs=1, progress=False, cache_dir=cache)
    assert len(calls) == 4 and len(list(cache.glob("*.npz"))) == 4
    calls.clear()
    again = evaluate(ref_root, conv, jobs=1, progress=False, cache_dir=cache)
    assert calls == []
    victim = sorted(cache.glob("*.npz"))[0]
    victim.write_bytes(b"truncated")
    calls.clear()
    mended = evaluate(ref_root, conv, jobs=1, progress=False, cache_dir=cache)
    assert len(calls) == 1
    for r in (first, again, mended):
        for name, d in plain["directions"].items():
            assert [s["mcd"] for s in r["directions"][name]["per_file"]] == [s["mcd"] for s in d["per_file"]]
            assert [s["log_f0_rmse"] for s in r["directions"][name]["per_file"]] == \
                   [s["log_f0_rmse"] for s in d["per_file"]]
