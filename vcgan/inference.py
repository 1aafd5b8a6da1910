"""Load a trained checkpoint (or just speaker statistics) and convert files."""
from __future__ import annotations

import functools
from pathlib import Path

import torch
from tqdm import tqdm

from .conversion import SpeakerStats, convert_analysed, convert_waveform, identity, shift_average
from .engine.checkpoint import inference_state, load_checkpoint, weights_mismatch
from .engine.registry import family_named
from .errors import CheckpointError, VcganError
from .features.audio import load_audio, output_paths, save_audio
from .features.cache import analyze_file_cached
from .features.world import FeatureConfig


def parse_anchor(text: str) -> dict[int, float]:
    """``"1-4=0.5"`` or ``"1=0.5,2=0.25"`` -> {dimension: weight of the statistics transform}."""
    anchor: dict[int, float] = {}
    for item in (t.strip() for t in text.split(",")):
        dims, eq, weight = item.partition("=")
        first, dash, last = dims.partition("-")
        try:
            lo, w = int(first), float(weight)
            hi = int(last) if dash else lo
        except ValueError:
            lo = hi = w = None
        span = range(lo, hi + 1) if lo is not None and lo <= hi else range(0)
        if not eq or not span or any(d in anchor for d in span):
            raise VcganError(f"--anchor {text!r}: expected DIM=WEIGHT or FIRST-LAST=WEIGHT items with distinct "
                             "dimensions, e.g. 1-4=0.5")
        anchor.update((d, w) for d in span)
    return anchor


def check_anchor(anchor: dict[int, float], dims: int) -> dict[int, float]:
    for d, w in anchor.items():
        if not 0 <= d < dims:
            raise VcganError(f"anchor dimension {d}: the features have dimensions 0 to {dims - 1}")
        if not 0.0 <= w <= 1.0:
            raise VcganError(f"anchor weight {w} of dimension {d}: expected 0 (the model) to 1 (the statistics transform)")
    return dict(anchor)


def format_anchor(anchor: dict[int, float]) -> str:
    """The inverse of :func:`parse_anchor`, runs of equal weight as FIRST-LAST."""
    runs: list[list] = []  # [first, last, weight]
    for d in sorted(anchor):
        if runs and d == runs[-1][1] + 1 and anchor[d] == runs[-1][2]:
            runs[-1][1] = d
        else:
            runs.append([d, d, anchor[d]])
    return ",".join(f"{a}-{b}={w:g}" if b > a else f"{a}={w:g}" for a, b, w in runs)


def require_shift_count(shifts: int) -> int:
    """``shifts`` if it is a usable ``--shift-average`` (at least 1), else a clear error."""
    if shifts < 1:
        raise VcganError(f"--shift-average: give a number of frame shifts >= 1, got {shifts}")
    return shifts


class Converter:
    """Converts waveforms ``source -> target`` with a trained model or the statistics transform."""

    def __init__(self, features: FeatureConfig, stats: dict, mapping_for, name: str):
        self.features = features
        self.stats = stats
        self._mapping_for = mapping_for  # (source, target) -> callable on normalised features
        self.name = name

    @property
    def speakers(self) -> list[str]:
        return sorted(self.stats)

    @classmethod
    def from_checkpoint(cls, path, device: str = "cpu") -> "Converter":
        from . import models  # noqa: F401  (registers the families)

        ckpt = load_checkpoint(path)
        meta = ckpt.get("meta") or {}
        family = meta.get("family")
        declared = family_named(family) if isinstance(family, str) else None
        if declared is None or declared.load is None:
            raise CheckpointError(f"{path}: checkpoint has no known voice-conversion family (meta.family={family!r})")
        load_generator = declared.load
        state = inference_state(ckpt)
        dev = torch.device(device)

        @functools.cache  # one generator per pair
        def mapping_for(source, target):
            try:
                gen = load_generator(meta, state, source, target).to(dev)
            except RuntimeError as err:  # load_state_dict: missing, unexpected or misshapen weights
                raise weights_mismatch(path, family, err) from None
            return lambda x: gen(x.to(dev)).float().cpu()

        return cls(FeatureConfig.from_dict(meta["features"]), meta["stats"], mapping_for, f"{family} v{meta.get('version')}")

    @classmethod
    def statistics_transform(cls, feats_dir) -> "Converter":
        from .features.cache import FeatureStore

        store = FeatureStore(feats_dir)
        return cls(store.config, store.stats, lambda s, t: identity, "statistics transform")

    def shift_averaged(self, shifts: int) -> "Converter":
        """This converter with each mapping averaged over ``shifts`` frame delays of its
        input (:func:`~vcgan.conversion.shift_average`; 4 = the generators' time stride).
        Apply before :meth:`calibrated`, which then measures the averaged output."""
        if require_shift_count(shifts) == 1:
            return self
        inner = self._mapping_for

        @functools.cache
        def mapping_for(source, target):
            return shift_average(inner(source, target), shifts)

        return Converter(self.features, self.stats, mapping_for, f"{self.name} (averaged over {shifts} frame shifts)")

    def calibrated(self, feats_dir, anchor: dict[int, float] | None = None) -> "Converter":
        """This converter with each (source, target) output re-standardised per dimension.

        The model's output, in the target's normalised units, should have the target's
        moments (0, 1) per dimension, as the statistics transform's has by construction; a
        GAN generator can miss them by a constant (measured: -0.6 in c1 from one voice into
        another). For each pair the mean and standard deviation of the output over the
        source speaker's *training* utterances in ``feats_dir`` (the features the model was
        trained on) are measured once and removed: y' = (y - mean) / std. Only the pairs
        converted are measured.

        ``anchor`` ({dimension: weight}) first pulls those dimensions of the output towards
        the statistics transform's (the input, in these units): y_d <- w x_d + (1 - w) y_d,
        an average of the two conversions, before the re-standardisation."""
        from .features.cache import FeatureStore

        store = FeatureStore(feats_dir)
        if store.config != self.features:
            raise VcganError(f"{feats_dir}: features {store.config} differ from the model's {self.features}")
        anchor = check_anchor(anchor or {}, self.features.spectral_dim)
        weight = torch.zeros(self.features.spectral_dim, 1)  # of the statistics transform, per dimension
        weight[list(anchor), 0] = torch.tensor(list(anchor.values()))
        unanchored = self._mapping_for

        def base(source, target):
            g = unanchored(source, target)
            if not anchor:
                return g
            return lambda x: torch.lerp(g(x).float(), x.float(), weight)

        @functools.cache  # a source's training features, read once for all its targets
        def training_inputs(source):
            src = SpeakerStats.from_dict(self.stats[source])
            return [src.model_input(u.spectral) for u in store.utterances(source, "train")]  # names the directory

        @functools.cache  # each pair measured once
        def mapping_for(source, target):
            g = base(source, target)
            xs = training_inputs(source)
            if not xs:
                raise VcganError(f"{feats_dir}: no training utterances of {source!r} to calibrate {source}->{target} on")
            with torch.no_grad():
                y = torch.cat([g(x)[0].float() for x in xs], 1)
            mean, std = y.mean(1, keepdim=True), y.std(1, keepdim=True).clamp_min(1e-3)
            return lambda x: (g(x).float() - mean) / std

        name = f"{self.name} (calibrated" + (f", anchored {format_anchor(anchor)})" if anchor else ")")
        return Converter(self.features, self.stats, mapping_for, name)

    def check(self, source: str, target: str) -> None:
        for role, spk in (("source", source), ("target", target)):
            if spk not in self.stats:
                raise VcganError(f"unknown {role} speaker {spk!r}; this model knows: {', '.join(self.speakers)}")
        if source == target:
            raise VcganError(f"source and target are the same speaker ({source!r})")
        self._mapping_for(source, target)  # raises early for pairs the model cannot convert

    def convert_array(self, x, source: str, target: str, chunk_frames=None, chunk_overlap: int = 32):
        self.check(source, target)
        return convert_waveform(
            x, self.features, SpeakerStats.from_dict(self.stats[source]), SpeakerStats.from_dict(self.stats[target]),
            self._mapping_for(source, target), chunk_frames=chunk_frames, chunk_overlap=chunk_overlap,
        )

    def convert_paths(self, inputs, out, source: str, target: str, chunk_frames=None, chunk_overlap: int = 32,
                      progress: bool = True, cache_dir=None) -> list[Path]:
        """Convert a file or every audio file of a directory; outputs are ``.wav`` named after inputs."""
        return self.convert_paths_to(inputs, {target: out}, source, chunk_frames, chunk_overlap, progress,
                                     cache_dir)[target]

    def convert_paths_to(self, inputs, outs: dict, source: str, chunk_frames=None, chunk_overlap: int = 32,
                         progress: bool = True, cache_dir=None) -> dict[str, list[Path]]:
        """Convert inputs of ``source`` to every target in ``outs`` (target -> output file or
        folder). Each input is analysed once, whatever the number of targets; with
        ``cache_dir`` once for every later call too (:func:`~vcgan.features.cache.analyze_file_cached`)."""
        for t in outs:
            self.check(source, t)
        plans = {t: output_paths(inputs, o) for t, o in outs.items()}
        files = next(iter(plans.values()))[0]
        src = SpeakerStats.from_dict(self.stats[source])
        written: dict[str, list[Path]] = {t: [] for t in outs}
        desc = f"convert {source}->{','.join(outs)}"
        for i, f in enumerate(tqdm(files, desc=desc, unit="utt", disable=not progress)):
            feats = analyze_file_cached(f, self.features, cache_dir)
            for t, (_, targets) in plans.items():
                y = convert_analysed(feats, self.features, src, SpeakerStats.from_dict(self.stats[t]),
                                     self._mapping_for(source, t), chunk_frames=chunk_frames, chunk_overlap=chunk_overlap)
                save_audio(targets[i], y, self.features.sample_rate)
                written[t].append(targets[i])
        return written
