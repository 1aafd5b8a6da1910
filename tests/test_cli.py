"""The `vcgan` command end to end on real (tiny) data, and its errors on bad input."""
import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from vcgan.cli import main


def run(args, capsys=None):
    code = main([str(a) for a in args])
    return code


def test_end_to_end_prepare_train_convert_evaluate(tiny_corpus, tmp_path, capsys):
    feats = tmp_path / "feats"
    assert run(["prepare", "--corpus", tiny_corpus, "--out", feats, "--speakers", "kal", "slt", "--jobs", "2"]) == 0
    stats = json.loads((feats / "stats.json").read_text())
    assert set(stats) == {"kal", "slt"}
    # the female target has a clearly higher mean F0 than the male source
    assert stats["slt"]["log_f0_mean"] > stats["kal"]["log_f0_mean"] + 0.3

    run_dir = tmp_path / "run"
    args = ["train", f"data.feats_dir={feats}", f"out_dir={run_dir}", "data.segment_frames=32",
            "data.batch_size=2", "model.channels=8", "model.disc_channels=8", "train.steps=3",
            "train.log_every=1", "train.progress=false"]
    assert run(args) == 0
    ckpt = run_dir / "checkpoints" / "latest.pt"
    assert ckpt.is_file() and (run_dir / "config.yaml").is_file()
    assert (run_dir / "training_curves.png").is_file()
    assert len((run_dir / "train_log.jsonl").read_text().splitlines()) == 3

    # resuming a finished run with more steps continues from step 3
    assert run(args[:-3] + ["train.steps=4", "train.log_every=1", "train.progress=false"]) == 0
    rows = [json.loads(r) for r in (run_dir / "train_log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2, 3, 4]

    conv = tmp_path / "conv"
    assert run(["convert", "--checkpoint", ckpt, "--source", "kal", "--target", "slt",
                tiny_corpus / "kal" / "test", "-o", conv]) == 0
    outs = sorted(conv.glob("*.wav"))
    assert [p.stem for p in outs] == sorted(p.stem for p in (tiny_corpus / "kal" / "test").glob("*.flac"))
    y, sr = sf.read(outs[0])
    assert sr == 16000 and y.ndim == 1 and np.abs(y).max() > 0.01

    capsys.readouterr()
    assert run(["evaluate", tiny_corpus / "slt" / "test", conv, "-o", tmp_path / "report"]) == 0
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["average"]["mcd"] > 0 and report["directions"]["conv"]["files"] == 2
    assert "MCD" in (tmp_path / "report.md").read_text()
    assert "| conv | 2 |" in capsys.readouterr().out

    # the statistics-transform baseline through the same command
    assert run(["convert", "--feats", feats, "--source", "kal", "--target", "slt",
                tiny_corpus / "kal" / "test", "-o", tmp_path / "stats"]) == 0
    assert len(list((tmp_path / "stats").glob("*.wav"))) == 2

    # unknown speaker names are refused with the known ones listed
    capsys.readouterr()
    assert run(["convert", "--checkpoint", ckpt, "--source", "bob", "--target", "slt",
                tiny_corpus / "kal" / "test", "-o", conv]) == 2
    assert "kal, slt" in capsys.readouterr().err


def test_unknown_config_key_is_named(tmp_path, capsys):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("train:\n  stepz: 10\n")
    assert run(["train", "--config", cfg]) == 2
    err = capsys.readouterr().err
    assert "train.stepz" in err
    assert run(["train", "trian.steps=3"]) == 2
    assert "trian" in capsys.readouterr().err


def test_missing_speaker_in_corpus(tiny_corpus, tmp_path, capsys):
    assert run(["prepare", "--corpus", tiny_corpus, "--out", tmp_path / "f", "--speakers", "kal", "bdl"]) == 2
    err = capsys.readouterr().err
    assert "bdl" in err and "kal" in err


@pytest.fixture
def bad_corpus(tiny_corpus, tmp_path):
    import shutil

    root = tmp_path / "bad"
    shutil.copytree(tiny_corpus / "kal", root / "kal")
    return root


@pytest.mark.parametrize("kind,message", [
    ("empty", "empty"),
    ("text", "not a readable audio file"),
    ("silent", "silent"),
    ("nan", "NaN"),
])
def test_bad_audio_gets_a_clear_error_naming_the_file(bad_corpus, tmp_path, capsys, kind, message):
    bad = bad_corpus / "kal" / "train" / f"bad_{kind}.wav"
    if kind == "empty":
        bad.write_bytes(b"")
    elif kind == "text":
        bad.write_text("this is not audio\n" * 20)
    elif kind == "silent":
        sf.write(bad, np.zeros(16000), 16000, subtype="PCM_16")
    else:
        x = np.random.default_rng(0).normal(0, 0.1, 16000)
        x[100] = np.nan
        sf.write(bad, x, 16000, subtype="FLOAT")
    out = tmp_path / "feats"
    assert run(["prepare", "--corpus", bad_corpus, "--out", out, "--jobs", "1"]) == 2
    err = capsys.readouterr().err
    assert str(bad) in err and message in err
    # with --skip-bad the rest of the corpus is prepared and the bad file is left out
    assert run(["prepare", "--corpus", bad_corpus, "--out", out, "--jobs", "1", "--skip-bad"]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert "bad_" + kind not in [e["utt"] for e in manifest["kal"]["train"]]
    assert len(manifest["kal"]["train"]) == 3


def test_stereo_44k_is_mixed_down_and_resampled(demo_corpus, tmp_path):
    from vcgan.features import load_audio

    x = load_audio(demo_corpus / "slt" / "test" / "test_001.flac", 44100)
    stereo = np.stack([x, 0.5 * x], 1)
    path = tmp_path / "stereo.wav"
    sf.write(path, stereo, 44100, subtype="PCM_24")
    y = load_audio(path, 16000)
    ref = load_audio(demo_corpus / "slt" / "test" / "test_001.flac", 16000)
    assert y.ndim == 1 and abs(len(y) - len(ref)) <= 2
    n = min(len(y), len(ref))
    corr = np.corrcoef(y[:n], ref[:n])[0, 1]
    assert corr > 0.99  # same signal, 0.75 gain from the mix-down


def test_evaluate_errors(tmp_path, capsys):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    assert run(["evaluate", tmp_path / "a", tmp_path / "b"]) == 2
    assert "no file" in capsys.readouterr().err
    assert run(["evaluate", tmp_path / "nope", tmp_path / "b"]) == 2
    assert "not a directory" in capsys.readouterr().err


def test_evaluate_direction_names_a_flat_directory(tiny_corpus, tmp_path, capsys):
    ref, src = tiny_corpus / "slt" / "test", tiny_corpus / "kal" / "test"
    assert run(["evaluate", ref, src, "-o", tmp_path / "named", "--direction", "kal_to_slt"]) == 0
    named = json.loads((tmp_path / "named.json").read_text())
    assert list(named["directions"]) == ["kal_to_slt"]
    assert run(["evaluate", ref, src, "-o", tmp_path / "plain"]) == 0
    plain = json.loads((tmp_path / "plain.json").read_text())
    assert list(plain["directions"]) == ["test"]  # the directory's own name by default
    assert plain["directions"]["test"]["mcd"] == named["directions"]["kal_to_slt"]["mcd"]
    # reports stored under different names do not pair, and the error says how to name them
    assert run(["evaluate-compare", tmp_path / "named.json", tmp_path / "plain.json", "--baseline", "named"]) == 2
    assert "vcgan evaluate --direction NAME" in capsys.readouterr().err
    # a directory of directions names itself: a name for it is an error
    (tmp_path / "many" / "kal_to_slt").mkdir(parents=True)
    assert run(["evaluate", tiny_corpus, tmp_path / "many", "--direction", "x_to_y"]) == 2
    assert "holds <src>_to_<tgt> directions" in capsys.readouterr().err


def test_evaluate_compare_tables_systems_against_a_baseline(tmp_path, capsys):
    def report(name, mcds):
        d = {k: {"mcd": v, "files": 1} for k, v in mcds.items()}
        (tmp_path / f"{name}.json").write_text(json.dumps({"directions": d}))
        return tmp_path / f"{name}.json"

    stats = report("stats", {"a_to_b": 8.0, "b_to_a": 7.0})
    model = report("model", {"a_to_b": 7.4, "b_to_a": 6.7})
    assert run(["evaluate-compare", stats, model, "--baseline", "stats", "-o", tmp_path / "cmp"]) == 0
    out = capsys.readouterr().out
    assert "| a_to_b | 8.00 | 7.40 | -0.60 |" in out and "| b_to_a | 7.00 | 6.70 | -0.30 |" in out
    assert "| **average** | 7.50 | 7.05 | -0.45 |" in out
    assert "model: 1 of 2 direction(s) at least 0.5 dB (MCD) under stats" in out
    comp = json.loads((tmp_path / "cmp.json").read_text())
    assert comp["directions_beating_baseline"] == {"model": 1}
    assert (tmp_path / "cmp.md").read_text() in out
    assert run(["evaluate-compare", stats, model, "--baseline", "stats", "--margin", "0.25"]) == 0
    assert "model: 2 of 2" in capsys.readouterr().out
    # errors name what is wrong
    assert run(["evaluate-compare", stats, model, "--baseline", "nope"]) == 2
    assert "baseline 'nope'" in capsys.readouterr().err
    short = report("short", {"a_to_b": 7.0})
    assert run(["evaluate-compare", stats, short, "--baseline", "stats"]) == 2
    assert "short: no scores for direction(s) b_to_a" in capsys.readouterr().err
    (tmp_path / "bad.json").write_text("{not json")
    assert run(["evaluate-compare", stats, tmp_path / "bad.json", "--baseline", "stats"]) == 2
    assert "bad.json: not a `vcgan evaluate` report" in capsys.readouterr().err
    assert run(["evaluate-compare", stats, model, "--baseline", "stats", "--names", "x"]) == 2


def test_convert_to_several_targets_analyses_once_and_matches_single_conversions(tiny_feats, tiny_corpus, tmp_path,
                                                                                    monkeypatch):
    import vcgan.features.cache as inference  # where conversion analyses its inputs

    src = tiny_corpus / "kal" / "test"
    assert run(["convert", "--feats", tiny_feats, "--source", "kal", "--target", "slt", src, "-o", tmp_path / "one"]) == 0
    calls = []
    real = inference.analyze
    monkeypatch.setattr(inference, "analyze", lambda *a, **k: calls.append(1) or real(*a, **k))
    assert run(["convert", "--feats", tiny_feats, "--source", "kal", "--target", "ked,slt", src,
                "-o", tmp_path / "many"]) == 0
    names = sorted(p.name for p in (tmp_path / "one").iterdir())
    assert len(calls) == len(names) == 2  # each input analysed once for both targets
    for t in ("ked", "slt"):
        assert sorted(p.name for p in (tmp_path / "many" / f"kal_to_{t}").iterdir()) == names
    for n in names:
        a, b = sf.read(tmp_path / "one" / n)[0], sf.read(tmp_path / "many" / "kal_to_slt" / n)[0]
        assert np.array_equal(a, b)
    assert run(["convert", "--feats", tiny_feats, "--source", "kal", "--target", "slt,slt", src,
                "-o", tmp_path / "x"]) == 2


def test_convert_cache_analyses_each_input_once_across_calls_and_converts_the_same(tiny_feats, tiny_corpus,
                                                                                  tmp_path, monkeypatch):
    import vcgan.features.cache as cache

    src, store = tiny_corpus / "kal" / "test", tmp_path / "analyses"
    assert run(["convert", "--feats", tiny_feats, "--source", "kal", "--target", "slt", src, "-o", tmp_path / "plain"]) == 0
    calls = []
    real = cache.analyze
    monkeypatch.setattr(cache, "analyze", lambda *a, **k: calls.append(1) or real(*a, **k))
    for out in ("first", "second"):
        assert run(["convert", "--feats", tiny_feats, "--source", "kal", "--target", "slt", src, "-o", tmp_path / out,
                    "--cache", store]) == 0
    names = sorted(p.name for p in (tmp_path / "plain").iterdir())
    assert len(calls) == len(names) == len(list(store.glob("*.npz")))  # analysed in the first call only
    for n in names:  # a cached analysis converts exactly as a fresh one
        a = sf.read(tmp_path / "plain" / n)[0]
        assert np.array_equal(a, sf.read(tmp_path / "first" / n)[0]) and np.array_equal(a, sf.read(tmp_path / "second" / n)[0])
    # a damaged entry is analysed again and replaced, not trusted
    entry = sorted(store.glob("*.npz"))[0]
    entry.write_bytes(b"not an npz")
    assert run(["convert", "--feats", tiny_feats, "--source", "kal", "--target", "slt", src, "-o", tmp_path / "third",
                "--cache", store]) == 0
    assert len(calls) == len(names) + 1
    for n in names:
        assert np.array_equal(sf.read(tmp_path / "plain" / n)[0], sf.read(tmp_path / "third" / n)[0])


def test_convert_refuses_corrupt_checkpoint(tmp_path, tiny_corpus, capsys):
    bad = tmp_path / "x.pt"
    bad.write_bytes(b"garbage")
    assert run(["convert", "--checkpoint", bad, "--source", "kal", "--target", "slt",
                tiny_corpus / "kal" / "test", "-o", tmp_path / "o"]) == 2
    assert "not a readable vcgan checkpoint" in capsys.readouterr().err


def test_prepare_adds_speakers_to_an_existing_feature_directory(tiny_corpus, tmp_path):
    out = tmp_path / "feats"
    assert run(["prepare", "--corpus", tiny_corpus, "--out", out, "--speakers", "kal", "--jobs", "1"]) == 0
    assert run(["prepare", "--corpus", tiny_corpus, "--out", out, "--speakers", "ked", "--jobs", "1"]) == 0
    assert set(json.loads((out / "manifest.json").read_text())) == {"kal", "ked"}
    assert set(json.loads((out / "stats.json").read_text())) == {"kal", "ked"}
    # a different analysis configuration is refused instead of mixing features
    assert run(["prepare", "--corpus", tiny_corpus, "--out", out, "--speakers", "slt", "f0_method=dio"]) == 2


def test_resume_with_a_different_model_is_refused(tiny_feats, tmp_path, capsys):
    base = ["train", f"data.feats_dir={tiny_feats}", f"out_dir={tmp_path}", "data.segment_frames=32",
            "data.batch_size=1", "model.disc_channels=8", "train.steps=1", "train.progress=false"]
    assert run(base + ["model.channels=8"]) == 0
    capsys.readouterr()
    assert run(base + ["model.channels=16", "train.steps=2"]) == 2
    assert "trained with other model" in capsys.readouterr().err


def test_demo_end_to_end_reports_verdict_and_only_files_it_wrote(tiny_corpus, tmp_path):
    from vcgan.demo import run_demo

    out = tmp_path / "demo"
    report = run_demo(out_dir=out, minutes=5, corpus=tiny_corpus, overrides=[
        "data.segment_frames=32", "data.batch_size=2", "model.channels=8", "model.disc_channels=8",
        "train.steps=2", "train.log_every=25", "train.progress=false"])
    text = (out / "report.md").read_text()
    assert report["train"]["steps"] == 2
    assert "precision fp32" in text or "precision bf16" in text
    assert "Verdict: CycleGAN-VC2 is" in text and "than the statistics transform" in text
    assert "Only 2 training steps ran" in text and "vcgan demo --minutes" in text
    assert "| CycleGAN-VC2, uncalibrated |" in text and "Uncalibrated (`vcgan convert --no-calibrate`)" in text
    assert len(list(Path(report["uncalibrated_dir"]).glob("*.wav"))) == 2
    # the headline is what `vcgan convert` applies by default: the stored calibration
    assert report["results"]["CycleGAN-VC2"]["mcd"] != report["results"]["CycleGAN-VC2, uncalibrated"]["mcd"]
    for path in (report["training_curves_png"], report["spectrogram_png"]):
        assert Path(path).is_file() and str(path) in text  # named, and written (2 steps < log_every)


def test_demo_verdict_wording():
    from vcgan.demo import demo_verdict

    long_run = {"steps": 900, "sec_per_step": 0.7, "precision": "fp32"}
    assert demo_verdict(long_run, 7.5, 9.2, 10).startswith(
        "Verdict: CycleGAN-VC2 is better than the statistics transform on the test set (7.50 vs 9.20 dB MCD, 1.70 dB lower).")
    assert "equal to within 0.01 dB" in demo_verdict(long_run, 9.201, 9.2, 10)
    assert "not better" in demo_verdict(long_run, 9.3, 9.2, 10) and "0.10 dB higher" in demo_verdict(long_run, 9.3, 9.2, 10)
    with_raw = demo_verdict(long_run, 7.73, 9.20, 10, uncalibrated_mcd=8.77)
    assert with_raw.endswith("Uncalibrated (`vcgan convert --no-calibrate`): 8.77 dB, better (0.43 dB lower).")
    short = demo_verdict({"steps": 11, "sec_per_step": 59.7, "precision": "bf16"}, 9.19, 9.20, 10)
    assert "Only 11 training steps ran (59.7 s/step" in short and "about 199 min" in short and "--minutes 239" in short


def test_tasks_lists_every_registered_family(capsys):
    assert run(["tasks"]) == 0
    out = capsys.readouterr().out
    for task in ("cyclegan_vc", "cyclegan_vc2", "stargan_vc", "stargan_vc2"):
        assert f"task: {task} " in out
