"""One surface for every family: `vcgan.load`, `vcgan info`, checkpoints refused by the
commands that do not apply them, the calibration stored at the end of training, and the
failure paths of the commands that apply checkpoints to files."""
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

import vcgan
from conftest import tiny_config
from vcgan.cli import main as cli
from vcgan.errors import CheckpointError, VcganError

FMNIST = Path(__file__).parent / "data" / "fashion-mnist"


def run(args) -> int:
    return cli([str(a) for a in args])


def _synthetic_run(task, out, *overrides):
    """A checkpoint of ``task`` trained one step on the family's random data (no files)."""
    from vcgan.engine.registry import family_for_task
    from vcgan.engine.trainer import Trainer
    from vcgan.training import resolve_config

    cfg = resolve_config(None, [f"task={task}", f"out_dir={out}", "train.steps=1", "train.progress=false",
                                "train.precision=fp32", *overrides])
    model, data = family_for_task(task).synthetic(cfg)
    Trainer(model, data, cfg["train"], out, cfg).fit()
    return Path(out) / "checkpoints" / "latest.pt"


@pytest.fixture(scope="module")
def checkpoints(tiny_feats, tmp_path_factory):
    """One checkpoint of each kind the project writes: voice conversion (trained on real
    features, so its calibration is stored), postfilter and image translation."""
    from vcgan.training import train

    root = tmp_path_factory.mktemp("kinds")
    cfg = tiny_config(tiny_feats, root / "vc", **{"train.steps": 2, "train.precision": "fp32"})
    train(cfg)
    assert run(["train", "task=image_cyclegan", f"data.root={FMNIST}", f"out_dir={root / 'img'}", "model.ngf=4",
                "model.ndf=4", "model.blocks=1", "data.batch_size=2", "train.steps=1", "train.progress=false"]) == 0
    return {
        "convert": root / "vc" / "checkpoints" / "latest.pt",
        "postfilter": _synthetic_run("gan_postfilter_mcep", root / "pf", "model.g_channels=[8,8]"),
        "translate": root / "img" / "checkpoints" / "latest.pt",
    }


def test_load_returns_each_kinds_inference_object_and_info_describes_it(checkpoints, capsys):
    vc, pf, img = (vcgan.load(checkpoints[k]) for k in ("convert", "postfilter", "translate"))
    assert (vc.purpose, vc.command, vc.task) == ("voice conversion", "vcgan convert", "cyclegan_vc2")
    assert (pf.purpose, pf.command, pf.task) == ("postfilter for synthetic speech", "vcgan postfilter",
                                                 "gan_postfilter_mcep")
    assert (img.purpose, img.command, img.task) == ("image translation", "vcgan translate", "image_cyclegan")
    d = vc.describe()
    assert d["speakers"] == ["kal", "slt"] and d["directions"] == 2 and d["steps"] == 2
    assert d["precision"] == "fp32" and d["calibration"].startswith("stored (2 directions")
    assert img.describe()["domains"] == ["sneaker", "ankle-boot"] and "<->" in img.describe()["maps"]
    assert "mel-cepstra" in pf.describe()["maps"]
    assert run(["info", checkpoints["convert"]]) == 0
    out = capsys.readouterr().out
    assert "vcgan convert" in out and "kal, slt" in out and "cyclegan_vc2" in out
    assert run(["info", "--json", checkpoints["translate"]]) == 0
    assert json.loads(capsys.readouterr().out)["applied_by"] == "vcgan translate"


@pytest.mark.parametrize("command,extra", [
    ("convert", ["--source", "kal", "--target", "slt"]),
    ("postfilter", []),
    ("translate", ["--target", "ankle-boot"]),
    ("evaluate-images", []),
])
def test_every_checkpoint_command_refuses_the_other_kinds_in_one_sentence(checkpoints, command, extra, tmp_path,
                                                                         capsys, demo_corpus):
    applies = "translate" if command == "evaluate-images" else command
    wav = demo_corpus / "kal" / "test"
    for kind, ckpt in checkpoints.items():
        if kind == applies:
            continue
        out = tmp_path / f"{command}_{kind}"
        args = [command, "--checkpoint", ckpt, *extra] + ([] if command == "evaluate-images" else [wav]) + ["-o", out]
        assert run(args) == 2
        err = capsys.readouterr().err.strip()
        task = vcgan.load(ckpt).task
        assert err.count("\n") == 0 and "Traceback" not in err
        assert f"{ckpt} is a {task} checkpoint" in err and f"apply it with `vcgan {kind}`, not `vcgan {command}`" in err
        assert not out.exists()  # nothing written
    with pytest.raises(CheckpointError, match="apply it with `vcgan postfilter`"):
        vcgan.load(checkpoints["postfilter"], "convert")


def test_a_checkpoint_of_no_known_family_is_refused(checkpoints, tmp_path):
    state = torch.load(checkpoints["postfilter"], weights_only=True)
    state["meta"]["family"] = "wavenet"
    torch.save(state, tmp_path / "x.pt")
    with pytest.raises(CheckpointError, match=r"x.pt: a checkpoint of no family this version can apply \(family 'wavenet'\)"):
        vcgan.load(tmp_path / "x.pt")


def test_the_calibration_stored_at_the_end_of_training_is_what_convert_applies(checkpoints, tiny_feats, tmp_path,
                                                                               demo_corpus):
    """The stored calibration equals one measured now on the training features; convert applies
    it by default, --no-calibrate gives the raw output, and the two differ."""
    ckpt = checkpoints["convert"]
    state = torch.load(ckpt, weights_only=True)
    cal = state["calibration"]
    assert cal["shifts"] == 1 and set(cal["directions"]) == {"kal->slt", "slt->kal"}
    step_file = ckpt.parent / f"step_{state['step']:08d}.pt"
    assert torch.load(step_file, weights_only=True)["calibration"] == cal  # both files of the last step
    src = demo_corpus / "kal" / "test"
    files = sorted(src.glob("*.*"))[:1]
    x = files[0]
    outs = {}
    for name, flags in {"default": [], "measured": ["--calibrate", tiny_feats], "raw": ["--no-calibrate"]}.items():
        outs[name] = tmp_path / f"{name}.wav"
        assert run(["convert", "--checkpoint", ckpt, *flags, "--source", "kal", "--target", "slt", x, "-o",
                    outs[name]]) == 0
    a, b, c = (sf.read(outs[k])[0] for k in ("default", "measured", "raw"))
    np.testing.assert_array_equal(a, b)
    assert np.abs(a - c).max() > 1e-3
    # the Python API applies the same default
    y = vcgan.load(ckpt).apply(sf.read(x)[0], "kal", "slt")
    assert np.abs(y - a).max() < 2 / 32768  # one 16-bit step apart at most (the file is PCM 16)


def test_calibrate_refuses_features_whose_statistics_differ_from_the_models(checkpoints, tiny_feats, tmp_path, capsys,
                                                                           demo_corpus):
    other = tmp_path / "feats"
    shutil.copytree(tiny_feats, other)
    stats = json.loads((other / "stats.json").read_text())
    stats["kal"]["log_f0_mean"] += 0.1
    (other / "stats.json").write_text(json.dumps(stats))
    x = sorted((demo_corpus / "kal" / "test").glob("*.*"))[0]
    assert run(["convert", "--checkpoint", checkpoints["convert"], "--calibrate", other, "--source", "kal",
                "--target", "slt", x, "-o", tmp_path / "y.wav"]) == 2
    err = capsys.readouterr().err
    assert f"{other}: the statistics of 'kal' (log_f0_mean) differ from the model's" in err
    assert not (tmp_path / "y.wav").exists()


def _audio_folder(demo_corpus, folder, n=2) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    files = sorted((demo_corpus / "kal" / "test").glob("*.*"))[:n]
    for f in files:
        shutil.copy(f, folder / f.name)
    return sorted(folder.iterdir())


@pytest.mark.parametrize("command", ["convert", "postfilter"])
def test_colliding_output_names_are_refused_before_anything_is_written(checkpoints, demo_corpus, tmp_path, capsys,
                                                                         command):
    inputs = _audio_folder(demo_corpus, tmp_path / "in", 1)
    x, _ = sf.read(inputs[0])
    sf.write(tmp_path / "in" / (inputs[0].stem + ".wav"), x, 16000)  # a.flac beside a.wav
    out = tmp_path / "out"
    extra = ["--source", "kal", "--target", "slt"] if command == "convert" else []
    assert run([command, "--checkpoint", checkpoints[command], *extra, tmp_path / "in", "-o", out]) == 2
    err = capsys.readouterr().err
    assert f"would both be written to {out / (inputs[0].stem + '.wav')}" in err
    assert not out.exists()


@pytest.mark.parametrize("command", ["convert", "postfilter"])
def test_skip_bad_converts_the_rest_and_names_each_bad_file(checkpoints, demo_corpus, tmp_path, capsys, command):
    inputs = _audio_folder(demo_corpus, tmp_path / "in", 2)
    (tmp_path / "in" / "aa_empty.wav").write_bytes(b"")
    (tmp_path / "in" / "ab_corrupt.wav").write_bytes(b"RIFF not really a wav file" * 10)
    sf.write(tmp_path / "in" / "ac_nan.wav", np.full(16000, np.nan), 16000, subtype="FLOAT")
    sf.write(tmp_path / "in" / "ad_silent.wav", np.zeros(16000), 16000)
    extra = ["--source", "kal", "--target", "slt"] if command == "convert" else []
    out = tmp_path / "out"
    # without --skip-bad the first bad file stops the run, named
    assert run([command, "--checkpoint", checkpoints[command], *extra, tmp_path / "in", "-o", out]) == 2
    assert "aa_empty.wav: file is empty" in capsys.readouterr().err
    assert run([command, "--checkpoint", checkpoints[command], *extra, "--skip-bad", tmp_path / "in", "-o", out]) == 0
    captured = capsys.readouterr()
    assert sorted(p.name for p in out.iterdir()) == sorted(p.stem + ".wav" for p in inputs)
    for name, why in [("aa_empty", "file is empty"), ("ab_corrupt", "not a readable audio file"),
                      ("ac_nan", "audio contains NaN or Inf"), ("ad_silent", "audio is silent")]:
        assert f"{name}.wav: {why}" in captured.err
    assert "wrote 2 file(s)" in captured.out or "postfiltered 2 file(s)" in captured.out
    assert "4 input(s) skipped (--skip-bad)" in captured.err


def test_long_inputs_are_converted_in_chunks_by_default_and_bad_chunk_settings_are_refused(checkpoints, tmp_path,
                                                                                            capsys, demo_corpus):
    from vcgan.models.voice_conversion.converter import DEFAULT_CHUNK_FRAMES, check_chunking

    assert check_chunking(None, 32) == DEFAULT_CHUNK_FRAMES and check_chunking(0, 32) is None
    x = sorted((demo_corpus / "kal" / "test").glob("*.*"))[0]
    for bad, message in [("-5", "--chunk-frames: give a chunk of at least 16 frames"),
                         ("8", "--chunk-frames: give a chunk of at least 16 frames")]:
        assert run(["convert", "--checkpoint", checkpoints["convert"], "--source", "kal", "--target", "slt",
                    "--chunk-frames", bad, x, "-o", tmp_path / "y.wav"]) == 2
        assert message in capsys.readouterr().err
    assert run(["convert", "--checkpoint", checkpoints["convert"], "--source", "kal", "--target", "slt",
                "--chunk-frames", "64", "--chunk-overlap", "40", x, "-o", tmp_path / "y.wav"]) == 2
    assert "--chunk-overlap: give 0 to half the chunk (32 frames), got 40" in capsys.readouterr().err
    assert run(["postfilter", "--checkpoint", checkpoints["postfilter"], "--chunk-frames", "-1", x, "-o",
                tmp_path / "z.wav"]) == 2
    assert "--chunk-frames: give a positive number of frames, got -1" in capsys.readouterr().err
    assert not (tmp_path / "y.wav").exists() and not (tmp_path / "z.wav").exists()
    # an input longer than the chunk converts in overlapping chunks, close to the whole conversion
    model = vcgan.load(checkpoints["convert"]).converter(calibrate=False)
    wave, _ = sf.read(x)
    whole = model.convert_array(wave, "kal", "slt", chunk_frames=0)
    chunked = model.convert_array(wave, "kal", "slt", chunk_frames=128)
    assert whole.shape == chunked.shape and np.corrcoef(whole, chunked)[0, 1] > 0.9


def test_postfilter_weights_that_do_not_fit_are_a_clear_error(checkpoints, tmp_path, capsys, demo_corpus):
    state = torch.load(checkpoints["postfilter"], weights_only=True)
    key = next(k for k in state["model"] if k.startswith("generators."))
    state["model"][key] = torch.zeros(3, 3, 3)
    state["ema"] = None
    bad = tmp_path / "bad.pt"
    torch.save(state, bad)
    x = sorted((demo_corpus / "kal" / "test").glob("*.*"))[0]
    assert run(["postfilter", "--checkpoint", bad, x, "-o", tmp_path / "y.wav"]) == 2
    err = capsys.readouterr().err
    assert f"{bad}: its gan_postfilter weights do not fit" in err and "Traceback" not in err


def test_resuming_from_a_checkpoint_without_training_state_is_refused(checkpoints, tiny_feats, tmp_path):
    from vcgan.training import train

    state = torch.load(checkpoints["convert"], weights_only=True)
    for key in ("optim", "rng", "data"):
        state.pop(key)
    slim = tmp_path / "slim.pt"
    torch.save(state, slim)
    cfg = tiny_config(tiny_feats, tmp_path / "run", **{"train.steps": 3})
    with pytest.raises(CheckpointError, match=r"slim.pt: cannot resume training from it: it holds no optim, rng, data"):
        train(cfg, resume=slim)
    assert not (tmp_path / "run" / "checkpoints").exists()


def test_a_corrupt_prepared_feature_file_is_named(tiny_feats, tmp_path):
    from vcgan.features.cache import FeatureStore

    feats = tmp_path / "feats"
    shutil.copytree(tiny_feats, feats)
    store = FeatureStore(feats)
    entry = feats / store.manifest["kal"]["train"][0]["npz"]
    entry.write_bytes(entry.read_bytes()[:100])
    with pytest.raises(VcganError, match=rf"{entry.name}: prepared features unreadable \(BadZipFile"):
        store.utterances("kal", "train")


def test_translate_refuses_a_decompression_bomb_and_skip_bad_translates_the_rest(checkpoints, tmp_path, capsys):
    from PIL import Image

    from image_gans.data import load_fashion_mnist

    folder = tmp_path / "in"
    folder.mkdir()
    images, labels = load_fashion_mnist("test", FMNIST)
    Image.fromarray(images[labels == 7][0]).save(folder / "a.png")
    Image.fromarray(images[labels == 7][1]).save(folder / "b.png")
    (folder / "c.png").write_bytes(b"\x89PNG garbage")
    side = int((Image.MAX_IMAGE_PIXELS * 2) ** 0.5) + 2  # over twice PIL's limit: DecompressionBombError
    Image.new("1", (side, side)).save(folder / "d.png")
    out = tmp_path / "out"
    args = ["translate", "--checkpoint", checkpoints["translate"], "--target", "ankle-boot", folder, "-o", out]
    assert run(args) == 2
    assert "c.png: not a readable image" in capsys.readouterr().err and not out.exists()
    assert run(args[:-3] + ["--skip-bad"] + args[-3:]) == 0
    err = capsys.readouterr().err
    assert "d.png: image too large to open safely" in err and "c.png: not a readable image" in err
    assert sorted(p.name for p in out.iterdir()) == ["a.png", "b.png"]
    # two inputs that would write one output name
    Image.fromarray(images[0]).save(folder / "a.jpg")
    assert run(args[:-3] + ["--skip-bad"] + args[-3:]) == 2
    assert "would both be written to" in capsys.readouterr().err


def test_translate_a_folder_in_batches_equals_one_batch(checkpoints, tmp_path):
    """A folder is translated a batch at a time (memory bounded by the batch): the files are
    those of translating it in one batch."""
    from PIL import Image

    from image_gans.data import load_fashion_mnist

    folder = tmp_path / "in"
    folder.mkdir()
    images, labels = load_fashion_mnist("test", FMNIST)
    for i, im in enumerate(images[labels == 7][:5]):
        Image.fromarray(im).save(folder / f"s{i}.png")
    model = vcgan.load(checkpoints["translate"])
    small = model.apply_paths(folder, tmp_path / "small", "ankle-boot", progress=False, batch=2)
    whole = model.apply_paths(folder, tmp_path / "whole", "ankle-boot", progress=False)
    assert len(small) == len(whole) == 5
    for a, b in zip(small, whole):
        assert a.name == b.name and np.array_equal(np.asarray(Image.open(a)), np.asarray(Image.open(b)))


def test_long_inputs_are_converted_in_pieces_cut_at_pauses(checkpoints, demo_corpus, tmp_path, monkeypatch):
    """Above LONG_INPUT_SECONDS an input is analysed, converted and synthesised in pieces
    (bounded memory): same length as the input, and as close to it as the whole conversion."""
    from vcgan.features import FeatureConfig, load_audio, save_audio
    from vcgan.metrics.mcd import analysis_for_metrics, score_features
    from vcgan.models.voice_conversion import converter
    from vcgan.models.voice_conversion.pipeline import (SpeakerStats, convert_in_pieces, convert_waveform, identity,
                                                        quiet_cuts)

    files = sorted((demo_corpus / "kal" / "test").glob("*.*"))[:3]
    x = np.concatenate([load_audio(f, 16000) for f in files])
    cuts = quiet_cuts(x, 16000, every_s=3.0, search_s=1.0)
    assert cuts[0] == 0 and cuts[-1] == len(x) and all(0 < b - a <= 4 * 16000 for a, b in zip(cuts, cuts[1:]))
    frame_energy = np.convolve(x ** 2, np.ones(800) / 800, "same")
    assert all(frame_energy[c] < np.median(frame_energy) for c in cuts[1:-1])  # each cut in a quiet stretch
    cfg, st = FeatureConfig(), SpeakerStats(np.zeros(36), np.ones(36), 4.6, 0.2)
    whole = convert_waveform(x, cfg, st, st)
    pieces = convert_in_pieces(x, cfg, st, [(st, identity)], every_s=3.0, search_s=1.0)[0]
    assert len(pieces) == len(x) and np.isfinite(pieces).all()
    ref = analysis_for_metrics(x, 16000)
    mcd_whole = score_features("w", *ref, *analysis_for_metrics(whole, 16000)).mcd
    mcd_pieces = score_features("p", *ref, *analysis_for_metrics(pieces, 16000)).mcd
    assert abs(mcd_pieces - mcd_whole) < 0.3
    # `vcgan convert` takes that path by the file's length
    monkeypatch.setattr(converter, "LONG_INPUT_SECONDS", 5.0)
    save_audio(tmp_path / "long.wav", x, 16000)
    assert run(["convert", "--checkpoint", checkpoints["convert"], "--source", "kal", "--target", "slt",
                tmp_path / "long.wav", "-o", tmp_path / "out.wav"]) == 0
    y, sr = sf.read(tmp_path / "out.wav")
    assert sr == 16000 and len(y) == len(x)


def test_stargan_stores_its_calibration_at_four_shifts_and_refuses_another_count_without_a_remeasure(
        tiny_feats, tmp_path, capsys, demo_corpus):
    from vcgan.training import train

    cfg = tiny_config(tiny_feats, tmp_path / "run", task="stargan_vc2", **{"train.steps": 1})
    train(cfg)
    ckpt = tmp_path / "run" / "checkpoints" / "latest.pt"
    model = vcgan.load(ckpt)
    assert model.calibration["shifts"] == 4 and len(model.calibration["directions"]) == 6
    x = sorted((demo_corpus / "kal" / "test").glob("*.*"))[0]
    base = ["convert", "--checkpoint", ckpt, "--source", "kal", "--target", "slt", x, "-o"]
    assert run(base + [tmp_path / "a.wav", "--shift-average", "1"]) == 2
    assert "measured on the output averaged over 4 frame shift(s), not 1: give --shift-average 4" in \
        capsys.readouterr().err
    assert run(base + [tmp_path / "b.wav", "--shift-average", "1", "--calibrate", tiny_feats]) == 0
    assert run(base + [tmp_path / "c.wav", "--shift-average", "1", "--no-calibrate"]) == 0
    assert run(base + [tmp_path / "d.wav", "--no-calibrate", "--calibrate", tiny_feats]) == 2
    assert "--calibrate FEATS and --no-calibrate exclude each other" in capsys.readouterr().err
    # the default (4 shifts, stored) equals measuring again at 4 shifts
    assert run(base + [tmp_path / "e.wav"]) == 0 and run(base + [tmp_path / "f.wav", "--calibrate", tiny_feats]) == 0
    np.testing.assert_array_equal(sf.read(tmp_path / "e.wav")[0], sf.read(tmp_path / "f.wav")[0])
    assert not (tmp_path / "a.wav").exists() and not (tmp_path / "d.wav").exists()


def test_a_checkpoint_without_a_stored_calibration_converts_uncalibrated_with_a_note(checkpoints, tmp_path, capsys,
                                                                                    demo_corpus):
    state = torch.load(checkpoints["convert"], weights_only=True)
    state.pop("calibration")
    old = tmp_path / "old.pt"
    torch.save(state, old)
    x = sorted((demo_corpus / "kal" / "test").glob("*.*"))[0]
    assert run(["convert", "--checkpoint", old, "--source", "kal", "--target", "slt", x, "-o", tmp_path / "a.wav"]) == 0
    assert "holds no output calibration" in capsys.readouterr().err
    assert run(["convert", "--checkpoint", old, "--no-calibrate", "--source", "kal", "--target", "slt", x, "-o",
                tmp_path / "b.wav"]) == 0
    np.testing.assert_array_equal(sf.read(tmp_path / "a.wav")[0], sf.read(tmp_path / "b.wav")[0])
    assert run(["convert", "--feats", tmp_path, "--no-calibrate", "--source", "kal", "--target", "slt", x, "-o",
                tmp_path / "c.wav"]) == 2
    assert "--no-calibrate leaves a trained model's output as it is: give --checkpoint too" in capsys.readouterr().err


def test_an_output_that_is_an_input_is_refused(checkpoints, demo_corpus, tmp_path, capsys):
    inputs = _audio_folder(demo_corpus, tmp_path / "in", 1)
    wav = tmp_path / "in" / "x.wav"
    sf.write(wav, sf.read(inputs[0])[0], 16000)
    before = wav.read_bytes()
    assert run(["postfilter", "--checkpoint", checkpoints["postfilter"], wav, "-o", wav]) == 2
    assert f"{wav} is an input file: writing there would overwrite it" in capsys.readouterr().err
    assert wav.read_bytes() == before


def test_translate_one_image_to_a_png_path_and_the_untrained_baseline(checkpoints, tmp_path):
    from PIL import Image

    from image_gans.data import load_fashion_mnist

    images, labels = load_fashion_mnist("test", FMNIST)
    Image.fromarray(images[labels == 7][0]).save(tmp_path / "s.png")
    assert run(["translate", "--checkpoint", checkpoints["translate"], "--target", "ankle-boot", tmp_path / "s.png",
                "-o", tmp_path / "boot.png"]) == 0
    assert Image.open(tmp_path / "boot.png").size == (28, 28)
    model = vcgan.load(checkpoints["translate"])
    untrained = type(model)(model.path, model.checkpoint, model.family, untrained=True)
    x = model.read(tmp_path / "s.png")[None]
    trained_out, untrained_out = model.translate(x, "ankle-boot"), untrained.translate(x, "ankle-boot")
    assert not torch.equal(trained_out, untrained_out)
    again = type(model)(model.path, model.checkpoint, model.family, untrained=True).translate(x, "ankle-boot")
    assert torch.equal(untrained_out, again)  # the baseline is the seeded initialisation, the same every time
    assert np.allclose(np.asarray(Image.open(tmp_path / "boot.png"), np.float64) / 127.5 - 1,
                       trained_out[0, 0].numpy(), atol=1 / 127)
