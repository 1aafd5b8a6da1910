"""Network building blocks shared by speech and image models."""
from .blocks import GLU, GatedConv, GatedUpsample, NarrowConv2d, PixelShuffle1d, pad_time, zero_init
from .conditional import ConditionalInstanceNorm, ProjectionHead, pair_code

__all__ = ["GLU", "ConditionalInstanceNorm", "GatedConv", "GatedUpsample", "NarrowConv2d", "PixelShuffle1d",
           "ProjectionHead", "pad_time", "pair_code", "zero_init"]
