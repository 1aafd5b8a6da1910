"""Speech features: audio I/O, WORLD analysis/synthesis, mel-cepstra, F0 and the feature cache.

Nothing here imports torch.
"""
from .audio import load_audio, save_audio
from .cache import FeatureStore, prepare_features
from .corpus import discover_corpus
from .f0 import convert_f0, log_f0_stats
from .world import FeatureConfig, WorldFeatures, analyze, synthesize

__all__ = [
    "FeatureConfig", "FeatureStore", "WorldFeatures", "analyze", "convert_f0", "discover_corpus",
    "load_audio", "log_f0_stats", "prepare_features", "save_audio", "synthesize",
]
