"""Network building blocks shared by speech and image models."""
from .blocks import GLU, GatedConv, GatedUpsample, NarrowConv2d, PixelShuffle1d, pad_time, zero_init
from .conditional import ConditionalInstanceNorm, ProjectionHead, pair_code
from .modulation import gv_loss, modulation_loss

__all__ = ["GLU", "ConditionalInstanceNorm", "GatedConv", "GatedUpsample", "NarrowConv2d", "PixelShuffle1d",
           "ProjectionHead", "gv_loss", "modulation_loss", "pad_time", "pair_code", "zero_init"]
