"""Network building blocks shared by speech and image models."""
from .blocks import GLU, GatedConv, GatedUpsample, PixelShuffle1d, ResidualBlock1d, pad_time

__all__ = ["GLU", "GatedConv", "GatedUpsample", "PixelShuffle1d", "ResidualBlock1d", "pad_time"]
