"""StarGAN-VC and StarGAN-VC2: many-to-many non-parallel voice conversion with one model."""
from .networks import (DiscriminatorStarVC, DomainClassifier, GeneratorStarVC, GeneratorStarVC2,
                       ProjectionDiscriminator)
from .family import StarGANVC, build_task, load_generator

__all__ = ["DiscriminatorStarVC", "DomainClassifier", "GeneratorStarVC", "GeneratorStarVC2",
           "ProjectionDiscriminator", "StarGANVC", "build_task", "load_generator"]
