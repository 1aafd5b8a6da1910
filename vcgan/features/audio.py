"""Audio I/O: load any soundfile-readable file as mono float64 at a given rate."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

from ..errors import AudioError
from ..fileio import check_distinct_outputs

AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".aiff", ".aif")

# Peak below this (about -90 dBFS) is treated as digital silence.
SILENCE_PEAK = 3e-5


def load_audio(path: str | os.PathLike, sample_rate: int, *, allow_silent: bool = False) -> np.ndarray:
    """Read ``path`` as mono float64 in [-1, 1] at ``sample_rate``.

    Multi-channel audio is mixed down, integer and float PCM are both accepted and
    other rates are resampled. Raises :class:`AudioError` naming the file when it
    is missing, empty, unreadable, non-finite or silent.
    """
    path = Path(path)
    if not path.is_file():
        raise AudioError(f"{path}: no such audio file")
    if path.stat().st_size == 0:
        raise AudioError(f"{path}: file is empty (0 bytes)")
    try:
        x, fs = sf.read(str(path), dtype="float64", always_2d=True)
    except Exception as exc:  # soundfile raises several types for garbage input
        raise AudioError(f"{path}: not a readable audio file ({exc})") from None
    if x.shape[0] == 0:
        raise AudioError(f"{path}: audio has no samples")
    x = x.mean(axis=1)
    if not np.all(np.isfinite(x)):
        raise AudioError(f"{path}: audio contains NaN or Inf samples")
    if fs != sample_rate:
        import librosa

        x = librosa.resample(x, orig_sr=fs, target_sr=sample_rate, res_type="soxr_hq")
    if not allow_silent and np.max(np.abs(x)) < SILENCE_PEAK:
        raise AudioError(f"{path}: audio is silent (peak {np.max(np.abs(x)):.2e})")
    return np.ascontiguousarray(x, dtype=np.float64)


def save_audio(path: str | os.PathLike, x: np.ndarray, sample_rate: int) -> None:
    """Write 16-bit PCM (wav/flac by extension) atomically; clips to [-1, 1]."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    x = np.clip(np.nan_to_num(np.asarray(x, dtype=np.float64)), -1.0, 1.0)
    fmt = "FLAC" if path.suffix.lower() == ".flac" else "WAV"
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        sf.write(tmp, x, sample_rate, subtype="PCM_16", format=fmt)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def list_audio(directory: str | os.PathLike) -> list[Path]:
    """Audio files directly inside ``directory``, sorted by name."""
    directory = Path(directory)
    return sorted(p for p in directory.iterdir() if p.is_file() and p.suffix.lower() in AUDIO_EXTENSIONS)


def output_paths(inputs, out) -> tuple[list[Path], list[Path]]:
    """(input files, output .wav paths) for a command that maps audio to audio: every audio
    file of a directory into the directory ``out``, or one file into ``out`` (a .wav/.flac
    path, else a directory)."""
    inputs, out = Path(inputs), Path(out)
    if inputs.is_dir():
        files = list_audio(inputs)
        if not files:
            raise AudioError(f"{inputs}: no audio files ({', '.join(AUDIO_EXTENSIONS)})")
        targets = [out / f"{f.stem}.wav" for f in files]
        check_distinct_outputs(files, targets)
        return files, targets
    if not inputs.is_file():
        raise AudioError(f"{inputs}: no such file or directory")
    targets = [out if out.suffix.lower() in (".wav", ".flac") else out / f"{inputs.stem}.wav"]
    check_distinct_outputs([inputs], targets)
    return [inputs], targets


def limit_peak(y: np.ndarray, peak: float = 0.98) -> np.ndarray:
    """``y`` scaled down so that its largest magnitude is ``peak``, if it is above that."""
    top = np.max(np.abs(y))
    return y / top * peak if top > peak else y
