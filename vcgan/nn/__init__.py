"""Network building blocks shared by speech and image models."""
from .blocks import (GLU, GatedConv, GatedUpsample, PixelShuffle1d, ResidualBlock1d, TwoOneTwoD, gated_patch_trunk,
                     pad_time, zero_init)
from .conditional import ConditionalInstanceNorm, ProjectionHead, pair_code

__all__ = ["GLU", "ConditionalInstanceNorm", "GatedConv", "GatedUpsample", "PixelShuffle1d", "ProjectionHead",
           "ResidualBlock1d", "TwoOneTwoD", "gated_patch_trunk", "pad_time", "pair_code", "zero_init"]
