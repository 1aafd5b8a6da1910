"""The recipes end to end (every stage) on a few real utterances and a tiny model."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, make_unpaired_root

TINY = ["model.channels=8", "model.disc_channels=8", "data.segment_frames=32", "data.batch_size=2",
        "train.steps=2", "train.progress=false", "train.sample_every=0"]


def _recipe_copy(tmp_path: Path, name: str) -> Path:
    """The recipe and the shared helpers, in a scratch tree (so dump/ and exp/ land there)."""
    shutil.copytree(ROOT / "recipes" / "common", tmp_path / "recipes" / "common", dirs_exist_ok=True)
    shutil.copytree(ROOT / "recipes" / name, tmp_path / "recipes" / name, ignore=shutil.ignore_patterns("exp", "dump"))
    return tmp_path / "recipes" / name / "run.sh"


def _generic_corpus(tiny_corpus: Path, root: Path, speakers) -> None:
    """ROOT/train/<spk>/*.flac and ROOT/test/<spk>/*.flac (the same test file names for everyone)."""
    for spk in speakers:
        for split in ("train", "test"):
            shutil.copytree(tiny_corpus / spk / split, root / split / spk)


def _run(script: Path, *args):
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    proc = subprocess.run(["bash", str(script), *args], cwd=script.parent.parent.parent, env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


def test_stargan_recipe_all_stages_generic_layout(tiny_corpus, tmp_path):
    script = _recipe_copy(tmp_path, "stargan_vc2")
    _generic_corpus(tiny_corpus, tmp_path / "data", ["kal", "ked", "slt"])
    _run(script, "--corpus", "data/train", "--test-root", "data/test", "--speakers", "kal ked slt", "--tag", "t",
         "--jobs", "2", "--anchor", "1-4=0.5", "--", *TINY)
    ev = script.parent / "exp" / "t" / "eval"
    for system in ("no_conversion", "statistics_transform", "model", "model_calibrated", "model_anchored"):
        report = json.loads((ev / f"{system}.json").read_text())
        assert set(report["directions"]) == {f"{s}_to_{t}" for s in ("kal", "ked", "slt")
                                             for t in ("kal", "ked", "slt") if s != t}, report.keys()
        assert all(r["files"] == 2 for r in report["directions"].values())
    summary = (ev / "summary.md").read_text()
    assert "kal_to_slt" in summary and "average" in summary
    comp = json.loads((ev / "comparison.json").read_text())
    model = json.loads((ev / "model.json").read_text())["directions"]
    stats = json.loads((ev / "statistics_transform.json").read_text())["directions"]
    assert comp["directions_beating_baseline"]["model"] == sum(model[d]["mcd"] <= stats[d]["mcd"] - 0.5 for d in model)
    assert "model - statistics_transform" in summary and "model_calibrated - statistics_transform" in summary
    assert "model_anchored - statistics_transform" in summary
    anchored = json.loads((ev / "model_anchored.json").read_text())["directions"]
    calibrated = json.loads((ev / "model_calibrated.json").read_text())["directions"]
    assert all(anchored[d]["mcd"] != calibrated[d]["mcd"] for d in anchored)  # a different conversion


def test_stargan_recipe_vcc2018_layout(tiny_corpus, tmp_path):
    """Source speakers' test files in vcc2018_evaluation (the same sentence ids for all), as in VCC2018."""
    script = _recipe_copy(tmp_path, "stargan_vc2")
    root = tmp_path / "vcc2018"
    for spk, vcc in (("kal", "VCC2SM1"), ("slt", "VCC2SF1")):
        for split, sub, first in (("train", "vcc2018_training", 10001), ("test", "vcc2018_evaluation", 30001)):
            (root / sub / vcc).mkdir(parents=True)
            for i, f in enumerate(sorted((tiny_corpus / spk / split).glob("*.flac"))):
                shutil.copy(f, root / sub / vcc / f"{first + i}.flac")
    _run(script, "--corpus", str(root), "--speakers", "VCC2SM1 VCC2SF1", "--tag", "t", "--jobs", "2",
         "--stop-stage", "3", "--", *TINY)  # scoring is the generic-layout test's
    converted = script.parent / "exp" / "t" / "converted"
    assert not (converted / "model_anchored").exists()  # only with --anchor
    for system in ("model", "model_calibrated", "statistics_transform", "no_conversion"):
        found = {d.name: len(list(d.glob("*.*"))) for d in (converted / system).iterdir()}
        assert found == {"VCC2SM1_to_VCC2SF1": 2, "VCC2SF1_to_VCC2SM1": 2}, (system, found)


def test_cyclegan_recipe_split_layout(tiny_corpus, tmp_path):
    script = _recipe_copy(tmp_path, "cyclegan_vc2")
    _run(script, "--corpus", str(tiny_corpus), "--src", "kal", "--tgt", "slt", "--tag", "t", "--jobs", "2", "--", *TINY)
    ev = script.parent / "exp" / "t" / "eval"
    systems = ("no_conversion", "statistics_transform", "model", "model_calibrated")
    scores = {s: json.loads((ev / f"{s}.json").read_text()) for s in systems}
    for system, report in scores.items():
        assert list(report["directions"]) == ["kal_to_slt"], system  # one name, so the systems compare
        (only,) = report["directions"].values()
        assert only["files"] == 2 and only["mcd"] > 0, system
    summary = (ev / "summary.md").read_text()
    assert "model_calibrated - statistics_transform" in summary, summary
    assert scores["model_calibrated"]["directions"] != scores["model"]["directions"]


def test_recipe_rejects_unknown_option_and_missing_config(tmp_path):
    script = _recipe_copy(tmp_path, "stargan_vc2")
    proc = subprocess.run(["bash", str(script), "--speakrs", "a b"], capture_output=True, text=True)
    assert proc.returncode == 2 and "unknown option --speakrs" in proc.stderr
    proc = subprocess.run(["bash", str(script), "--anchor", "c1"], capture_output=True, text=True)
    assert proc.returncode == 2 and "--anchor must be none or DIM[-DIM]=WEIGHT" in proc.stderr, proc.stderr
    for bad in ("0", "four", "-1"):
        proc = subprocess.run(["bash", str(script), "--shift-average", bad], capture_output=True, text=True)
        assert proc.returncode == 2 and "--shift-average must be a whole number" in proc.stderr, proc.stderr
    for name in ("stargan_vc2", "cyclegan_vc2"):
        script = _recipe_copy(tmp_path / name, name)
        proc = subprocess.run(["bash", str(script), "--conf", "conf/nope.yaml"], capture_output=True, text=True)
        assert proc.returncode == 1 and "conf/nope.yaml not found" in proc.stderr, proc.stderr
        assert not (script.parent / "exp").exists() and not (script.parent / "dump").exists()


IMAGE_TINY = {
    "image_cyclegan": ["model.ngf=4", "model.ndf=4", "model.blocks=1"],
    "image_stargan": ["model.conv_dim=4", "model.blocks=1", "train.optim.g.every=2"],
    "pix2pix": ["model.ngf=4", "model.ndf=4"],
}


def test_image_recipes_all_stages_on_the_committed_fashion_mnist_subset(tmp_path):
    subset = ROOT / "tests" / "data" / "fashion-mnist"
    classifier = tmp_path / "classifier.pt"
    for name, tiny in IMAGE_TINY.items():
        script = _recipe_copy(tmp_path, name)
        proc = _run(script, "--root", str(subset), "--classifier", str(classifier), "--tag", "t",
                    "--max-eval-images", "10", "--", *tiny, "data.batch_size=2", "train.steps=2",
                    "train.progress=false", "train.sample_every=0")
        assert "stage 3" in proc.stdout and ("cached" in proc.stdout) == (name != "image_cyclegan")
        eval_dir = script.parent / "exp" / "t" / "eval"
        report = json.loads((eval_dir / "scores.json").read_text())
        assert report["family"] == name and "real vs real (floor)" in report["systems"]
        assert (eval_dir / "grid.png").is_file()
        if name == "pix2pix":
            assert {"psnr", "ssim", "l1", "fid"} <= set(report["systems"]["model"]["test"])
    proc = subprocess.run(["bash", str(script), "--bogus", "1"], capture_output=True, text=True)
    assert proc.returncode == 2 and "unknown option --bogus" in proc.stderr


def test_stylegan_recipe_all_stages_with_the_dcgan_in_the_table(tmp_path):
    subset = ROOT / "tests" / "data" / "fashion-mnist"
    classifier = tmp_path / "classifier.pt"
    script = _recipe_copy(tmp_path, "stylegan")
    common = ["data.batch_size=4", "train.steps=2", "train.progress=false", "train.sample_every=0"]
    _run(script, "--root", str(subset), "--classifier", str(classifier), "--conf", "conf/dcgan.yaml",
         "--stop-stage", "2", "--", "model.g_channels=16", "model.d_channels=16", *common)
    dcgan = script.parent / "exp" / "dcgan" / "train" / "checkpoints" / "latest.pt"
    proc = _run(script, "--root", str(subset), "--classifier", str(classifier), "--tag", "t", "--samples", "40",
                "--compare", str(dcgan), "--", "model.channel_base=128", "model.channel_max=16", "model.z_dim=16",
                "model.w_dim=16", *common)
    assert "stage 4" in proc.stdout and "cached" in proc.stdout
    exp = script.parent / "exp" / "t"
    assert {"grid.png", "mixing.png", "truncation.png", "interpolation.png"} <= {p.name for p in (exp / "samples").iterdir()}
    report = json.loads((exp / "eval" / "scores.json").read_text())
    assert list(report["systems"]) == ["t", "dcgan", "t (untrained)", "real vs real (floor)"] and report["samples"] == 40


def test_glcic_recipe_all_stages_scores_glcic_beside_its_phase_1_and_the_classical_fills(tmp_path):
    subset = ROOT / "tests" / "data" / "fashion-mnist"
    script = _recipe_copy(tmp_path, "glcic")
    proc = _run(script, "--data", "fashion_mnist", "--root", str(subset), "--classifier", str(tmp_path / "cls.pt"),
                "--tag", "t", "--", "model.width=8", "model.d_width=8", "model.d_max_width=16", "model.d_fc=16",
                "data.batch_size=4", "train.steps=6", "train.progress=false", "train.sample_every=0",
                "train.optim.g.every=[[0, 1], [2, 0], [4, 1]]", "train.optim.d.every=[[0, 0], [2, 1]]",
                "loss.alpha=[[0, 0.0], [4, 0.0004]]")
    assert "stage 4" in proc.stdout
    exp = script.parent / "exp" / "t"
    ends = sorted(p.name for p in (exp / "train" / "checkpoints").glob("phase_end_*.pt"))
    assert ends == ["phase_end_00000002.pt", "phase_end_00000004.pt"]  # after phase 1 (scored) and phase 2
    for m in ("rectangle", "free_form", "border"):
        assert len(list((exp / "completions" / m).glob("*.png"))) == 4
    report = json.loads((exp / "eval_test" / "scores.json").read_text())
    assert {"model", "model + Poisson blending", "phase 1 (MSE only)", "mean fill", "telea", "biharmonic",
            "harmonic", "untrained network"} <= set(report["systems"])
    assert (exp / "eval_test" / "grid.png").is_file()
    # new held-out holes for a second reading of the test images, beside the first report
    _run(script, "--data", "fashion_mnist", "--root", str(subset), "--classifier", str(tmp_path / "cls.pt"),
         "--tag", "t", "--stage", "4", "--mask-seed", "7")
    again = json.loads((exp / "eval_test_seed7" / "scores.json").read_text())
    assert again["mask_seed"] == 7 and report["mask_seed"] == 2017
    assert again["systems"]["biharmonic"]["psnr"] != report["systems"]["biharmonic"]["psnr"]


def test_wavecyclegan_recipe_trains_filters_and_evaluates_on_given_unpaired_data(tmp_path, demo_corpus):
    """Stages 1-4 on ROOT/{synthetic,natural}/{train,test} (stage 0 makes festival data from text)."""
    root = make_unpaired_root(tmp_path / "unpaired", 3, 1, demo_corpus)
    script = _recipe_copy(tmp_path, "wavecyclegan")
    for version in ("1", "2"):
        proc = _run(script, "--pairs", str(root), "--version", version, "--tag", f"v{version}", "--jobs", "1", "--",
                    "data.crop=2048", "data.batch_size=2", "model.channels=4", "model.res_blocks=1",
                    "model.wave_d.channels=4", "model.wave_d.downsamplings=2", "model.mel_d.channels=4",
                    "model.mel.n_fft=512", "model.mel.n_mels=40", "train.steps=2", "train.progress=false")
        assert "stage 0" not in proc.stdout and "stage 4" in proc.stdout
        exp = script.parent / "exp" / f"v{version}" / "eval"
        report = json.loads((exp / "test" / "postfilter.json").read_text())
        assert list(report["systems"]) == ["synthetic", "GV scaling", f"WaveCycleGAN{'2' if version == '2' else ''}"]
        sweep = json.loads((exp / "tone_sweep.json").read_text())
        assert len(next(iter(sweep.values()))["tones_hz"]) == 10


def test_postfilter_recipe_trains_filters_and_evaluates_on_given_pairs(tmp_path, festival_pairs):
    """Stages 3-6 on a pair corpus made from the festival fixture (stages 0-2 make one from text)."""
    pairs = festival_pairs
    script = _recipe_copy(tmp_path, "gan_postfilter")
    for kind, extra in (("mcep", []), ("stft", ["model.n_bands=3", "model.band_overlap=8"])):
        proc = _run(script, "--kind", kind, "--pairs", str(pairs), "--tag", kind, "--jobs", "1", "--",
                    "model.g_channels=[4,8,4]", "model.d_channels=[4,4,4,4]", "data.segment_frames=32",
                    "data.batch_size=2", "train.steps=2", "train.progress=false", *extra)
        assert "stage 0" not in proc.stdout and "stage 6" in proc.stdout
        report = json.loads((script.parent / "exp" / kind / "eval" / "test" / "postfilter.json").read_text())
        assert set(report["systems"]) == {"synthetic", "GV scaling", "GAN postfilter"} and report["files"] == 1
        assert ("natural_edge_jump" in report) == (kind == "stft")
    # the same filter judged on the development sentences (the last training sentence, never trained on)
    proc = _run(script, "--pairs", str(pairs), "--tag", "mcep", "--jobs", "1", "--stage", "5", "--eval-set", "dev")
    assert "stage 4" not in proc.stdout
    report = json.loads((script.parent / "exp" / "mcep" / "eval" / "dev" / "postfilter.json").read_text())
    assert report["files"] == 1 and report["natural_dir"].endswith("natural/dev")


@pytest.mark.parametrize("name, stages, expected_calls", [
    ("cyclegan_vc2", ("1", "2"), ["prepare", "train"]), ("stargan_vc2", ("1", "2"), ["prepare", "train"]),
    ("gan_postfilter", ("3", "4"), ["prepare", "train"]), ("image_cyclegan", ("2", "2"), ["train"]),
    ("image_stargan", ("2", "2"), ["train"]), ("pix2pix", ("2", "2"), ["train"])])
def test_recipes_survive_being_edited_while_they_run(tmp_path, name, stages, expected_calls):
    """Editing run.sh during a long run (a common habit with stage-based recipes) must not change that
    run: bash reads a script as it goes, so each recipe is one compound command, read whole first.
    A stand-in `vcgan` inserts a line at the top of the running script at its first call; without the
    braces bash then runs whatever its old read offset points at (garbage, or earlier stages again)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "calls.log"
    fake = bin_dir / "vcgan"
    fake.write_text("#!/usr/bin/env bash\n"
                    f'echo "$1" >> "{log}"\n'
                    'script="$RECIPE_UNDER_TEST"\n'
                    'if [ ! -e "$script.edited" ]; then\n'
                    '  touch "$script.edited"\n'
                    '  { head -n 1 "$script"; printf "# an edit made while the recipe runs %.0s" {1..40}; echo;\n'
                    '    tail -n +2 "$script"; } > "$script.new"\n'
                    '  cat "$script.new" > "$script"   # in place: the running shell keeps its file offset\n'
                    'fi\n')
    fake.chmod(0o755)
    script = _recipe_copy(tmp_path, name)
    env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}", RECIPE_UNDER_TEST=str(script))
    proc = subprocess.run(["bash", str(script), "--stage", stages[0], "--stop-stage", stages[1]],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert proc.returncode == 0, (proc.stdout, proc.stderr)
    assert (script.parent / "run.sh.edited").exists()  # the edit happened during the run
    calls = log.read_text().split()
    assert calls == expected_calls, calls  # each stage once


def _stand_in(tmp_path: Path) -> tuple[dict, Path]:
    """An environment whose `vcgan` only logs its arguments (one call a line)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    log = tmp_path / "calls.log"
    (bin_dir / "vcgan").write_text(f'#!/usr/bin/env bash\necho "$*" >> "{log}"\n')
    (bin_dir / "vcgan").chmod(0o755)
    return dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}"), log


def test_own_speakers_without_references_get_conversions_and_a_note_instead_of_a_failure(tmp_path):
    """A user's own speakers with no parallel reference recordings: the recipes convert what they
    can and say that scoring was skipped, instead of stopping at stages 3-4."""
    env, log = _stand_in(tmp_path)
    corpus = tmp_path / "mine"
    for spk in ("ann", "ben"):
        (corpus / spk).mkdir(parents=True)
    (tmp_path / "held").mkdir()
    script = _recipe_copy(tmp_path, "cyclegan_vc2")
    # no test files at all: nothing to convert, nothing to score
    proc = subprocess.run(["bash", str(script), "--corpus", str(corpus), "--layout", "generic", "--src", "ann",
                           "--tgt", "ben", "--stage", "3"], capture_output=True, text=True, env=env, cwd=tmp_path,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "stage 3: skipped: no source test files" in proc.stdout and "stage 4: scoring skipped" in proc.stdout
    assert not log.exists()
    # source test files but no references: converted, scoring skipped with the reason
    proc = subprocess.run(["bash", str(script), "--corpus", str(corpus), "--layout", "generic", "--src", "ann",
                           "--tgt", "ben", "--test-src-dir", str(tmp_path / "held"), "--stage", "3"],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert proc.returncode == 0, proc.stderr
    calls = log.read_text().splitlines()
    assert [c.split()[0] for c in calls] == ["convert", "convert", "convert"]
    assert "--no-calibrate" in calls[0] and "no parallel reference recordings of ben" in proc.stdout
    # StarGAN-VC2: speakers without test files are skipped as sources; scoring skipped, named
    log.unlink()
    script = _recipe_copy(tmp_path, "stargan_vc2")
    (tmp_path / "tests" / "ann").mkdir(parents=True)
    proc = subprocess.run(["bash", str(script), "--corpus", str(corpus), "--layout", "generic", "--speakers",
                           "ann ben", "--test-root", str(tmp_path / "tests"), "--stage", "3"],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "ben: no test files to convert" in proc.stdout
    assert "scoring skipped: no parallel reference recordings of ben" in proc.stdout
    assert all(c.startswith("convert --source ann") for c in log.read_text().splitlines())


def test_image_recipes_on_other_data_need_no_fashion_mnist(tmp_path):
    env, log = _stand_in(tmp_path)
    (tmp_path / "data").mkdir()
    script = _recipe_copy(tmp_path, "image_cyclegan")
    proc = subprocess.run(["bash", str(script), "--layout", "folders", "--root", str(tmp_path / "data"),
                           "--domains", "horse zebra"], capture_output=True, text=True, env=env, cwd=tmp_path,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "stage 1: skipped" in proc.stdout
    calls = log.read_text().splitlines()
    assert [c.split()[0] for c in calls] == ["train", "evaluate-images"]
    assert "--classifier" not in calls[1] and "--fashion-mnist" not in calls[1]
