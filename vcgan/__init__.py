"""vcgan: GAN-based speech conversion on WORLD features with one adversarial engine."""

__version__ = "0.1.0"
