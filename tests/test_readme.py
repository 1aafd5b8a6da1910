"""README.md as a user reads it: every command in it is one the project accepts, and the
"convert your own two speakers" journey runs as written on the committed fixtures."""
import re
import shlex
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import vcgan
from vcgan.cli import build_parser
from vcgan.cli import main as cli

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
# what the README's placeholders stand for, on the fixtures
PLACEHOLDERS = {"alice": "kal", "bob": "slt", "carol": "ked"}


def placeholders(text: str) -> str:
    return re.sub(r"\b(alice|bob|carol)\b", lambda m: PLACEHOLDERS[m.group(1)], text)


def shell_lines() -> list[str]:
    """Command lines of the README's ```sh blocks (comments and continuation lines joined)."""
    lines = []
    for block in re.findall(r"```sh\n(.*?)```", README, re.S):
        for line in block.replace("\\\n", " ").splitlines():
            line = line.split("  #")[0].strip()
            if line and not line.startswith("#"):
                lines.append(line)
    return lines


def test_the_readme_stays_a_guide():
    assert len(README.splitlines()) <= 365
    for heading in ("## Install", "## Quick start", "## Use it without training", "## Convert your own two speakers",
                    "## Many speakers",
                    "## Postfilter your own TTS output", "## Postfilter without pairs", "## Train an image translator", "## Generate images",
                    "## Results",
                    "## Command reference"):
        assert heading in README
    assert "real speech" not in README.lower()


def test_every_vcgan_command_in_the_readme_parses():
    parser = build_parser()
    commands = [c for line in shell_lines() for c in line.split("&&") if c.strip().startswith("vcgan ")]
    assert {shlex.split(c)[1] for c in commands} >= {"prepare", "train", "info", "convert", "postfilter",
                                                     "translate", "evaluate", "evaluate-images", "demo", "sample"}
    for command in commands:
        # the reference's notation: [optional parts] left out, A|B as its first alternative
        args = [a.split("|")[0] for a in shlex.split(re.sub(r"\[[^\]]*\]", "", command))[1:]]
        try:
            parser.parse_args(args)
        except SystemExit:
            pytest.fail(f"README command does not parse: {command}")


@pytest.mark.parametrize("line", [ln for ln in shell_lines() if ln.startswith("recipes/")])
def test_every_recipe_command_in_the_readme_takes_its_options(line, tiny_corpus, tmp_path):
    """The recipe accepts the options as written (run with no stage selected: options are
    parsed and checked, nothing is computed)."""
    args = shlex.split(line)
    for i, a in enumerate(args):
        if a in ("/data/wavs", "ROOT"):
            args[i] = str(tiny_corpus)
        args[i] = placeholders(args[i])
    proc = subprocess.run(["bash", *args, "--stage", "99"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]


def test_the_two_speaker_journey_runs_as_written(tiny_corpus, tmp_path, monkeypatch):
    """The README's "by hand" commands (prepare, train, convert) on the fixture corpus, with the
    training shortened, write converted speech of the source sentences in the target's voice."""
    block = README.split("The same by hand")[1].split("```sh")[1].split("```")[0]
    commands = [shlex.split(ln) for ln in block.strip().splitlines()]
    assert [c[:2] for c in commands] == [["vcgan", "prepare"], ["vcgan", "train"], ["vcgan", "convert"]]
    monkeypatch.chdir(tmp_path)
    (tmp_path / "new_alice").mkdir()
    for f in sorted((tiny_corpus / "kal" / "test").glob("*.*")):
        (tmp_path / "new_alice" / f.name).write_bytes(f.read_bytes())
    short = ["model.channels=8", "model.disc_channels=8", "data.segment_frames=32", "train.steps=2",
             "train.max_minutes=null", "train.progress=false"]
    for cmd in commands:
        args = [str(tiny_corpus) if a == "/data/wavs" else placeholders(a) for a in cmd[1:]]
        args = [str(ROOT / a) if a.startswith("recipes/") else a for a in args]
        if cmd[1] == "train":
            args += short
        assert cli(args) == 0, cmd
    out = sorted((tmp_path / "converted").glob("*.wav"))
    assert [p.stem for p in out] == sorted(p.stem for p in (tmp_path / "new_alice").iterdir())
    model = vcgan.load(tmp_path / "exp" / "alice_bob" / "checkpoints" / "latest.pt")
    assert model.speakers == ["kal", "slt"] and model.calibration is not None
    y, sr = sf.read(out[0])
    x, _ = sf.read(next((tmp_path / "new_alice").glob(out[0].stem + ".*")))
    assert sr == 16000 and abs(len(y) - len(x)) < 0.05 * len(x) and np.isfinite(y).all()
