"""Voice conversion after training: a checkpoint as an inference object, and the
:class:`Converter` that applies a mapping (a trained generator, or none: the statistics
transform) to files, optionally averaged over frame shifts and calibrated."""
from __future__ import annotations

import dataclasses
import functools
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from ...engine.checkpoint import inference_state, weights_mismatch
from ...engine.inference import InferenceModel
from ...errors import CheckpointError, VcganError
from ...features.audio import load_audio, output_paths, save_audio
from ...features.cache import analyze_file_cached
from ...features.world import FeatureConfig
from .pipeline import SpeakerStats, convert_analysed, convert_in_pieces, convert_waveform, identity, shift_average

# inputs longer than this many frames (20 s at the default 5 ms shift) are converted in
# overlapping chunks, so that a generator's memory does not grow with the input's length
DEFAULT_CHUNK_FRAMES = 4000
DEFAULT_CHUNK_OVERLAP = 32
# inputs longer than this are analysed, converted and synthesised in pieces of about 20 s cut
# at pauses, so that WORLD's memory does not grow with the length either (--chunk-frames 0: whole)
LONG_INPUT_SECONDS = 30.0


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
    """Converts waveforms ``source -> target`` with a mapping on normalised features: a
    trained generator (:class:`VoiceConversionModel`) or none (the statistics transform)."""

    def __init__(self, features: FeatureConfig, stats: dict, mapping_for, name: str):
        self.features = features
        self.stats = stats
        self._mapping_for = mapping_for  # (source, target) -> callable on normalised features
        self.name = name

    @property
    def speakers(self) -> list[str]:
        return sorted(self.stats)

    semitones = 0.0  # pitch shift of the converted F0 (:meth:`pitch_shifted`)

    def speaker_stats(self, speaker: str) -> SpeakerStats:
        return SpeakerStats.from_dict(self.stats[speaker])

    def target_stats(self, speaker: str) -> SpeakerStats:
        """A target's statistics as the conversion uses them: its log-F0 mean moved by the pitch shift."""
        stats = self.speaker_stats(speaker)
        if self.semitones:
            stats = dataclasses.replace(stats, log_f0_mean=stats.log_f0_mean + self.semitones * np.log(2.0) / 12.0)
        return stats

    def pitch_shifted(self, semitones: float) -> "Converter":
        """This converter with the converted F0 moved by ``semitones`` (12: an octave up): the
        target's log-F0 mean shifted, its spread kept. Apply last (after calibration)."""
        conv = Converter(self.features, self.stats, self._mapping_for, self.name)
        conv.semitones = check_semitones(semitones)
        return conv

    @classmethod
    def statistics_transform(cls, feats_dir) -> "Converter":
        from ...features.cache import FeatureStore

        store = FeatureStore(feats_dir)
        return cls(store.config, store.stats, lambda s, t: identity, "statistics transform")

    def shift_averaged(self, shifts: int) -> "Converter":
        """This converter with each mapping averaged over ``shifts`` frame delays of its
        input (:func:`~vcgan.models.voice_conversion.pipeline.shift_average`; 4 = the
        generators' time stride). Apply before calibrating, which then measures the averaged output."""
        if require_shift_count(shifts) == 1:
            return self
        inner = self._mapping_for

        @functools.cache
        def mapping_for(source, target):
            return shift_average(inner(source, target), shifts)

        return Converter(self.features, self.stats, mapping_for, f"{self.name} (averaged over {shifts} frame shifts)")

    def anchored(self, anchor: dict[int, float]) -> "Converter":
        """``anchor`` ({dimension: weight}) pulls those dimensions of the output towards the
        statistics transform's (the input, in these units): y_d <- w x_d + (1 - w) y_d."""
        anchor = check_anchor(anchor or {}, self.features.spectral_dim)
        if not anchor:
            return self
        weight = torch.zeros(self.features.spectral_dim, 1)  # of the statistics transform, per dimension
        weight[list(anchor), 0] = torch.tensor(list(anchor.values()))
        inner = self._mapping_for

        @functools.cache
        def mapping_for(source, target):
            g = inner(source, target)
            return lambda x: torch.lerp(g(x).float(), x.float(), weight)

        return Converter(self.features, self.stats, mapping_for, f"{self.name} (anchored {format_anchor(anchor)})")

    def measure_calibration(self, store, pairs) -> dict:
        """Per (source, target) pair, the mean and standard deviation per dimension of this
        converter's output over the source speaker's *training* utterances in ``store`` (a
        :class:`~vcgan.features.cache.FeatureStore`: the features the model was trained on),
        as ``{"source->target": {"mean": [...], "std": [...]}}`` (see :meth:`calibrated`)."""
        @functools.cache  # a source's training features, read once for all its targets
        def training_inputs(source):
            src = self.speaker_stats(source)
            return [src.model_input(u.spectral) for u in store.utterances(source, "train")]  # names the directory

        table = {}
        threads = torch.get_num_threads()
        torch.set_num_threads(1)  # one thread: the same sums whichever process measures (training's or convert's)
        try:
            for source, target in tqdm(pairs, desc="calibration", unit="direction", disable=len(pairs) < 2):
                xs = training_inputs(source)
                if not xs:
                    raise VcganError(f"{store.root}: no training utterances of {source!r} to calibrate "
                                     f"{source}->{target} on")
                g = self._mapping_for(source, target)
                with torch.no_grad():
                    y = torch.cat([g(x)[0].float() for x in xs], 1)
                table[f"{source}->{target}"] = {"mean": y.mean(1).tolist(), "std": y.std(1).clamp_min(1e-3).tolist()}
        finally:
            torch.set_num_threads(threads)
        return table

    def calibrated(self, table, label: str = "calibrated") -> "Converter":
        """This converter with each (source, target) output re-standardised per dimension.

        The model's output, in the target's normalised units, should have the target's
        moments (0, 1) per dimension, as the statistics transform's has by construction; a
        GAN generator can miss them by a constant (measured: -0.6 in c1 from one voice into
        another). ``table`` (:meth:`measure_calibration`, or a callable ``(source, target) ->
        entry`` that measures on demand) holds each pair's mean and standard deviation of
        the output on the source's training utterances: y' = (y - mean) / std."""
        inner = self._mapping_for

        def entry_for(source, target):
            if callable(table):
                return table(source, target)
            if f"{source}->{target}" not in table:
                raise VcganError(f"the calibration holds no {source}->{target} direction; it has "
                                 f"{', '.join(table) or 'none'}")
            return table[f"{source}->{target}"]

        @functools.cache
        def mapping_for(source, target):
            entry = entry_for(source, target)
            mean = torch.tensor(entry["mean"], dtype=torch.float32)[:, None]
            std = torch.tensor(entry["std"], dtype=torch.float32)[:, None]
            g = inner(source, target)
            return lambda x: (g(x).float() - mean) / std

        return Converter(self.features, self.stats, mapping_for, f"{self.name} ({label})")

    def calibrated_on(self, feats_dir, anchor: dict[int, float] | None = None) -> "Converter":
        """:meth:`calibrated` with the calibration measured now on ``feats_dir`` (optionally
        anchored first), which must hold the features and speaker statistics the model was
        trained on. Only the pairs converted are measured, each once."""
        from ...features.cache import FeatureStore

        store = FeatureStore(feats_dir)
        check_training_features(store, self.features, self.stats, feats_dir)
        base = self.anchored(anchor or {})
        label = "calibrated" + (f", anchored {format_anchor(anchor)}" if anchor else "")
        measure = lambda s, t: base.measure_calibration(store, [(s, t)])[f"{s}->{t}"]  # noqa: E731
        return Converter(base.features, base.stats, base._mapping_for, self.name).calibrated(measure, label)

    def check(self, source: str, target: str) -> None:
        for role, spk in (("source", source), ("target", target)):
            if spk not in self.stats:
                raise VcganError(f"unknown {role} speaker {spk!r}; this model knows: {', '.join(self.speakers)}")
        if source == target:
            raise VcganError(f"source and target are the same speaker ({source!r})")
        self._mapping_for(source, target)  # raises early for pairs the model cannot convert

    def convert_array(self, x, source: str, target: str, chunk_frames=None,
                      chunk_overlap: int = DEFAULT_CHUNK_OVERLAP):
        self.check(source, target)
        chunk_frames = check_chunking(chunk_frames, chunk_overlap)
        if chunk_frames and len(x) > LONG_INPUT_SECONDS * self.features.sample_rate:
            return self._in_pieces(x, source, [target], chunk_frames, chunk_overlap)[0]
        return convert_waveform(
            x, self.features, self.speaker_stats(source), self.target_stats(target),
            self._mapping_for(source, target), chunk_frames=chunk_frames, chunk_overlap=chunk_overlap,
        )

    def _in_pieces(self, x, source: str, targets, chunk_frames, chunk_overlap) -> list:
        """A long input converted to each of ``targets``, each piece analysed once for all of them."""
        conversions = [(self.target_stats(t), self._mapping_for(source, t)) for t in targets]
        return convert_in_pieces(x, self.features, self.speaker_stats(source), conversions,
                                 chunk_frames=chunk_frames, chunk_overlap=chunk_overlap)

    def convert_paths(self, inputs, out, source: str, target: str, chunk_frames=None,
                      chunk_overlap: int = DEFAULT_CHUNK_OVERLAP, progress: bool = True, cache_dir=None,
                      skip_bad: bool = False) -> list[Path]:
        """Convert a file or every audio file of a directory; outputs are ``.wav`` named after inputs."""
        return self.convert_paths_to(inputs, {target: out}, source, chunk_frames, chunk_overlap, progress,
                                     cache_dir, skip_bad)[target]

    def convert_paths_to(self, inputs, outs: dict, source: str, chunk_frames=None,
                         chunk_overlap: int = DEFAULT_CHUNK_OVERLAP, progress: bool = True, cache_dir=None,
                         skip_bad: bool = False) -> dict[str, list[Path]]:
        """Convert inputs of ``source`` to every target in ``outs`` (target -> output file or
        folder). Each input is analysed once, whatever the number of targets; with
        ``cache_dir`` once for every later call too (:func:`~vcgan.features.cache.analyze_file_cached`).
        With ``skip_bad`` an unusable input is reported and skipped (``self.skipped``)."""
        from ...fileio import map_files

        for t in outs:
            self.check(source, t)
        chunk_frames = check_chunking(chunk_frames, chunk_overlap)
        plans = {t: output_paths(inputs, o) for t, o in outs.items()}
        files = next(iter(plans.values()))[0]
        src = self.speaker_stats(source)
        written: dict[str, list[Path]] = {t: [] for t in outs}

        def convert_one(i):
            if chunk_frames and audio_seconds(files[i]) > LONG_INPUT_SECONDS:  # in pieces, not cached
                x = load_audio(files[i], self.features.sample_rate)
                for (t, (_, targets)), y in zip(plans.items(), self._in_pieces(x, source, list(plans), chunk_frames,
                                                                                chunk_overlap)):
                    save_audio(targets[i], y, self.features.sample_rate)
                    written[t].append(targets[i])
                return
            feats = analyze_file_cached(files[i], self.features, cache_dir)
            for t, (_, targets) in plans.items():
                y = convert_analysed(feats, self.features, src, self.target_stats(t),
                                     self._mapping_for(source, t), chunk_frames=chunk_frames, chunk_overlap=chunk_overlap)
                save_audio(targets[i], y, self.features.sample_rate)
                written[t].append(targets[i])

        _, skipped = map_files(range(len(files)), convert_one, skip_bad=skip_bad, progress=progress,
                               desc=f"convert {source}->{','.join(outs)}", unit="utt")
        self.skipped = [(files[i], msg) for i, msg in skipped]
        return written


def audio_seconds(path) -> float:
    """An audio file's duration from its header (0 where the header is unreadable: the
    analysis then names the problem)."""
    import soundfile as sf

    try:
        info = sf.info(str(path))
    except Exception:
        return 0.0
    return info.frames / info.samplerate if info.samplerate else 0.0


def check_semitones(semitones) -> float:
    """A pitch shift in semitones if it is usable (-24 to 24), else a clear error."""
    try:
        semitones = float(semitones)
    except (TypeError, ValueError):
        raise VcganError(f"pitch shift: give a number of semitones, got {semitones!r}") from None
    if not np.isfinite(semitones) or abs(semitones) > 24:
        raise VcganError(f"pitch shift: give -24 to 24 semitones, got {semitones}")
    return semitones


def check_chunking(chunk_frames, overlap: int):
    """The chunk length to convert with (None: :data:`DEFAULT_CHUNK_FRAMES`; 0: whole inputs,
    returned as None) if it is usable with ``overlap``, else a clear error."""
    if chunk_frames is None:
        chunk_frames = DEFAULT_CHUNK_FRAMES
    if chunk_frames == 0:
        return None
    if chunk_frames < 16:
        raise VcganError(f"--chunk-frames: give a chunk of at least 16 frames (or 0 for whole inputs), got {chunk_frames}")
    if overlap < 0 or overlap > chunk_frames // 2:
        raise VcganError(f"--chunk-overlap: give 0 to half the chunk ({chunk_frames // 2} frames), got {overlap}")
    return int(chunk_frames)


def check_training_features(store, features: FeatureConfig, stats: dict, where) -> None:
    """Refuse a feature directory other than the one a model was trained on: other analysis
    settings, or other statistics for the model's speakers."""
    if store.config != features:
        raise VcganError(f"{where}: features {store.config} differ from the model's {features}")
    for spk, mine in stats.items():
        theirs = store.stats.get(spk)
        if theirs is None:
            raise VcganError(f"{where}: holds no speaker {spk!r}; calibrate on the features the model was trained on")
        for key in ("spectral_mean", "spectral_std", "log_f0_mean", "log_f0_std"):
            a, b = np.asarray(theirs[key], np.float64), np.asarray(mine[key], np.float64)
            if a.shape != b.shape or not np.allclose(a, b, rtol=1e-6, atol=1e-9):
                raise VcganError(f"{where}: the statistics of {spk!r} ({key}) differ from the model's: these are "
                                 "not the features it was trained on; calibrate on those (its data.feats_dir)")


class VoiceConversionModel(InferenceModel):
    """A voice-conversion checkpoint (any family that maps speakers' WORLD features).

    ``converter()`` gives what ``vcgan convert`` applies: by default the model's output
    averaged over the frame shifts and re-standardised by the calibration stored in the
    checkpoint at the end of training (``calibrate=False``: the raw output)."""

    purpose = "voice conversion"

    def __init__(self, path, checkpoint: dict, family, load_generator, device: str = "cpu"):
        super().__init__(path, checkpoint, family)
        meta = self.meta
        for key in ("speakers", "stats", "features"):
            if key not in meta:
                raise CheckpointError(f"{path}: {family.name} checkpoint without '{key}' in its metadata")
        self.features = FeatureConfig.from_dict(meta["features"])
        self.stats = meta["stats"]
        self.calibration = checkpoint.get("calibration")
        state = inference_state(checkpoint)
        dev = torch.device(device)

        @functools.cache  # one generator per pair
        def mapping_for(source, target):
            try:
                gen = load_generator(meta, state, source, target).to(dev)
            except RuntimeError as err:  # load_state_dict: missing, unexpected or misshapen weights
                raise weights_mismatch(path, family.name, err) from None
            return lambda x: gen(x.to(dev)).float().cpu()

        self.raw = Converter(self.features, self.stats, mapping_for, f"{family.name} v{meta.get('version')}")

    @property
    def speakers(self) -> list[str]:
        return list(self.meta["speakers"])

    def directions(self) -> list[tuple[str, str]]:
        return [(s, t) for s in self.speakers for t in self.speakers if s != t]

    def details(self) -> dict:
        cal = self.calibration
        return {
            "speakers": self.speakers,
            "directions": len(self.directions()),
            "features": f"{self.features.spectral_dim}-dim {self.features.spectral} + log-F0 at "
                        f"{self.features.sample_rate} Hz, {self.features.frame_period} ms frames",
            "calibration": (f"stored ({len(cal['directions'])} directions, output averaged over {cal['shifts']} "
                            "frame shift(s)); applied by default" if cal else "none stored (converts uncalibrated)"),
        }

    def converter(self, calibrate: bool = True, shift_average: int | None = None, calibrate_on=None,
                  anchor: dict | None = None) -> Converter:
        """The conversion to apply. ``shift_average`` None: the stored calibration's shift count
        (1 without one). ``calibrate_on``: measure the calibration now on that feature directory
        (the model's training features) instead of using the stored one."""
        cal = self.calibration
        shifts = require_shift_count(shift_average if shift_average is not None else (cal["shifts"] if cal else 1))
        conv = self.raw.shift_averaged(shifts)
        if calibrate_on is not None:
            return conv.calibrated_on(calibrate_on, anchor)
        if anchor:
            raise VcganError("--anchor averages the model's output with the statistics transform before the "
                             "calibration is measured: give --calibrate FEATS (the training features) too")
        if not calibrate or not cal:
            return conv
        if cal["shifts"] != shifts:
            raise VcganError(f"{self.path}: its stored calibration was measured on the output averaged over "
                             f"{cal['shifts']} frame shift(s), not {shifts}: give --shift-average {cal['shifts']}, "
                             "--calibrate FEATS to measure it again, or --no-calibrate")
        return conv.calibrated(cal["directions"])

    def apply(self, x: np.ndarray, source: str, target: str, **options) -> np.ndarray:
        """Convert one waveform (mono float at the model's sample rate) with the default conversion."""
        return self.converter().convert_array(x, source, target, **options)

    def apply_paths(self, inputs, out, source: str, target: str, **options) -> list[Path]:
        return self.converter().convert_paths(inputs, out, source, target, **options)


def vc_loader(load_generator):
    """``Family.load`` of a voice-conversion family whose generators ``load_generator`` builds."""
    def load(path, checkpoint, **options):
        from ...engine.inference import checkpoint_family

        return VoiceConversionModel(path, checkpoint, checkpoint_family(path, checkpoint), load_generator, **options)

    return load


def vc_finalizer(shifts: int):
    """``Family.finalize`` of a voice-conversion family: the output calibration of every
    direction, measured on the training features of the run with its output averaged over
    ``shifts`` frame shifts (what its recipe converts with), stored in the checkpoint."""
    def finalize(path, cfg: dict) -> dict:
        from ...engine.inference import load_inference
        from .config import open_store

        model = load_inference(path)
        store = open_store(cfg)
        conv = model.raw.shift_averaged(shifts)
        table = conv.measure_calibration(store, model.directions())
        return {"calibration": {"shifts": shifts, "directions": table}}

    return finalize
