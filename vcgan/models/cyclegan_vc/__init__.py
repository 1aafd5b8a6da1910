"""CycleGAN-VC and CycleGAN-VC2: non-parallel two-speaker voice conversion."""
from .networks import DiscriminatorVC1, GeneratorVC1, GeneratorVC2, PatchDiscriminator
from .family import CycleGANVC, build_task, load_generator

__all__ = ["CycleGANVC", "DiscriminatorVC1", "GeneratorVC1", "GeneratorVC2", "PatchDiscriminator",
           "build_task", "load_generator"]
