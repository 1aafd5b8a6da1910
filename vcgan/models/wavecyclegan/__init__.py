"""WaveCycleGAN and WaveCycleGAN2: unpaired synthetic-to-natural waveform postfilters."""
from . import family  # noqa: F401  (registration)
from .networks import LogMel, WaveGeneratorV1, WaveGeneratorV2

__all__ = ["LogMel", "WaveGeneratorV1", "WaveGeneratorV2"]
