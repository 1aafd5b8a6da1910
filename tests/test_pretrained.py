"""Models usable without training: `vcgan export` (inference-only copies that apply exactly as
their checkpoints do and refuse to resume), the shipped models (each loaded through its
manifest's SHA-256, applied to a fixture and compared with the output recorded when it was
built), `vcgan models`, `--model NAME`, `vcgan.load(NAME)`, and the pitch shift of `vcgan convert`."""
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

import vcgan
from vcgan import pretrained
from vcgan.cli import main as cli
from vcgan.errors import CheckpointError

FMNIST = Path(__file__).parent / "data" / "fashion-mnist"
FIXTURES = Path(__file__).parent / "data"


def run(args) -> int:
    return cli([str(a) for a in args])


@pytest.fixture(scope="module")
def trained(applied_kinds):
    """A voice-conversion checkpoint (calibration stored), an image CycleGAN and a GLCIC network."""
    return {"vc": applied_kinds["vc"], "img": applied_kinds["img"], "glcic": applied_kinds["fill"]}


def test_an_export_applies_exactly_as_its_checkpoint_at_a_fraction_of_the_size(trained, demo_corpus, tmp_path,
                                                                              capsys):
    wav = demo_corpus / "kal" / "test" / "test_001.flac"
    for kind, ckpt in trained.items():
        out = tmp_path / f"{kind}.pt"
        assert run(["export", "--checkpoint", ckpt, "-o", out]) == 0
        assert f"wrote {out}" in capsys.readouterr().out
        assert out.stat().st_size < 0.6 * ckpt.stat().st_size  # no discriminators, optimizer or RNG state
        state = torch.load(out, weights_only=True)
        assert state["inference_only"] and not any(k.startswith("discriminators.") for k in state["model"])
        assert "optim" not in state and "rng" not in state
        a, b = vcgan.load(ckpt), vcgan.load(out)
        da, db = a.describe(), b.describe()
        da.pop("checkpoint"), db.pop("checkpoint")
        assert da == db
        assert run(["export", "--half", "--checkpoint", ckpt, "-o", tmp_path / f"{kind}_half.pt"]) == 0
        c = vcgan.load(tmp_path / f"{kind}_half.pt")
        assert (tmp_path / f"{kind}_half.pt").stat().st_size < 0.8 * out.stat().st_size  # metadata stays
        if kind == "vc":
            x, _ = sf.read(wav)
            x = x.astype(np.float64)
            np.testing.assert_array_equal(a.apply(x, "kal", "slt"), b.apply(x, "kal", "slt"))
            ya, yc = a.apply(x, "kal", "slt"), c.apply(x, "kal", "slt")
            assert 10 * np.log10(np.sum(ya ** 2) / np.sum((ya - yc) ** 2)) > 30  # float16 storage: close
        elif kind == "img":
            x = torch.rand(3, 1, 28, 28) * 2 - 1
            assert torch.equal(a.apply(x, "ankle-boot"), b.apply(x, "ankle-boot"))
            assert (a.apply(x, "ankle-boot") - c.apply(x, "ankle-boot")).abs().max() < 0.02
        else:
            x, mask = torch.rand(2, 1, 32, 32) * 2 - 1, torch.zeros(2, 1, 32, 32)
            mask[:, :, 8:20, 4:16] = 1
            assert torch.equal(a.apply(x, mask), b.apply(x, mask))
            assert (a.apply(x, mask) - c.apply(x, mask)).abs().max() < 0.02


def test_export_refuses_to_overwrite_or_to_read_what_is_not_a_checkpoint(trained, tmp_path, capsys):
    out = tmp_path / "model.pt"
    out.write_bytes(b"keep me")
    assert run(["export", "--checkpoint", trained["img"], "-o", out]) == 2
    assert f"{out} exists: choose another -o or pass --force" in capsys.readouterr().err
    assert out.read_bytes() == b"keep me"
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    assert run(["export", "--checkpoint", bad, "-o", tmp_path / "x.pt"]) == 2
    assert f"{bad}: not a readable vcgan checkpoint" in capsys.readouterr().err
    assert not (tmp_path / "x.pt").exists()
    assert run(["export", "--checkpoint", trained["img"], "-o", trained["img"], "--force"]) == 2
    assert "is the checkpoint itself" in capsys.readouterr().err


def test_an_exported_model_cannot_resume_training(trained, tmp_path, capsys):
    from vcgan.engine.checkpoint import export_inference

    out_dir = tmp_path / "run"
    export_inference(trained["img"], out_dir / "checkpoints" / "latest.pt")
    assert run(["train", "task=image_cyclegan", f"data.root={FMNIST}", f"out_dir={out_dir}", "model.ngf=4",
                "model.ndf=4", "model.blocks=1", "data.batch_size=2", "train.steps=2", "train.progress=false"]) == 2
    assert "cannot resume training from it: it holds no optim, rng, data (a checkpoint for inference only)" in \
        capsys.readouterr().err


# ---------------------------------------------------------------- the shipped models
SHIPPED = pretrained.names()


def test_a_model_ships_for_every_journey_each_small_and_with_a_complete_card():
    # voice conversion (both families), both postfilters, the three image translators, completion
    assert {"stargan-vc2-kal-ked-slt", "cyclegan-vc2-kal-slt", "postfilter-mcep-kal", "postfilter-stft-kal",
            "cyclegan-sneaker-boot", "stargan-fashion-tops", "pix2pix-edges-fashion",
            "glcic-fashion-mnist"} <= set(SHIPPED)
    for name in SHIPPED:
        e = pretrained.manifest()[name]
        assert e["bytes"] < 8e6, f"{name}: {e['bytes'] / 1e6:.1f} MB"
        card = pretrained.card(name)
        for key in ("recipe", "config", "data_license", "intended_use", "scores_markdown", "training"):
            assert card[key], f"{name}: card lacks {key}"
        assert card["training"]["steps"] > 0 and card["sha256"] == e["sha256"]
        assert "## Held-out scores" in pretrained.card_markdown(name)


@pytest.mark.parametrize("name", SHIPPED)
def test_each_shipped_model_reproduces_its_recorded_output_on_a_fixture(name):
    from vcgan.pretrained.check import compare, summarise

    check = pretrained.manifest()[name]["check"]
    model = vcgan.load(name)
    assert model.describe()["task"] == pretrained.manifest()[name]["task"]
    got = summarise(model, check, FIXTURES)
    assert compare(got, check["expected"]) == []


def _copy_of_the_shipped_models(tmp_path, monkeypatch) -> Path:
    here = tmp_path / "pretrained"
    shutil.copytree(pretrained.HERE, here, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    monkeypatch.setattr(pretrained, "HERE", here)
    monkeypatch.setattr(pretrained, "MANIFEST", here / "manifest.json")
    pretrained._verified.clear()
    return here


def test_a_changed_shipped_file_is_refused_by_its_checksum(tmp_path, monkeypatch, capsys):
    here = _copy_of_the_shipped_models(tmp_path, monkeypatch)
    name = SHIPPED[0]
    f = here / pretrained.manifest()[name]["file"]
    data = bytearray(f.read_bytes())
    data[-100] ^= 0xFF
    f.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match=f"shipped model '{name}': .* does not match its manifest"):
        vcgan.load(name)
    assert run(["info", name]) == 2
    assert "does not match its manifest" in capsys.readouterr().err
    f.unlink()
    with pytest.raises(CheckpointError, match="is missing from this installation; reinstall vcgan"):
        pretrained.path(name)


def test_models_lists_each_shipped_model_and_unknown_names_are_named(capsys):
    assert run(["models"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == len(SHIPPED)
    for name, line in zip(SHIPPED, out):
        e = pretrained.manifest()[name]
        assert line.startswith(name) and e["task"] in line and e["score"] in line and " MB" in line
    assert run(["models", "--card", SHIPPED[0]]) == 0
    assert "## Held-out scores" in capsys.readouterr().out
    with pytest.raises(CheckpointError, match=r"no shipped model named 'nope' \(and no file of that name\); "
                                              "the shipped models are: "):
        vcgan.load("nope")
    assert run(["translate", "--model", "nope", str(FMNIST), "-o", "x"]) == 2
    assert "no shipped model named 'nope'" in capsys.readouterr().err


def test_convert_with_the_shipped_model_by_name(demo_corpus, tmp_path, capsys):
    wav = demo_corpus / "kal" / "test" / "test_001.flac"
    out = tmp_path / "out.wav"
    assert run(["convert", "--model", "stargan-vc2-kal-ked-slt", "--source", "kal", "--target", "slt", wav,
                "-o", out]) == 0
    y, sr = sf.read(out)
    direct = vcgan.load("stargan-vc2-kal-ked-slt").apply(sf.read(wav)[0].astype(np.float64), "kal", "slt")
    assert sr == 16000 and np.abs(y - direct).max() < 1e-3  # the file holds the 16-bit conversion
    with pytest.raises(SystemExit):
        run(["convert", "--model", "stargan-vc2-kal-ked-slt", "--checkpoint", "x.pt", "--source", "kal",
             "--target", "slt", wav, "-o", out])
    assert "not allowed with argument" in capsys.readouterr().err


def test_pitch_shift_moves_the_converted_f0_by_the_semitones_given(tiny_feats, demo_corpus, tmp_path, capsys):
    import pyworld

    wav = demo_corpus / "kal" / "test" / "test_002.flac"

    def median_f0(path):
        y, sr = sf.read(path)
        f0, _ = pyworld.harvest(y.astype(np.float64), sr, frame_period=5.0)
        return np.median(f0[f0 > 0])

    outs = {}
    for semitones in (0, 12, -5):
        outs[semitones] = tmp_path / f"shift{semitones}.wav"
        assert run(["convert", "--feats", tiny_feats, "--source", "kal", "--target", "slt", "--pitch-shift",
                    semitones, wav, "-o", outs[semitones]]) == 0
    base = median_f0(outs[0])
    assert median_f0(outs[12]) / base == pytest.approx(2.0, rel=0.03)
    assert median_f0(outs[-5]) / base == pytest.approx(2 ** (-5 / 12), rel=0.03)
    assert run(["convert", "--feats", tiny_feats, "--source", "kal", "--target", "slt", "--pitch-shift", 30, wav,
                "-o", tmp_path / "no.wav"]) == 2
    assert "pitch shift: give -24 to 24 semitones, got 30.0" in capsys.readouterr().err
    assert not (tmp_path / "no.wav").exists()


def test_the_shipping_recipe_knows_every_shipped_model_and_names_an_unknown_one():
    import re
    import subprocess

    script = Path(__file__).resolve().parents[1] / "recipes" / "pretrained" / "run.sh"
    text = script.read_text()
    block = text[text.index("declare -A run=("):]
    runs = set(re.findall(r"^\s+\[([a-z0-9-]+)\]=", block[:block.index("\n)\n")], re.M))
    specs = {p.stem for p in (script.parent / "specs").glob("*.json")}
    assert set(SHIPPED) <= runs == specs, (sorted(runs ^ specs), sorted(set(SHIPPED) - runs))
    proc = subprocess.run(["bash", str(script), "--models", "no-such-model", "--stage", "2"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "no shipped model named no-such-model" in proc.stderr
