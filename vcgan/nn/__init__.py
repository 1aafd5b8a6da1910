"""Network building blocks shared by speech and image models."""
from .blocks import GLU, GatedConv, GatedUpsample, PixelShuffle1d, ResidualBlock1d, pad_time
from .conditional import ConditionalInstanceNorm, ProjectionHead, pair_code

__all__ = ["GLU", "ConditionalInstanceNorm", "GatedConv", "GatedUpsample", "PixelShuffle1d", "ProjectionHead",
           "ResidualBlock1d", "pad_time", "pair_code"]
