"""`vcgan postfilter` for the waveform postfilters (WaveCycleGAN, WaveCycleGAN2).

The input is scaled by the synthetic corpus's gain, filtered by ``G_ab`` and scaled back,
so the output keeps the input's level. Inputs longer than a chunk (``chunk_frames``
5-ms frames, 10 s by default) run in windows that overlap by four one-sided receptive
fields and are cross-faded (:func:`vcgan.engine.chunking.apply_in_chunks`): memory stays
bounded, and for WaveCycleGAN2 (no normalisation over time) the result equals the
whole-file output. v1 windows start at multiples of its stride. The file's own edges are
mirrored over half a receptive field before filtering, so its first and last samples see
signal-like context rather than the convolutions' zero padding.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ...engine.checkpoint import inference_state, weights_mismatch
from ...engine.chunking import apply_in_chunks
from ...engine.inference import InferenceModel
from ...errors import CheckpointError, VcganError
from ...features.audio import limit_peak, load_audio, output_paths, save_audio
from .family import FAMILY, load_generator
from .networks import WaveGeneratorV1, receptive_field

FRAME_S = 0.005  # --chunk-frames counts 5-ms frames, as the other speech commands do
DEFAULT_CHUNK_FRAMES = 2000  # 10 s


class WavePostfilter(InferenceModel):
    """A trained WaveCycleGAN / WaveCycleGAN2 postfilter as ``vcgan postfilter`` applies it."""

    purpose = "waveform postfilter for synthetic speech"
    kind = "waveform"

    def __init__(self, generator: torch.nn.Module, meta: dict, path=None, checkpoint: dict | None = None,
                 device: str = "cpu"):
        super().__init__(path or "(in memory)", checkpoint or {"meta": meta}, FAMILY)
        self.device = torch.device(device)
        self.generator = generator.to(self.device)
        self.sample_rate = int(meta["sample_rate"])
        self.gain = float(meta["gains"]["synthetic"])
        self.field = receptive_field(generator)
        self.align = generator.stride if isinstance(generator, WaveGeneratorV1) else 1

    def details(self) -> dict:
        version = self.meta.get("version")
        return {"maps": f"synthetic -> natural speech waveforms at {self.sample_rate} Hz "
                        f"(WaveCycleGAN{'2' if version == 2 else ''}, trained without pairs)",
                "receptive_field": f"{self.field} samples ({1000.0 * self.field / self.sample_rate:.1f} ms)"}

    def chunking(self, chunk_frames: int | None) -> tuple[int, int]:
        """(window, overlap) in samples for ``chunk_frames`` 5-ms frames (0: whole inputs)."""
        if chunk_frames is None:
            chunk_frames = DEFAULT_CHUNK_FRAMES
        if chunk_frames < 0:
            raise VcganError(f"--chunk-frames: give a positive number of frames (or 0 for whole files), got {chunk_frames}")
        overlap = 4 * (self.field // 2 + 1)  # the fade's silent quarter covers one side of the receptive field
        overlap += (-overlap) % self.align
        window = int(round(chunk_frames * FRAME_S * self.sample_rate))
        return (max(window, 2 * overlap) if chunk_frames else 0), overlap

    @torch.no_grad()
    def filter_wave(self, x: np.ndarray, chunk_frames: int | None = None) -> np.ndarray:
        """The postfiltered waveform of ``x`` (mono, at the model's rate), as long as ``x``."""
        window, overlap = self.chunking(chunk_frames)
        x = np.asarray(x, np.float32)
        # the file's edges mirrored over half a receptive field: the first and last samples are
        # filtered with signal-like context, not the zeros of the convolutions' padding (a click)
        pad = min(self.field // 2, len(x) - 1)
        pad -= pad % self.align
        t = torch.from_numpy(np.pad(x, pad, mode="reflect") * self.gain)[None, None].to(self.device)
        y = apply_in_chunks(lambda w: self.generator(w).float(), t, window, overlap, self.align)
        y = y[0, 0, pad:pad + len(x)].cpu().numpy().astype(np.float64) / self.gain
        if not np.all(np.isfinite(y)):
            raise VcganError("the postfilter produced non-finite samples")
        return y

    def apply(self, path, chunk_frames: int | None = None) -> np.ndarray:
        """The postfiltered waveform of one audio file (or of an array at the model's rate)."""
        x = path if isinstance(path, np.ndarray) else load_audio(path, self.sample_rate)
        return self.filter_wave(x, chunk_frames)

    def apply_paths(self, inputs, out, chunk_frames: int | None = None, skip_bad: bool = False,
                    progress: bool = True, **unused) -> list[Path]:
        """Postfilter a file or every audio file of a folder into ``out``; options of the
        GAN postfilters that mean nothing here (``synthesis``, ``griffin_lim``) are refused."""
        from ...fileio import map_files

        refuse = {k: v for k, v in unused.items() if v not in (None, False, 0) and k != "seed"}
        if refuse:
            names = ", ".join("--" + k.replace("_", "-") for k in refuse)
            raise VcganError(f"{names}: not an option of a waveform postfilter ({self.task}); it filters the waveform itself")
        self.chunking(chunk_frames)  # refuses a bad value before anything is written
        files, targets = output_paths(inputs, out)

        def one(i):
            save_audio(targets[i], limit_peak(self.apply(files[i], chunk_frames), 0.99), self.sample_rate)

        done, skipped = map_files(range(len(files)), one, skip_bad=skip_bad, progress=progress, desc="postfilter")
        self.skipped = [(files[i], msg) for i, msg in skipped]
        return [targets[i] for i in done]


def load_wave_postfilter(path, checkpoint: dict, device: str = "cpu") -> WavePostfilter:
    """``Family.load`` of the waveform postfilters."""
    meta = checkpoint.get("meta") or {}
    try:
        g = load_generator(meta, inference_state(checkpoint))
    except RuntimeError as err:
        raise weights_mismatch(path, "wavecyclegan", err) from None
    except KeyError as err:
        raise CheckpointError(f"{path}: wavecyclegan checkpoint without {err} in its metadata") from None
    return WavePostfilter(g, meta, path, checkpoint, device)
