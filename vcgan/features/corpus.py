"""Find speakers and their train/test recordings in the supported corpus layouts.

Layouts:
* ``split``:   ROOT/<speaker>/train/*.wav and ROOT/<speaker>/test/*.wav (the bundled demo corpus)
* ``vcc2018``: ROOT/vcc2018_training/<SPK>/*.wav for training, ROOT/vcc2018_evaluation/<SPK>/*.wav
  and ROOT/vcc2018_reference/<SPK>/*.wav for testing
* ``generic``: ROOT/<speaker>/*.wav, all used for training
"""
from __future__ import annotations

from pathlib import Path

from ..errors import VcganError
from .audio import list_audio

LAYOUTS = ("auto", "split", "vcc2018", "generic")
SPLITS = ("train", "test")

Corpus = dict  # speaker -> {"train": [Path], "test": [Path]}


def detect_layout(root: Path) -> str:
    if (root / "vcc2018_training").is_dir():
        return "vcc2018"
    spk_dirs = [d for d in root.iterdir() if d.is_dir() and not d.name.startswith(".")]
    if spk_dirs and all((d / "train").is_dir() for d in spk_dirs):
        return "split"
    return "generic"


def discover_corpus(root, layout: str = "auto", speakers: list[str] | None = None) -> Corpus:
    """Return ``{speaker: {"train": [...], "test": [...]}}`` for the selected speakers."""
    root = Path(root)
    if not root.is_dir():
        raise VcganError(f"{root}: corpus directory does not exist")
    if layout not in LAYOUTS:
        raise VcganError(f"unknown corpus layout {layout!r}; choose from {LAYOUTS}")
    if layout == "auto":
        layout = detect_layout(root)
    corpus: Corpus = {}
    if layout == "vcc2018":
        train_root = root / "vcc2018_training"
        test_roots = [root / "vcc2018_evaluation", root / "vcc2018_reference"]
        for d in sorted(p for p in train_root.iterdir() if p.is_dir()):
            test = []
            for tr in test_roots:
                if (tr / d.name).is_dir():
                    test.extend(list_audio(tr / d.name))
            corpus[d.name] = {"train": list_audio(d), "test": test}
    else:
        for d in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
            if layout == "split":
                train = list_audio(d / "train") if (d / "train").is_dir() else []
                test = list_audio(d / "test") if (d / "test").is_dir() else []
            else:
                train, test = list_audio(d), []
            if train or test:
                corpus[d.name] = {"train": train, "test": test}
    if speakers:
        missing = [s for s in speakers if s not in corpus]
        if missing:
            raise VcganError(
                f"{root}: speaker(s) {missing} not found ({layout} layout); available: {sorted(corpus)}"
            )
        corpus = {s: corpus[s] for s in speakers}
    if not corpus:
        raise VcganError(f"{root}: no speakers with audio files found ({layout} layout)")
    for spk, splits in corpus.items():
        if not splits["train"]:
            raise VcganError(f"{root}: speaker {spk!r} has no training audio ({layout} layout)")
    return corpus
